using Quest.Rubrics;
using Quest.World.Graph;

namespace Quest.Synthesis.Families;

/// <summary>
/// Fact seeking, multi-hop: start at an entity named only by a description that singles it out (obfuscation), follow
/// 1–4 typed relations (each hop has exactly one target of the asked type), ask for the end. Rubric: a sequential chain
/// of non-critical leaves (start identified, each intermediate hop named) next to a critical final-answer leaf.
/// Complexity: depth = hops (1, 2, 3–4); breadth = facts in the start's description (1, 2, 3 at least).
/// </summary>
public sealed class MultiHopFamily : ITaskFamily
{
    /// <inheritdoc />
    public string Name => "multihop";

    /// <inheritdoc />
    public TaskCandidate Propose(FamilyContext ctx)
    {
        var g = ctx.Graph; var rng = ctx.Random;
        int hops = ctx.Complexity.Depth switch { 1 => 1, 2 => 2, _ => rng.Next(3, 5) };
        var start = ctx.PickEntity(e => g.Out(e.Id).Count > 0) ?? throw new NoCandidateException("no-seed");
        var path = new List<int> { start.Id };
        var rels = new List<string>();
        for (int h = 0; h < hops; h++)
        {
            int cur = path[^1];
            var options = g.Out(cur).GroupBy(e => (e.Relation, Type: g[e.To].Type))
                .Where(grp => grp.Select(x => x.To).Distinct().Count() == 1 && !path.Contains(grp.First().To))
                .Select(grp => grp.First()).ToList();
            if (options.Count == 0) throw new NoCandidateException("dead-end-walk");
            var pick = options[rng.Next(options.Count)];
            path.Add(pick.To); rels.Add(pick.Relation);
        }
        var pathSet = path.ToHashSet();
        var desc = g.DistinguishingFacts(start.Id, ctx.Complexity.Breadth + 2, rng,
            exclude: f => f.IsRelation && pathSet.Contains(f.Target), minFacts: ctx.Complexity.Breadth)
            ?? throw new NoCandidateException("no-unique-description");
        var end = g[path[^1]];

        var q = new System.Text.StringBuilder();
        q.Append($"Consider {FactText.Describe(g, start.Id, desc)}.");
        for (int h = 0; h < hops; h++)
            q.Append($" Step {h + 1}: find the {g[path[h + 1]].Noun} that the previous {g[path[h]].Noun} {g.RelationPhrase(rels[h])}.");
        q.Append($" What is the {end.Noun} reached at the last step? Name the starting {start.Noun} and every entity along the way. {FamilyKit.FinalLineInstruction}");
        var question = q.ToString();

        // Rubric: chain (sequential, non-critical) + final answer (critical).
        var chain = new List<RubricNode> { RubricNode.Leaf("start", $"Identifies the starting {start.Noun}: {start.Name}", FamilyKit.Mentions(start)) };
        for (int h = 1; h < hops; h++)
            chain.Add(RubricNode.Leaf($"hop{h}", $"Step {h}: names {g[path[h]].Name}", FamilyKit.Mentions(g[path[h]])));
        var root = RubricNode.Group("root", question,
            RubricNode.Group("chain", "The reasoning chain names each entity in order", RubricStrategy.Sequential, false, [.. chain]),
            RubricNode.Leaf("final", $"The final answer is {end.Name}", FamilyKit.FinalAnswerCheck(end.Name, end.Aliases), critical: true));
        var (tree, json) = FamilyKit.Compile(root, question);

        // Reference solution: search for the description, visit the start page, follow links.
        var steps = new List<SolutionStep>
        {
            new()
            {
                Thought = $"I need to identify {FactText.Describe(g, start.Id, desc)}; I will search for those facts.",
                Query = $"{start.Noun} {string.Join(" ", desc.Select(f => FactText.Value(g, f)))}",
                Url = start.Url, Goal = $"Confirm that this {start.Noun} {string.Join(" and ", desc.Select(f => g.FactClause(start.Id, f)))}",
                Fact = g.FactSentence(start.Id, desc[0]), Entity = start.Name,
            },
        };
        for (int h = 0; h < hops; h++)
        {
            var from = g[path[h]]; var to = g[path[h + 1]];
            steps.Add(new SolutionStep
            {
                Thought = $"Step {h + 1}: the {to.Noun} that {from.Name} {g.RelationPhrase(rels[h])} is {to.Name}; I will check its page.",
                Query = to.Name, Url = to.Url, Goal = $"Facts about {to.Name}",
                Fact = FactText.Claim(g, from.Id, new KgFact(rels[h], to.Id.ToString(), true)), Entity = to.Name,
            });
        }
        var lines = new List<string>
        {
            $"The starting {start.Noun} is {start.Name}: {start.Name} {FamilyKit.JoinAnd(desc.Select(f => g.FactClause(start.Id, f)!).ToList())} [source]({start.Url}).",
        };
        for (int h = 0; h < hops; h++)
            lines.Add($"Step {h + 1}: {FactText.Claim(g, path[h], new KgFact(rels[h], path[h + 1].ToString(), true))} [source]({g[path[h]].Url})");
        string Answer(IReadOnlyList<string> body, string final) => string.Join("\n", body) + $"\n\nFinal answer: {final}";
        var reference = Answer(lines, end.Name);

        var negatives = new List<NegativeAnswer>();
        var near = NearMiss(g, rng, end, pathSet);
        if (near is not null) negatives.Add(new NegativeAnswer { Kind = "near-miss", Answer = Answer(lines, near.Name) });
        negatives.Add(new NegativeAnswer { Kind = "one-hop-short", Answer = Answer(lines.Take(lines.Count - 1).ToList(), g[path[^2]].Name) });
        var wrongStart = NearMiss(g, rng, start, pathSet);
        if (wrongStart is not null)
            negatives.Add(new NegativeAnswer { Kind = "wrong-start", Answer = Answer([$"The starting {start.Noun} is {wrongStart.Name}."], end.Name) });
        negatives.Add(new NegativeAnswer { Kind = "bare-answer", Answer = $"Final answer: {end.Name}" });

        var task = new SynthTask
        {
            Id = FamilyKit.TaskId(Name, g.Name, question), Family = Name, Complexity = ctx.Complexity.Name, Question = question,
            Answer = end.Name, Aliases = [.. end.Aliases], Rubric = json, Corpus = g.Name, SeedEntity = start.Url,
            Reference = new TaskReference { Steps = steps, AnswerText = reference, EvidenceUrls = path.Select(i => g[i].Url).ToList() },
        };
        return new TaskCandidate { Task = task, Negatives = negatives, Tree = tree, AnswerEntities = [end.Id] };
    }

    /// <summary>Another entity of the same type (same noun preferred) not on the path, or null.</summary>
    internal static KgEntity? NearMiss(KnowledgeGraph g, Random rng, KgEntity e, IReadOnlySet<int> avoid)
    {
        KgEntity? fallback = null;
        for (int t = 0; t < 300; t++)
        {
            var c = g[rng.Next(g.Entities.Count)];
            if (c.Id == e.Id || avoid.Contains(c.Id) || c.Type != e.Type) continue;
            if (c.Name.Contains(e.Name, StringComparison.OrdinalIgnoreCase) || e.Name.Contains(c.Name, StringComparison.OrdinalIgnoreCase)) continue;
            if (c.Noun == e.Noun) return c;
            fallback ??= c;
        }
        return fallback;
    }
}
