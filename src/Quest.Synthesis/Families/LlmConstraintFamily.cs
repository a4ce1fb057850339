using Microsoft.Extensions.AI;
using Quest.Rubrics;
using Quest.World.Graph;

namespace Quest.Synthesis.Families;

/// <summary>
/// LLM-driven synthesis in QUEST's order — constraints → tree → question → solution — with the graph as the source of
/// truth: the constraints (facts proven to single out the answer) and the rubric tree are built by program, the model only
/// phrases the question (and may phrase it badly: the verifier rejects a question that names the answer, and the rubric
/// scores the program-built reference). Use any <see cref="IChatClient"/> (an endpoint, or the kit's local model).
/// </summary>
public sealed class LlmConstraintFamily(IChatClient model, ChatOptions? options = null) : ITaskFamily
{
    /// <inheritdoc />
    public string Name => "llm-constraint";

    /// <summary>The prompt sent to the model; <c>{noun}</c> and <c>{facts}</c> are filled in.</summary>
    public string Prompt { get; init; } =
        "Write one natural, self-contained research question whose answer is the single {noun} described by ALL of these facts. "
        + "Do not name the answer; use every fact; do not add facts.\nFacts:\n{facts}\nReply with the question only.";

    /// <inheritdoc />
    public TaskCandidate Propose(FamilyContext ctx)
    {
        var g = ctx.Graph; var rng = ctx.Random;
        int k = ctx.Complexity.Breadth + 1;
        // 1. constraints
        var target = ctx.PickEntity(e => g.FactsOf(e.Id).Count(f => g.FactClause(e.Id, f) is not null) >= k) ?? throw new NoCandidateException("no-seed");
        var facts = g.DistinguishingFacts(target.Id, k, rng, minFacts: k) ?? throw new NoCandidateException("no-unique-description");
        if (g.Match(target.Type, facts) is not [var only] || only != target.Id) throw new NoCandidateException("not-unique");
        // 2. tree (by program, from the constraints)
        var leaves = facts.Select((f, i) => RubricNode.Leaf($"c{i + 1}", $"States that it {g.FactClause(target.Id, f)}",
            f.IsRelation ? FamilyKit.Mentions(g[f.Target]) : CheckSpec.ExactAnywhere(f.Value))).ToArray();
        // 3. question (by the model)
        var prompt = Prompt.Replace("{noun}", target.Noun).Replace("{facts}", string.Join("\n", facts.Select(f => "- it " + g.FactClause(target.Id, f))));
        string text;
        try { text = model.GetResponseAsync(prompt, options, CancellationToken.None).GetAwaiter().GetResult().Text?.Trim() ?? ""; }
        catch (Exception ex) when (ex is not OperationCanceledException) { throw new NoCandidateException("llm-error"); }
        if (text.Length < 10) throw new NoCandidateException("llm-empty-question");
        var question = $"{text} Explain how each condition is met. {FamilyKit.FinalLineInstruction}";
        var root = RubricNode.Group("root", question,
            RubricNode.Group("constraints", "Each constraint is shown to hold", leaves),
            RubricNode.Leaf("final", $"The final answer is {target.Name}", FamilyKit.FinalAnswerCheck(target.Name, target.Aliases), critical: true));
        var (tree, json) = FamilyKit.Compile(root, question);
        // 4. solution (by program, so it is exactly what the tree checks)
        var body = facts.Select(f => $"{FactText.Claim(g, target.Id, f)} [source]({target.Url})").ToList();
        string Answer(string final) => string.Join("\n", body) + $"\n\nFinal answer: {final}";
        var negatives = new List<NegativeAnswer>();
        var near = Enumerable.Range(0, facts.Count).SelectMany(skip => g.Match(target.Type, facts.Where((_, i) => i != skip).ToList()))
            .Where(i => i != target.Id).Distinct().OrderBy(_ => rng.Next()).FirstOrDefault(-1);
        if (near >= 0) negatives.Add(new NegativeAnswer { Kind = "wrong-constraint", Answer = Answer(g[near].Name) });
        negatives.Add(new NegativeAnswer { Kind = "bare-guess", Answer = $"Final answer: {target.Name}" });
        var task = new SynthTask
        {
            Id = FamilyKit.TaskId(Name, g.Name, question), Family = Name, Complexity = ctx.Complexity.Name, Question = question,
            Answer = target.Name, Aliases = [.. target.Aliases], Rubric = json, Corpus = g.Name, SeedEntity = target.Url,
            Reference = new TaskReference
            {
                AnswerText = Answer(target.Name), EvidenceUrls = [target.Url],
                Steps = [new SolutionStep
                {
                    Thought = $"I look for the {target.Noun} that meets every condition.", Query = $"{target.Noun} {string.Join(" ", facts.Select(f => FactText.Value(g, f)))}",
                    Url = target.Url, Goal = $"Check every condition for {target.Name}", Fact = FactText.Claim(g, target.Id, facts[0]), Entity = target.Name,
                }],
            },
        };
        return new TaskCandidate { Task = task, Negatives = negatives, Tree = tree, AnswerEntities = [target.Id] };
    }
}
