using System.Text;
using Quest.Rubrics;
using Quest.World.Graph;

namespace Quest.Synthesis.Families;

/// <summary>
/// Report synthesis (open-ended): a topic cluster around a hub entity. Weighted criteria over four dimensions
/// (comprehensiveness, insight, instruction following, readability; dimension weights drawn per task): program checks
/// (mentions a cluster entity, cites the hub page, has sections, long enough) and judge criteria (insight, clarity).
/// Breadth = cluster size (3, 5, 7 entities); depth = relation kinds the report must cover (1, 2, 3).
/// </summary>
public sealed class ReportFamily : ITaskFamily
{
    /// <inheritdoc />
    public string Name => "report";

    /// <summary>Minimum words the report must have (an instruction-following criterion).</summary>
    public int MinWords { get; init; } = 80;

    /// <inheritdoc />
    public TaskCandidate Propose(FamilyContext ctx)
    {
        var g = ctx.Graph; var rng = ctx.Random;
        int size = ctx.Complexity.Breadth * 2 + 1, kinds = ctx.Complexity.Depth;
        for (int attempt = 0; attempt < 40; attempt++)
        {
            var hub = ctx.PickEntity(e => g.In(e.Id).Count + g.Out(e.Id).Count >= size);
            if (hub is null) break;
            // Neighbours grouped by (direction, relation); each cluster member must be mentioned on the hub's page.
            // Topics: (direction, relation, neighbour type), so a link graph with one relation still has several topics.
            var groups = g.Out(hub.Id).Select(e => (Key: $"out:{e.Relation}:{g[e.To].Type}", Id: e.To))
                .Concat(g.In(hub.Id).Select(e => (Key: $"in:{e.Relation}:{g[e.From].Type}", Id: e.From)))
                .Where(x => x.Id != hub.Id && g.EvidenceSentence(hub.Id, g[x.Id].Name) is not null
                            && !hub.Name.Contains(g[x.Id].Name, StringComparison.OrdinalIgnoreCase))
                .GroupBy(x => x.Key).OrderBy(_ => rng.Next()).Take(kinds).ToList();
            if (groups.Count < kinds) continue;
            var cluster = new List<(string Key, int Id)>();
            int per = (size + kinds - 1) / kinds;
            foreach (var grp in groups) cluster.AddRange(grp.DistinctBy(x => x.Id).Take(per));
            cluster = cluster.DistinctBy(x => x.Id).Take(size).ToList();
            if (cluster.Count < size) continue;

            var topics = groups.Select(grp => Topic(g, grp.Key, grp.Select(x => x.Id))).ToList();
            var question = $"Write a short research report on {hub.Name} ({KnowledgeGraph.Article(hub.Noun)} {hub.Noun}), covering {FamilyKit.JoinAnd(topics)}. "
                + $"Use markdown sections, at least {MinWords} words, and cite the pages you use inline as [source](url).";

            var w = new[] { 0.4, 0.2, 0.2, 0.2 }.Select(x => x * (0.75 + 0.5 * rng.NextDouble())).ToArray();
            var sum = w.Sum();
            var dims = new Dictionary<string, double>
            {
                ["comprehensiveness"] = Math.Round(w[0] / sum, 3), ["insight"] = Math.Round(w[1] / sum, 3),
                ["instruction_following"] = Math.Round(w[2] / sum, 3), ["readability"] = Math.Round(w[3] / sum, 3),
            };
            var criteria = new List<ReportCriterion>
            {
                new() { Dimension = "comprehensiveness", Text = $"Names {hub.Name}", Check = "mentions", Value = hub.Name, Aliases = hub.Aliases, Weight = 1 },
            };
            foreach (var (_, id) in cluster)
                criteria.Add(new ReportCriterion { Dimension = "comprehensiveness", Text = $"Covers {g[id].Name}", Check = "mentions", Value = g[id].Name, Aliases = g[id].Aliases, Weight = 1 });
            criteria.Add(new ReportCriterion { Dimension = "instruction_following", Text = $"Cites the page of {hub.Name}", Check = "cites", Value = hub.Url, Weight = 2 });
            criteria.Add(new ReportCriterion { Dimension = "instruction_following", Text = $"At least {MinWords} words", Check = "min_words", Value = MinWords.ToString(), Weight = 1 });
            criteria.Add(new ReportCriterion { Dimension = "readability", Text = "Organised in at least three markdown sections", Check = "sections", Value = "3", Weight = 1 });
            criteria.Add(new ReportCriterion { Dimension = "readability", Text = "Clear, well-structured prose without repetition", Check = "judge", Weight = 1 });
            criteria.Add(new ReportCriterion { Dimension = "insight", Text = $"Explains how the covered entities relate to {hub.Name} and to each other", Check = "judge", Weight = 2 });
            criteria.Add(new ReportCriterion { Dimension = "insight", Text = "Mentions at least one date that places the topic in time", Check = "judge", Weight = 1 });

            var reference = Render(g, hub, groups.Select(x => x.Key).ToList(), cluster, withSections: true, withCitations: true);
            if (System.Text.RegularExpressions.Regex.Matches(reference, @"\S+").Count < MinWords) continue;

            // The tree form (for `quest rubric score`): one group per dimension; judge leaves need a judge.
            var dimNodes = dims.Keys.Select(d => RubricNode.Group(d, $"{d.Replace('_', ' ')} (weight {dims[d]})",
                criteria.Where(c => c.Dimension == d).Select((c, i) => RubricNode.Leaf($"{d}_{i + 1}", c.Text, c.ToCheckSpec())).ToArray())).ToArray();
            var root = RubricNode.Group("root", question, dimNodes);
            var (tree, json) = FamilyKit.Compile(root, question);

            var steps = new List<SolutionStep> { new() { Thought = $"I start with the page of {hub.Name}.", Query = hub.Name, Url = hub.Url, Goal = $"Overview of {hub.Name} and related entities", Entity = hub.Name } };
            foreach (var (_, id) in cluster.Take(3))
                steps.Add(new SolutionStep { Thought = $"{g[id].Name} is part of the topic; I read its page.", Query = g[id].Name, Url = g[id].Url, Goal = $"How {g[id].Name} relates to {hub.Name}", Entity = g[id].Name });

            var negatives = new List<NegativeAnswer>
            {
                new() { Kind = "missing-entities", Answer = cluster.Skip((cluster.Count + 1) / 2).Aggregate(reference, (text, c) => text.Replace(g[c.Id].Name, "another entity")) },
                new() { Kind = "no-structure", Answer = Render(g, hub, groups.Select(x => x.Key).ToList(), cluster, withSections: false, withCitations: false) },
                new() { Kind = "empty", Answer = $"{hub.Name} is {KnowledgeGraph.Article(hub.Noun)} {hub.Noun}." },
            };
            var task = new SynthTask
            {
                Id = FamilyKit.TaskId(Name, g.Name, question), Family = Name, Complexity = ctx.Complexity.Name, Question = question,
                Answer = $"A report on {hub.Name} covering {string.Join(", ", cluster.Select(c => g[c.Id].Name))}", Rubric = json,
                Corpus = g.Name, SeedEntity = hub.Url, Type = TaskTypes.OpenEnded, NeedCitation = true, Criteria = criteria, DimensionWeights = dims,
                Reference = new TaskReference { Steps = steps, AnswerText = reference, EvidenceUrls = [hub.Url, .. cluster.Select(c => g[c.Id].Url)] },
            };
            return new TaskCandidate { Task = task, Negatives = negatives, Tree = tree, AnswerEntities = [] };
        }
        throw new NoCandidateException("no-report-cluster");
    }

