using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using Quest.Rubrics;
using Quest.World.Graph;

namespace Quest.Synthesis.Families;

/// <summary>
/// QUEST's complexity classes C1…C9: breadth (how many facts / items / claims, 1–3) × depth (how many hops, 1–3).
/// Class index = 3·(depth−1) + breadth, so C1 is narrow and shallow, C3 wide and shallow, C7 narrow and deep, C9 both.
/// </summary>
/// <param name="Breadth">1–3.</param>
/// <param name="Depth">1–3.</param>
public readonly record struct Complexity(int Breadth, int Depth)
{
    /// <summary>Class name <c>C1</c>…<c>C9</c>.</summary>
    public string Name => $"C{3 * (Depth - 1) + Breadth}";
    /// <summary>All nine classes in order.</summary>
    public static IReadOnlyList<Complexity> All { get; } =
        [.. Enumerable.Range(1, 3).SelectMany(d => Enumerable.Range(1, 3).Select(b => new Complexity(b, d)))];
    /// <summary>Parses <c>C1</c>…<c>C9</c>.</summary>
    public static Complexity Parse(string name)
    {
        if (name.Length == 2 && name[0] is 'C' or 'c' && name[1] is >= '1' and <= '9')
        {
            int i = name[1] - '1';
            return new Complexity(i % 3 + 1, i / 3 + 1);
        }
        throw new ArgumentException($"complexity '{name}' is not C1…C9");
    }
    /// <inheritdoc />
    public override string ToString() => Name;
}

/// <summary>What a family gets to build one candidate.</summary>
public sealed class FamilyContext
{
    /// <summary>The graph to walk.</summary>
    public required KnowledgeGraph Graph { get; init; }
    /// <summary>Seeded random source for this candidate (deterministic per run seed, slot and attempt).</summary>
    public required Random Random { get; init; }
    /// <summary>Target complexity.</summary>
    public required Complexity Complexity { get; init; }
    /// <summary>Seed entities that must not be used (e.g. already used by an accepted task of this family).</summary>
    public IReadOnlySet<int> UsedSeeds { get; init; } = new HashSet<int>();

    /// <summary>A random entity satisfying <paramref name="filter"/> (up to <paramref name="tries"/> draws), or null.</summary>
    public KgEntity? PickEntity(Func<KgEntity, bool> filter, int tries = 200)
    {
        var all = Graph.Entities;
        for (int t = 0; t < tries; t++)
        {
            var e = all[Random.Next(all.Count)];
            if (!UsedSeeds.Contains(e.Id) && filter(e)) return e;
        }
        return null;
    }
}

/// <summary>A task as a family proposes it, before verification: the task plus the negatives the verifier must see fail.</summary>
public sealed record TaskCandidate
{
    /// <summary>The task (its <c>Negatives</c> are filled in by the verifier with their scores).</summary>
    public required SynthTask Task { get; init; }
    /// <summary>Wrong answers the rubric must score below 1.0.</summary>
    public required IReadOnlyList<NegativeAnswer> Negatives { get; init; }
    /// <summary>The compiled rubric tree (null for report tasks scored by criteria only).</summary>
    public RubricTree? Tree { get; init; }
    /// <summary>Entity ids the task's answer consists of (for the train/test answer-leak check).</summary>
    public IReadOnlyList<int> AnswerEntities { get; init; } = [];
}

/// <summary>The reason a family could not build a candidate (counted in the rejection summary).</summary>
public sealed class NoCandidateException(string reason) : Exception(reason)
{
    /// <summary>Short reason key, e.g. <c>no-unique-description</c>.</summary>
    public string Reason { get; } = reason;
}

/// <summary>
/// A task family: given a graph, a seeded random source and a complexity class, propose one candidate task with its
/// rubric tree, reference solution and negatives (or throw <see cref="NoCandidateException"/>). Implement this in a
/// notebook cell to add a new kind of task; the synthesizer verifies whatever a family proposes.
/// </summary>
public interface ITaskFamily
{
    /// <summary>Family name written into the task's <c>family</c> field.</summary>
    string Name { get; }
    /// <summary>Proposes one candidate.</summary>
    TaskCandidate Propose(FamilyContext context);
}

/// <summary>Helpers shared by the built-in families.</summary>
public static class FamilyKit
{
    /// <summary>The instruction every objective question ends with, so the final-answer leaf has a place to look.</summary>
    public const string FinalLineInstruction = "End your answer with a line of the form \"Final answer: <name>\".";

    /// <summary>A stable task id from family, corpus and content.</summary>
    public static string TaskId(string family, string corpus, string content)
    {
        var h = SHA256.HashData(Encoding.UTF8.GetBytes(family + "\n" + corpus + "\n" + content));
        return $"{family}-{corpus}-{Convert.ToHexString(h, 0, 5).ToLowerInvariant()}";
    }

    /// <summary>
    /// A critical-style final-answer check: the answer's "Final answer:" line names <paramref name="name"/> (or an alias)
    /// right after the colon (a leading "the" and markdown emphasis allowed).
    /// </summary>
    public static CheckSpec FinalAnswerCheck(string name, IEnumerable<string> aliases)
    {
        var alts = string.Join("|", new[] { name }.Concat(aliases).Distinct().Select(System.Text.RegularExpressions.Regex.Escape));
        return CheckSpec.Regex(@"final answer\s*[:：]\s*[*_""'`]*\s*(?:the\s+)?(?:" + alts + @")(?![\p{L}\p{N}])");
    }

    /// <summary>A mention check: the name (or an alias) appears anywhere as a word sequence.</summary>
    public static CheckSpec Mentions(KgEntity e) => CheckSpec.ExactAnywhere(e.Name, [.. e.Aliases]);

    /// <summary>Compiles a tree and returns it with its JSON form (the rubric room's lossless QUEST JSON with checks).</summary>
    public static (RubricTree Tree, JsonNode Json) Compile(RubricNode root, string question)
    {
        var tree = RubricTree.Compile(root, question);
        return (tree, JsonNode.Parse(tree.ToQuestJson(QuestJsonShape.TaskAndTree, includeChecks: true))!);
    }

    /// <summary>A markdown link to an entity's page.</summary>
    public static string Link(KgEntity e) => $"[{e.Name}]({e.Url})";

    /// <summary>Capitalises the first letter.</summary>
    public static string Cap(string s) => s.Length == 0 ? s : char.ToUpperInvariant(s[0]) + s[1..];

    /// <summary>Joins with commas and "and".</summary>
    public static string JoinAnd(IReadOnlyList<string> items) => items.Count switch
    {
        0 => "", 1 => items[0], 2 => $"{items[0]} and {items[1]}",
        _ => string.Join(", ", items.Take(items.Count - 1)) + ", and " + items[^1],
    };
}
