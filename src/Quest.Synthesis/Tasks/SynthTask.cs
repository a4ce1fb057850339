using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using Quest.Agent.Rollout;
using Quest.Core;
using Quest.Rubrics;

namespace Quest.Synthesis;

/// <summary>
/// One synthesized training/evaluation task: a question, its gold answer, the rubric tree that turns an answer into
/// a verifiable reward, and the reference solution path the teacher replays. One line of a task JSONL file.
/// </summary>
public sealed record SynthTask
{
    /// <summary>Stable id (family, corpus and a hash of the seed and question), e.g. <c>multihop-world-3fa2c1d0</c>.</summary>
    [JsonPropertyName("id")] public string Id { get; init; } = "";
    /// <summary>Task family name (<c>multihop</c>, <c>constraint</c>, <c>list</c>, <c>citation</c>, <c>report</c>, or a plug-in's name).</summary>
    [JsonPropertyName("family")] public string Family { get; init; } = "";
    /// <summary>Complexity class <c>C1</c>…<c>C9</c> (breadth × depth, see <see cref="Complexity"/>).</summary>
    [JsonPropertyName("complexity")] public string Complexity { get; init; } = "C1";
    /// <summary>The question the agent sees (the user turn).</summary>
    [JsonPropertyName("question")] public string Question { get; init; } = "";
    /// <summary>The short gold answer (for list tasks the items joined by "; "; for reports a one-line summary).</summary>
    [JsonPropertyName("answer")] public string Answer { get; init; } = "";
    /// <summary>Other accepted spellings of the answer.</summary>
    [JsonPropertyName("aliases")] public IReadOnlyList<string> Aliases { get; init; } = [];
    /// <summary>
    /// The rubric tree in the rubric room's JSON form (<c>Quest.Rubrics</c>' serialisable tree, the same form
    /// <c>quest rubric score</c> reads). Kept as JSON so the file format does not depend on in-memory types.
    /// </summary>
    [JsonPropertyName("rubric")] public JsonNode? Rubric { get; init; }
    /// <summary>The reference solution path (searches, visits, facts, the reference answer text).</summary>
    [JsonPropertyName("reference")] public TaskReference Reference { get; init; } = new();
    /// <summary><c>train</c> or <c>test</c>; assigned by seed entity so no test answer leaks into training tasks.</summary>
    [JsonPropertyName("split")] public string Split { get; init; } = "train";
    /// <summary>Corpus the task was built on (<c>world</c>, <c>foldoc</c>, …).</summary>
    [JsonPropertyName("corpus")] public string Corpus { get; init; } = "";
    /// <summary>The seed entity id the task was grown from (the split key).</summary>
    [JsonPropertyName("seed_entity")] public string SeedEntity { get; init; } = "";
    /// <summary>Reward type: <c>objective</c> (rubric tree) or <c>open-ended</c> (weighted report criteria).</summary>
    [JsonPropertyName("type")] public string Type { get; init; } = TaskTypes.Objective;
    /// <summary>Whether the reward includes QUEST's inline-citation part (0.75·base + 0.25·valid_rate·base).</summary>
    [JsonPropertyName("need_citation")] public bool NeedCitation { get; init; }
    /// <summary>Weighted criteria for report tasks (null for objective tasks).</summary>
    [JsonPropertyName("criteria")] public IReadOnlyList<ReportCriterion>? Criteria { get; init; }
    /// <summary>Report tasks: weight of each dimension (comprehensiveness, insight, instruction_following, readability).</summary>
    [JsonPropertyName("dimension_weights")] public IReadOnlyDictionary<string, double>? DimensionWeights { get; init; }
    /// <summary>Answers the verifier proved the rubric scores below 1.0 (near-miss entity, one hop short, wrong constraint…).</summary>
    [JsonPropertyName("negatives")] public IReadOnlyList<NegativeAnswer> Negatives { get; init; } = [];
}

/// <summary>Reward types (the <c>reward_model.ground_truth.type</c> of the verl export).</summary>
public static class TaskTypes
{
    /// <summary>Scored by the rubric tree.</summary>
    public const string Objective = "objective";
    /// <summary>Scored by weighted criteria / pairwise comparison with a reference report.</summary>
    public const string OpenEnded = "open-ended";
}

