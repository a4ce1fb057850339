using Quest.Rubrics;
using Quest.World.Graph;

namespace Quest.Synthesis.Families;

/// <summary>
/// Fact seeking, multi-constraint (BrowseComp-style): several facts that together single out one entity. The family
/// proves uniqueness in the corpus (<see cref="KnowledgeGraph.Match(string, IReadOnlyList{KgFact})"/> returns only the answer) before proposing.
/// Breadth = constraints (2, 3, 4); depth = how many relation constraints name their target only by a description
/// that is itself proven unique (0, 1, 2). Rubric: one non-critical leaf per constraint (the answer states the
/// constraint's value) and a critical final-answer leaf.
/// </summary>
public sealed class ConstraintFamily : ITaskFamily
{
    /// <inheritdoc />
    public string Name => "constraint";

    /// <inheritdoc />
    public TaskCandidate Propose(FamilyContext ctx)
    {
        var g = ctx.Graph; var rng = ctx.Random;
        int k = ctx.Complexity.Breadth + 1;
        var target = ctx.PickEntity(e => g.FactsOf(e.Id).Count(f => g.FactClause(e.Id, f) is not null) >= k) ?? throw new NoCandidateException("no-seed");
        var facts = g.DistinguishingFacts(target.Id, k, rng, minFacts: k) ?? throw new NoCandidateException("no-unique-description");
        var matches = g.Match(target.Type, facts);
        if (matches.Count != 1 || matches[0] != target.Id) throw new NoCandidateException("not-unique");

        // Depth: describe some relation targets instead of naming them.
        int nested = ctx.Complexity.Depth - 1;
        var clauses = new List<string>();
        var nestedInfo = new List<(KgFact Fact, IReadOnlyList<KgFact> Desc)>();
        foreach (var f in facts)
        {
            if (nested > 0 && f.IsRelation)
            {
                var t = g[f.Target];
                var d = g.DistinguishingFacts(t.Id, 3, rng, exclude: x => x.IsRelation && (x.Target == target.Id || facts.Any(y => y.IsRelation && y.Target == x.Target)));
                if (d is not null && g.Match(t.Type, d) is [var only] && only == t.Id)
                {
                    clauses.Add($"{g.RelationPhrase(f.Key)} {FactText.Describe(g, t.Id, d)}");
                    nestedInfo.Add((f, d)); nested--;
                    continue;
                }
            }
            clauses.Add(g.FactClause(target.Id, f)!);
        }
        if (nested > 0) throw new NoCandidateException("no-nested-description");
        var question = $"Which {target.Noun} {FamilyKit.JoinAnd(clauses)}? Explain how each condition is met. {FamilyKit.FinalLineInstruction}";

        var leaves = facts.Select((f, i) =>
        {
            var v = FactText.Value(g, f);
            var check = f.IsRelation ? FamilyKit.Mentions(g[f.Target]) : CheckSpec.ExactAnywhere(v);
            return RubricNode.Leaf($"c{i + 1}", $"States that it {g.FactClause(target.Id, f)}", check);
        }).ToArray();
        var root = RubricNode.Group("root", question,
            RubricNode.Group("constraints", "Each constraint is shown to hold", leaves),
            RubricNode.Leaf("final", $"The final answer is {target.Name}", FamilyKit.FinalAnswerCheck(target.Name, target.Aliases), critical: true));
        var (tree, json) = FamilyKit.Compile(root, question);

        var steps = new List<SolutionStep>();
        foreach (var (f, d) in nestedInfo)
        {
            var t = g[f.Target];
            steps.Add(new SolutionStep
            {
                Thought = $"First I identify {FactText.Describe(g, t.Id, d)}.", Query = $"{t.Noun} {string.Join(" ", d.Select(x => FactText.Value(g, x)))}",
                Url = t.Url, Goal = $"Check that this {t.Noun} {string.Join(" and ", d.Select(x => g.FactClause(t.Id, x)))}", Fact = g.FactSentence(t.Id, d[0]), Entity = t.Name,
            });
        }
        steps.Add(new SolutionStep
        {
            Thought = $"Now I look for the {target.Noun} that meets every condition.",
            Query = $"{target.Noun} {string.Join(" ", facts.Select(f => FactText.Value(g, f)))}", Url = target.Url,
            Goal = $"Check every condition for {target.Name}", Fact = FactText.Claim(g, target.Id, facts[0]), Entity = target.Name,
        });
        var body = new List<string>();
        foreach (var (f, d) in nestedInfo)
            body.Add($"{g[f.Target].Name} {FamilyKit.JoinAnd(d.Select(x => g.FactClause(f.Target, x)!).ToList())} [source]({g[f.Target].Url}).");
        body.AddRange(facts.Select(f => $"{FactText.Claim(g, target.Id, f)} [source]({target.Url})"));
        string Answer(IEnumerable<string> lines, string final) => string.Join("\n", lines) + $"\n\nFinal answer: {final}";
        var reference = Answer(body, target.Name);

        var negatives = new List<NegativeAnswer>();
        // Wrong constraint: an entity that meets all constraints but one.
        var nearMiss = Enumerable.Range(0, facts.Count)
            .SelectMany(skip => g.Match(target.Type, facts.Where((_, i) => i != skip).ToList()))
            .Where(i => i != target.Id).Distinct().OrderBy(_ => rng.Next()).FirstOrDefault(-1);
        if (nearMiss >= 0) negatives.Add(new NegativeAnswer { Kind = "wrong-constraint", Answer = Answer(body, g[nearMiss].Name) });
        var other = MultiHopFamily.NearMiss(g, rng, target, new HashSet<int>());
        if (other is not null) negatives.Add(new NegativeAnswer { Kind = "near-miss", Answer = Answer(body, other.Name) });
        negatives.Add(new NegativeAnswer { Kind = "missing-constraint", Answer = Answer(body.Take(body.Count - 1), target.Name).Replace(FactText.Value(g, facts[^1]), "(unknown)") });

        var task = new SynthTask
        {
            Id = FamilyKit.TaskId(Name, g.Name, question), Family = Name, Complexity = ctx.Complexity.Name, Question = question,
            Answer = target.Name, Aliases = [.. target.Aliases], Rubric = json, Corpus = g.Name, SeedEntity = target.Url,
            Reference = new TaskReference { Steps = steps, AnswerText = reference, EvidenceUrls = [.. nestedInfo.Select(n => g[n.Fact.Target].Url), target.Url] },
        };
        return new TaskCandidate { Task = task, Negatives = negatives, Tree = tree, AnswerEntities = [target.Id] };
    }
}
