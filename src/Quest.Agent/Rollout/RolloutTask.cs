using System.Text.Json;
using System.Text.Json.Nodes;
using Quest.Core;
using Quest.Rubrics;

namespace Quest.Agent.Rollout;

/// <summary>
/// One task of a rollout file: a JSONL line with <c>id</c> (or <c>task_id</c>), <c>question</c>, and optionally
/// <c>answer</c>, <c>aliases</c> and <c>rubric</c> (the rubric tree JSON, scored by the rubric room). Other fields
/// (family, reference, …) are kept in <see cref="Extra"/> untouched. QUEST's rows (<c>question</c>/<c>answer</c>,
/// id from <c>task_id</c> or <c>filename</c>) read as they are.
/// </summary>
public sealed record RolloutTask
{
    /// <summary>Task id (unique within the file).</summary>
    public required string Id { get; init; }
    /// <summary>The question the agent sees.</summary>
    public required string Question { get; init; }
    /// <summary>Gold answer, or null.</summary>
    public string? Answer { get; init; }
    /// <summary>Accepted spellings of the answer.</summary>
    public IReadOnlyList<string> Aliases { get; init; } = [];
    /// <summary>The rubric tree as JSON, or null.</summary>
    public JsonNode? Rubric { get; init; }
    /// <summary>The whole input row.</summary>
    public JsonObject Extra { get; init; } = new();

    /// <summary>
    /// The kit's one task-file reader (rollout, eval, <c>synth verify</c> and <c>synth export</c> all read through it):
    /// strict UTF-8 (<see cref="Utf8Text"/>), one JSON object per line, a string id (<c>id</c>, <c>task_id</c> or
    /// <c>filename</c>), a non-empty string question, string answer and aliases, a rubric that compiles as a rubric tree,
    /// and unique ids. Every violation throws <see cref="QuestInputException"/> naming the file, line and field.
    /// </summary>
    public static IReadOnlyList<(int Line, JsonObject Row, RolloutTask Task)> ReadRows(string path)
    {
        var lines = Utf8Text.ReadLines(path, "a JSONL file with one {\"id\", \"question\", …} object per line");
        var rows = new List<(int, JsonObject, RolloutTask)>();
        var ids = new Dictionary<string, int>();
        for (int i = 0; i < lines.Length; i++)
        {
            if (string.IsNullOrWhiteSpace(lines[i])) continue;
            JsonObject row;
            try { row = JsonNode.Parse(lines[i]) as JsonObject ?? throw new QuestInputException(path, i + 1, null, "the line is not a JSON object", "{\"id\": …, \"question\": …}"); }
            catch (JsonException ex) { throw new QuestInputException(path, i + 1, ex.BytePositionInLine + 1, $"invalid JSON: {Quest.Core.JsonFiles.Describe(ex)}", "one JSON object per line", ex); }
            var t = FromJson(row, path, i + 1);
            if (ids.TryGetValue(t.Id, out var first)) throw new QuestInputException(path, i + 1, null, $"duplicate task id '{t.Id}' (first on line {first})", "unique ids");
            ids[t.Id] = i + 1;
            rows.Add((i + 1, row, t));
        }
        if (rows.Count == 0) throw new QuestInputException(path, null, null, "the task file has no tasks");
        return rows;
    }

    /// <summary>Reads a task file through <see cref="ReadRows"/>.</summary>
    public static IReadOnlyList<RolloutTask> ReadFile(string path) => ReadRows(path).Select(r => r.Task).ToList();

    /// <summary>Reads and checks one row (see <see cref="ReadRows"/> for the rules).</summary>
    public static RolloutTask FromJson(JsonObject row, string? source = null, int? line = null)
    {
        string? Str(string key)
        {
            var n = row[key];
            if (n is null) return row.ContainsKey(key) ? throw new QuestInputException(source, line, null, $"\"{key}\" is null", $"\"{key}\": \"…\" (or leave it out)") : null;
            if (n is JsonValue v && v.TryGetValue<string>(out var s)) return s;
            throw new QuestInputException(source, line, null, $"\"{key}\" is a {n.GetValueKind().ToString().ToLowerInvariant()}", $"\"{key}\": \"…\" (a string)");
        }
        Str("corpus");   // a task line names its corpus as a string, as quest synth verify and export require
        var question = Str("question");
        if (string.IsNullOrWhiteSpace(question)) throw new QuestInputException(source, line, null, "missing \"question\"", "a non-empty \"question\" string");
        var id = Str("id") ?? Str("task_id") ?? Str("filename");
        if (string.IsNullOrWhiteSpace(id)) throw new QuestInputException(source, line, null, "missing task id", "a non-empty string \"id\" (or \"task_id\" / \"filename\")");
        var aliases = new List<string>();
        switch (row["aliases"])
        {
            case null when !row.ContainsKey("aliases"): break;
            case JsonArray arr:
                foreach (var a in arr)
                    aliases.Add(a is JsonValue av && av.TryGetValue<string>(out var s) ? s
                        : throw new QuestInputException(source, line, null, "an alias is not a string", "\"aliases\": [\"…\", …]"));
                break;
            default: throw new QuestInputException(source, line, null, "\"aliases\" is not a list", "\"aliases\": [\"…\", …]");
        }
        var rubric = row["rubric"];
        if (rubric is not null || row.ContainsKey("rubric"))
        {
            if (rubric is not JsonObject) throw new QuestInputException(source, line, null, $"\"rubric\" of task '{id}' is {(rubric is null ? "null" : "a " + rubric.GetValueKind().ToString().ToLowerInvariant())}", "a rubric tree object (or no \"rubric\" key)");
            try { RubricTree.FromQuestJson(rubric.ToJsonString(), null, $"task {id} rubric"); }
            catch (QuestInputException ex) { throw new QuestInputException(source, line, null, $"the rubric of task '{id}' is invalid: {ex.Problem}", ex.Expected, ex); }
        }
        return new RolloutTask
        {
            Id = id, Question = question, Answer = Str("answer"), Aliases = aliases,
            Rubric = rubric?.DeepClone(), Extra = (JsonObject)row.DeepClone(),
        };
    }
}