/// <summary>The solution path: what an expert would do, step by step, and the answer it would write.</summary>
public sealed record TaskReference
{
    /// <summary>Ordered steps (search, then visit, …).</summary>
    [JsonPropertyName("steps")] public IReadOnlyList<SolutionStep> Steps { get; init; } = [];
    /// <summary>The full reference answer (with inline citations where the family needs them); scores 1.0 under the rubric.</summary>
    [JsonPropertyName("answer_text")] public string AnswerText { get; init; } = "";
    /// <summary>Pages that support the answer (urls).</summary>
    [JsonPropertyName("evidence_urls")] public IReadOnlyList<string> EvidenceUrls { get; init; } = [];
}

/// <summary>One step of a solution path.</summary>
public sealed record SolutionStep
{
    /// <summary>Why this step (becomes the teacher's <c>&lt;think&gt;</c> text).</summary>
    [JsonPropertyName("thought")] public string Thought { get; init; } = "";
    /// <summary>A search query to issue (null when the step is a visit only).</summary>
    [JsonPropertyName("query")] public string? Query { get; init; }
    /// <summary>A page to visit (usually found by the preceding search).</summary>
    [JsonPropertyName("url")] public string? Url { get; init; }
    /// <summary>The goal passed to the visit tool.</summary>
    [JsonPropertyName("goal")] public string? Goal { get; init; }
    /// <summary>The fact this step establishes (a sentence the visited page supports).</summary>
    [JsonPropertyName("fact")] public string? Fact { get; init; }
    /// <summary>The entity this step lands on (its name), if any.</summary>
    [JsonPropertyName("entity")] public string? Entity { get; init; }
}

/// <summary>A wrong answer with the reason it is wrong; the verifier requires the rubric to score it below 1.0.</summary>
public sealed record NegativeAnswer
{
    /// <summary>Kind: <c>near-miss</c>, <c>one-hop-short</c>, <c>wrong-constraint</c>, <c>partial-list</c>, <c>no-citation</c>, <c>empty</c>…</summary>
    [JsonPropertyName("kind")] public string Kind { get; init; } = "";
    /// <summary>The answer text.</summary>
    [JsonPropertyName("answer")] public string Answer { get; init; } = "";
    /// <summary>The score the rubric gave it when the task was verified.</summary>
    [JsonPropertyName("score")] public double Score { get; init; }
}

/// <summary>One weighted criterion of a report task.</summary>
public sealed record ReportCriterion
{
    /// <summary>Dimension: <c>comprehensiveness</c>, <c>insight</c>, <c>instruction_following</c>, <c>readability</c>.</summary>
    [JsonPropertyName("dimension")] public string Dimension { get; init; } = "";
    /// <summary>What the criterion asks for, in words (shown to a judge).</summary>
    [JsonPropertyName("text")] public string Text { get; init; } = "";
    /// <summary>Weight inside its dimension.</summary>
    [JsonPropertyName("weight")] public double Weight { get; init; } = 1;
    /// <summary>
    /// Program check: <c>mentions</c> (the answer names <see cref="Value"/> or an alias), <c>cites</c> (the answer cites url
    /// <see cref="Value"/>), <c>min_words</c> (at least <see cref="Value"/> words), <c>sections</c> (at least <see cref="Value"/>
    /// markdown headings), or <c>judge</c> (needs an LLM judge).
    /// </summary>
    [JsonPropertyName("check")] public string Check { get; init; } = "judge";
    /// <summary>The check's argument.</summary>
    [JsonPropertyName("value")] public string? Value { get; init; }
    /// <summary>Accepted alternative spellings for <c>mentions</c>.</summary>
    [JsonPropertyName("aliases")] public IReadOnlyList<string> Aliases { get; init; } = [];

