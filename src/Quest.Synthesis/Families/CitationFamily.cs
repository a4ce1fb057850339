using Quest.Rubrics;
using Quest.World.Graph;

namespace Quest.Synthesis.Families;

/// <summary>
/// Citation grounding: state several facts about an entity and cite, inline, the page that supports each. Each fact is
/// a group with a critical value leaf (the value is stated) and a <c>cites</c> leaf (some cited page holds the page's own
/// sentence for that fact). The reward adds QUEST's inline-citation part. Breadth = facts (2, 3, 4); depth = hops from a
/// named start to the entity asked about (0, 1, 2), each hop also cited.
/// </summary>
public sealed class CitationFamily : ITaskFamily
{
    /// <inheritdoc />
    public string Name => "citation";

    /// <inheritdoc />
    public TaskCandidate Propose(FamilyContext ctx)
    {
        var g = ctx.Graph; var rng = ctx.Random;
        int k = ctx.Complexity.Breadth + 1, hops = ctx.Complexity.Depth - 1;
        var start = ctx.PickEntity(e => g.Out(e.Id).Count > 0) ?? throw new NoCandidateException("no-seed");
        var path = new List<int> { start.Id }; var rels = new List<string>();
        for (int h = 0; h < hops; h++)
        {
            var opts = g.Out(path[^1]).GroupBy(e => (e.Relation, g[e.To].Type)).Where(x => x.Select(y => y.To).Distinct().Count() == 1 && !path.Contains(x.First().To))
                .Select(x => x.First()).ToList();
            if (opts.Count == 0) throw new NoCandidateException("dead-end-walk");
            var p = opts[rng.Next(opts.Count)];
            path.Add(p.To); rels.Add(p.Relation);
        }
        var subject = g[path[^1]];
        var facts = g.FactsOf(subject.Id)
            .Where(f => g.FactClause(subject.Id, f) is not null && !(f.IsRelation && path.Contains(f.Target)))
            .Where(f => g.EvidenceSentence(subject.Id, FactText.Value(g, f)) is not null)
            // One fact per (key, target type), and only when that pair has one value, so each question has one answer.
            .GroupBy(f => (f.Key, f.IsRelation ? g[f.Target].Type : "")).Where(x => x.Count() == 1).Select(x => x.First())
            .OrderBy(_ => rng.Next()).Take(k).ToList();
        if (facts.Count < k) throw new NoCandidateException("too-few-citable-facts");

        string subjectRef = start.Name;
        for (int h = 0; h < hops; h++) subjectRef = $"the {g[path[h + 1]].Noun} that {subjectRef} {g.RelationPhrase(rels[h])}";
        var asks = facts.Select((f, i) => $"({i + 1}) {FactText.AskFact(g, subject.Id, f)}").ToList();
        var question = $"About {subjectRef}: {FamilyKit.JoinAnd(asks)}. Support every statement with an inline citation "
            + "[source](url) to the page that states it.";

        var groups = new List<RubricNode>();
        for (int h = 0; h < hops; h++)
        {
            var to = g[path[h + 1]];
            var ev = g.EvidenceSentence(path[h], to.Name) ?? g.FactSentence(path[h], new KgFact(rels[h], to.Id.ToString(), true));
            groups.Add(RubricNode.Group($"hop{h + 1}", $"Identifies {to.Name} with a citation", RubricStrategy.Parallel, false,
                RubricNode.Leaf($"hop{h + 1}_value", $"Names {to.Name}", FamilyKit.Mentions(to), critical: true),
                RubricNode.Leaf($"hop{h + 1}_cite", $"Cites a page stating: {ev}", CheckSpec.Cites(ev))));
        }
        for (int i = 0; i < facts.Count; i++)
        {
            var f = facts[i]; var v = FactText.Value(g, f);
            var ev = g.EvidenceSentence(subject.Id, v)!;
            groups.Add(RubricNode.Group($"fact{i + 1}", $"{subject.Name} {g.FactClause(subject.Id, f)}, with a citation", RubricStrategy.Parallel, false,
                RubricNode.Leaf($"fact{i + 1}_value", $"States {v}", f.IsRelation ? FamilyKit.Mentions(g[f.Target]) : CheckSpec.ExactAnywhere(v), critical: true),
                RubricNode.Leaf($"fact{i + 1}_cite", $"Cites a page stating: {ev}", CheckSpec.Cites(ev))));
        }
        var root = RubricNode.Group("root", question, [.. groups]);
        var (tree, json) = FamilyKit.Compile(root, question);

        var steps = new List<SolutionStep> { new() { Thought = $"I start from {start.Name}.", Query = start.Name, Url = start.Url, Goal = $"Facts about {start.Name}", Entity = start.Name } };
        for (int h = 0; h < hops; h++)
            steps.Add(new SolutionStep
            {
                Thought = $"{g[path[h]].Name} {g.RelationPhrase(rels[h])} {g[path[h + 1]].Name}; I open that page.", Query = g[path[h + 1]].Name,
                Url = g[path[h + 1]].Url, Goal = $"Facts about {g[path[h + 1]].Name}", Fact = g.EvidenceSentence(path[h], g[path[h + 1]].Name), Entity = g[path[h + 1]].Name,
            });
        steps.Add(new SolutionStep { Thought = "The page states every fact I need; I will cite it.", Url = subject.Url, Goal = string.Join("; ", asks), Entity = subject.Name, Fact = FactText.Claim(g, subject.Id, facts[0]) });

        List<string> Lines(Func<int, string> url, Func<KgFact, string>? valueOverride = null)
        {
            var l = new List<string>();
            for (int h = 0; h < hops; h++) l.Add($"{FactText.EnsurePeriod(g.EvidenceSentence(path[h], g[path[h + 1]].Name) ?? g.FactSentence(path[h], new KgFact(rels[h], path[h + 1].ToString(), true)))} [source]({url(path[h])})");
            for (int i = 0; i < facts.Count; i++)
            {
                var claim = FactText.Claim(g, subject.Id, facts[i]);
                if (valueOverride is not null && i == 0) claim = claim.Replace(FactText.Value(g, facts[i]), valueOverride(facts[i]));
                l.Add($"({i + 1}) {claim} [source]({url(subject.Id)})");
            }
            return l;
        }
        var reference = string.Join("\n", Lines(i => g[i].Url));
        var negatives = new List<NegativeAnswer>
        {
            new() { Kind = "no-citation", Answer = string.Join("\n", Lines(_ => "").Select(s => s.Replace(" [source]()", ""))) },
        };
        var unrelated = MultiHopFamily.NearMiss(g, rng, subject, path.ToHashSet());
        if (unrelated is not null)
        {
            negatives.Add(new NegativeAnswer { Kind = "wrong-source", Answer = string.Join("\n", Lines(_ => unrelated.Url)) });
            var wrongValue = facts[0].IsRelation ? MultiHopFamily.NearMiss(g, rng, g[facts[0].Target], new HashSet<int>())?.Name : (int.TryParse(facts[0].Value, out var y) ? (y + 7).ToString() : null);
            if (wrongValue is not null) negatives.Add(new NegativeAnswer { Kind = "wrong-value", Answer = string.Join("\n", Lines(i => g[i].Url, _ => wrongValue)) });
        }

        var task = new SynthTask
        {
            Id = FamilyKit.TaskId(Name, g.Name, question), Family = Name, Complexity = ctx.Complexity.Name, Question = question,
            Answer = string.Join("; ", facts.Select(f => FactText.Value(g, f))), Rubric = json, Corpus = g.Name, SeedEntity = start.Url, NeedCitation = true,
            Reference = new TaskReference { Steps = steps, AnswerText = reference, EvidenceUrls = path.Select(i => g[i].Url).ToList() },
        };
        return new TaskCandidate { Task = task, Negatives = negatives, Tree = tree, AnswerEntities = [subject.Id] };
    }
}
