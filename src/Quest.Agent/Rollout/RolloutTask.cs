using System.Text.Json;
using System.Text.Json.Nodes;
using Quest.Core;

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

    /// <summary>Reads a task file, with errors naming file and line; duplicate ids are an error.</summary>
    public static IReadOnlyList<RolloutTask> ReadFile(string path)
    {
        if (!File.Exists(path)) throw new QuestInputException(path, null, null, "task file not found", "a JSONL file with one {\"id\", \"question\", …} object per line");
        var lines = File.ReadAllLines(path);
        var tasks = new List<RolloutTask>();
        var ids = new Dictionary<string, int>();
        for (int i = 0; i < lines.Length; i++)
        {
            if (string.IsNullOrWhiteSpace(lines[i])) continue;
            JsonObject row;
            try { row = JsonNode.Parse(lines[i]) as JsonObject ?? throw new QuestInputException(path, i + 1, null, "the line is not a JSON object", "{\"id\": …, \"question\": …}"); }
            catch (JsonException ex) { throw new QuestInputException(path, i + 1, ex.BytePositionInLine + 1, $"invalid JSON: {ex.Message}", "one JSON object per line", ex); }
            var t = FromJson(row, path, i + 1);
            if (ids.TryGetValue(t.Id, out var first)) throw new QuestInputException(path, i + 1, null, $"duplicate task id '{t.Id}' (first on line {first})", "unique ids");
            ids[t.Id] = i + 1;
            tasks.Add(t);
        }
        if (tasks.Count == 0) throw new QuestInputException(path, null, null, "the task file has no tasks");
        return tasks;
    }

    /// <summary>Reads one row.</summary>
    public static RolloutTask FromJson(JsonObject row, string? source = null, int? line = null)
    {
        string? Str(string key)
        {
            var n = row[key];
            if (n is null) return null;
            if (n is JsonValue v && v.TryGetValue<string>(out var s)) return s;
            if (n is JsonValue num && (num.GetValueKind() == JsonValueKind.Number)) return num.ToJsonString();
            throw new QuestInputException(source, line, null, $"\"{key}\" must be a string", $"\"{key}\": \"…\"");
        }
        var question = Str("question");
        if (string.IsNullOrWhiteSpace(question)) throw new QuestInputException(source, line, null, "missing \"question\"", "a non-empty \"question\" string");
        var id = Str("id") ?? Str("task_id") ?? Str("filename") ?? ResearchAgent.StableId(question);
        var aliases = new List<string>();
        if (row["aliases"] is JsonArray arr)
            foreach (var a in arr) if (a is JsonValue av && av.TryGetValue<string>(out var s) && !string.IsNullOrWhiteSpace(s)) aliases.Add(s);
        return new RolloutTask
        {
            Id = id, Question = question, Answer = Str("answer"), Aliases = aliases,
            Rubric = row["rubric"]?.DeepClone(), Extra = (JsonObject)row.DeepClone(),
        };
    }
}