    /// <summary>
    /// The criterion as a rubric leaf check, so report criteria are checked by the rubric check registry (one check
    /// language): <c>mentions</c> → <c>exact</c> anywhere (with aliases), <c>cites</c> → <c>cites</c> of the source URL,
    /// <c>min_words</c> and <c>sections</c> → <c>regex</c>, <c>judge</c> → <c>judge</c>.
    /// </summary>
    public CheckSpec ToCheckSpec() => Check switch
    {
        "mentions" => CheckSpec.ExactAnywhere(Value ?? "", [.. Aliases]),
        "cites" => CheckSpec.Custom("cites", ("source", Value)),
        "min_words" => CheckSpec.Regex(@"^\s*(?:\S+\s+){" + (Count() - 1) + @"}\S+"),
        "sections" => CheckSpec.Regex("(?ms)" + string.Concat(Enumerable.Repeat(@"^\s*#{1,6}\s+\S.*?", Count()))),
        "judge" => CheckSpec.Judge(Text),
        _ => throw new QuestInputException(null, null, null, $"unknown report check '{Check}'", "mentions, cites, min_words, sections or judge"),
    };

    private int Count() => int.TryParse(Value, out var n) && n >= 1 ? n
        : throw new QuestInputException(null, null, null, $"report check '{Check}' has value '{Value}'", "a whole number of at least 1");
}

/// <summary>Reads and writes task JSONL files (one <see cref="SynthTask"/> per line).</summary>
public static class TaskFile
{
    /// <summary>Serializer settings for task files: snake-case names as declared, nulls omitted.</summary>
    public static JsonSerializerOptions Options => JsonFiles.CompactOmitNulls;

    /// <summary>Writes all tasks atomically.</summary>
    public static void Write(string path, IEnumerable<SynthTask> tasks)
    {
        var text = string.Concat(tasks.Select(t => JsonSerializer.Serialize(t, Options) + "\n"));
        AtomicFile.WriteAllText(path, text);
    }

    /// <summary>One task as a JSON line (no newline).</summary>
    public static string ToJsonLine(SynthTask task) => JsonSerializer.Serialize(task, Options);

    /// <summary>
    /// The file's tasks as synthesized tasks when every row carries the synthesis fields (<c>family</c>, <c>split</c>), so
    /// they can be scored by their own reward (<see cref="Rewards.TaskRewardScorer"/>); null for a plain rollout task file
    /// (QUEST's format: id, question, answer, aliases, rubric). Bad lines throw as in <see cref="Read"/>.
    /// </summary>
    public static IReadOnlyList<SynthTask>? ReadIfSynthesized(string path)
    {
        var rows = RolloutTask.ReadRows(path);
        return rows.Count == 0 || rows.Any(r => !r.Row.ContainsKey("family") || !r.Row.ContainsKey("split")) ? null : FromRows(path, rows);
    }

    /// <summary>
    /// Reads and validates a task file through the kit's one strict task reader (<see cref="RolloutTask.ReadRows"/>:
    /// UTF-8, string ids, unique ids, compiling rubrics), then the synthesis fields (split, family, complexity). A bad
    /// line throws <see cref="QuestInputException"/> with file and line.
    /// </summary>
    public static IReadOnlyList<SynthTask> Read(string path) => FromRows(path, RolloutTask.ReadRows(path));

    private static IReadOnlyList<SynthTask> FromRows(string path, IReadOnlyList<(int Line, System.Text.Json.Nodes.JsonObject Row, RolloutTask Task)> rows)
    {
        var list = new List<SynthTask>();
        foreach (var (lineNo, row, _) in rows)
        {
            SynthTask? t;
            try { t = row.Deserialize<SynthTask>(Options); }
            catch (JsonException ex)
            {
                throw new QuestInputException(path, lineNo, null, $"invalid task field: {Quest.Core.JsonFiles.Describe(ex)}", "fields id, family, complexity, question, answer, aliases, rubric, reference, split");
            }
            if (t is null) throw new QuestInputException(path, lineNo, null, "null task");
            if (t.Split is not ("train" or "test"))
                throw new QuestInputException(path, lineNo, null, $"split '{t.Split}'", "train or test");
            list.Add(t);
        }
        return list;
    }
}
