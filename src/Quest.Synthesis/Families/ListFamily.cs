using Quest.Rubrics;
using Quest.World.Graph;

namespace Quest.Synthesis.Families;

/// <summary>
/// List / wide questions: every entity of one type that has a given relation to an anchor ("all people born in X"),
/// capped at a handful. Scored by list coverage: one non-critical leaf per expected item, so the score is the share
/// found. Breadth = list size (2–3, 3–5, 4–8); depth 1 names the anchor, deeper classes describe it by 1–2 facts
/// that single it out.
/// </summary>
public sealed class ListFamily : ITaskFamily
{
    /// <inheritdoc />
    public string Name => "list";

    /// <inheritdoc />
    public TaskCandidate Propose(FamilyContext ctx)
    {
        var g = ctx.Graph; var rng = ctx.Random;
        var (min, max) = ctx.Complexity.Breadth switch { 1 => (2, 3), 2 => (3, 5), _ => (4, 8) };
        for (int attempt = 0; attempt < 40; attempt++)
        {
            var anchor = ctx.PickEntity(e => g.In(e.Id).Count >= min);
            if (anchor is null) break;
            var groups = g.In(anchor.Id).GroupBy(e => (e.Relation, Type: g[e.From].Type))
                .Select(grp => (grp.Key.Relation, grp.Key.Type, Items: grp.Select(x => x.From).Distinct().ToList()))
                .Where(x => x.Items.Count >= min && x.Items.Count <= max).ToList();
            if (groups.Count == 0) continue;
            var (rel, type, items) = groups[rng.Next(groups.Count)];
            items = items.OrderBy(i => g[i].Name, StringComparer.Ordinal).ToList();
            var itemSet = items.ToHashSet();
            if (items.Any(i => anchor.Name.Contains(g[i].Name, StringComparison.OrdinalIgnoreCase))) continue;

            string anchorRef = anchor.Name;
            IReadOnlyList<KgFact>? desc = null;
            if (ctx.Complexity.Depth > 1)
            {
                desc = g.DistinguishingFacts(anchor.Id, ctx.Complexity.Depth + 1, rng, exclude: f => f.IsRelation && itemSet.Contains(f.Target), minFacts: ctx.Complexity.Depth - 1);
                if (desc is null) continue;
                anchorRef = FactText.Describe(g, anchor.Id, desc);
            }
            var nouns = items.Select(i => g[i].Noun).Distinct().ToList();
            var noun = nouns.Count == 1 ? nouns[0] : type;
            var question = $"List every {noun} in the corpus that {g.RelationPhrase(rel)} {anchorRef}. Give each name on its own line.";

            var leaves = items.Select((i, n) => RubricNode.Leaf($"item{n + 1}", $"Lists {g[i].Name}", FamilyKit.Mentions(g[i]))).ToArray();
            var root = RubricNode.Group("root", question, leaves);
            var (tree, json) = FamilyKit.Compile(root, question);

            var steps = new List<SolutionStep>();
            if (desc is not null)
                steps.Add(new SolutionStep
                {
                    Thought = $"First I identify {anchorRef}.", Query = $"{anchor.Noun} {string.Join(" ", desc.Select(f => FactText.Value(g, f)))}",
                    Url = anchor.Url, Goal = $"Confirm the {anchor.Noun} and list related {FactText.Plural(noun)}", Fact = g.FactSentence(anchor.Id, desc[0]), Entity = anchor.Name,
                });
            else
                steps.Add(new SolutionStep
                {
                    Thought = $"The page of {anchor.Name} should list the {FactText.Plural(noun)} related to it.", Query = anchor.Name, Url = anchor.Url,
                    Goal = $"Every {noun} that {g.RelationPhrase(rel)} {anchor.Name}", Entity = anchor.Name,
                });
            foreach (var i in items)
                steps.Add(new SolutionStep
                {
                    Thought = $"I confirm that {g[i].Name} {g.RelationPhrase(rel)} {anchor.Name}.", Query = g[i].Name, Url = g[i].Url,
                    Goal = $"Does {g[i].Name} {g.RelationPhrase(rel).Replace("was ", "").Replace("is ", "")} {anchor.Name}?",
                    Fact = FactText.Claim(g, i, new KgFact(rel, anchor.Id.ToString(), true)), Entity = g[i].Name,
                });
            string Answer(IEnumerable<int> ids) => $"The {FactText.Plural(noun)} that {FactText.PluralVerb(g.RelationPhrase(rel))} {anchor.Name}:\n"
                + string.Join("\n", ids.Select(i => $"- {g[i].Name} [source]({g[i].Url})"));
            var reference = Answer(items);

            var negatives = new List<NegativeAnswer>
            {
                new() { Kind = "partial-list", Answer = Answer(items.Take(items.Count - 1)) },
            };
            var wrong = MultiHopFamily.NearMiss(g, rng, g[items[0]], itemSet);
            if (wrong is not null)
                negatives.Add(new NegativeAnswer { Kind = "near-miss", Answer = Answer(items.Skip(1)) + $"\n- {wrong.Name}" });
            negatives.Add(new NegativeAnswer { Kind = "empty", Answer = "I could not find any." });

            var task = new SynthTask
            {
                Id = FamilyKit.TaskId(Name, g.Name, question), Family = Name, Complexity = ctx.Complexity.Name, Question = question,
                Answer = string.Join("; ", items.Select(i => g[i].Name)), Rubric = json, Corpus = g.Name, SeedEntity = anchor.Url,
                Reference = new TaskReference { Steps = steps, AnswerText = reference, EvidenceUrls = [anchor.Url, .. items.Select(i => g[i].Url)] },
            };
            return new TaskCandidate { Task = task, Negatives = negatives, Tree = tree, AnswerEntities = items };
        }
        throw new NoCandidateException("no-list-anchor");
    }
}