    private static string Topic(KnowledgeGraph g, string key, IEnumerable<int> members)
    {
        var parts = key.Split(':', 3);
        var rel = parts[1];
        var nouns = members.Select(i => g[i].Noun).Distinct().ToList();
        var noun = nouns.Count == 1 ? nouns[0] : parts[2];
        return parts[0] == "out"
            ? $"the {FactText.Plural(noun)} it {g.RelationPhrase(rel)}"
            : $"the {FactText.Plural(noun)} that {FactText.PluralVerb(g.RelationPhrase(rel))} it";
    }

    private static string Render(KnowledgeGraph g, KgEntity hub, IReadOnlyList<string> keys, IReadOnlyList<(string Key, int Id)> cluster, bool withSections, bool withCitations)
    {
        string Cite(string url) => withCitations ? $" [source]({url})" : "";
        var sb = new StringBuilder();
        if (withSections) sb.Append($"# {hub.Name}\n\n## Overview\n\n");
        sb.Append(FactText.EnsurePeriod(g.Lead(hub.Id))).Append(Cite(hub.Url)).Append("\n\n");
        foreach (var key in keys)
        {
            var members = cluster.Where(c => c.Key == key).ToList();
            if (members.Count == 0) continue;
            if (withSections) sb.Append($"## {FamilyKit.Cap(Topic(g, key, members.Select(m => m.Id)))}\n\n");
            var said = new HashSet<string>();
            foreach (var (_, id) in members)
            {
                var ev = g.EvidenceSentence(hub.Id, g[id].Name)!;
                if (said.Add(ev)) sb.Append(FactText.EnsurePeriod(ev)).Append(Cite(hub.Url)).Append('\n');
                sb.Append(FactText.EnsurePeriod(g.Lead(id))).Append(Cite(g[id].Url)).Append('\n');
            }
            sb.Append('\n');
        }
        if (withSections) sb.Append("## Summary\n\n");
        sb.Append($"Together, these {cluster.Count} entities show how {hub.Name} is connected to the people, places and works around it.");
        return sb.ToString();
    }
}
