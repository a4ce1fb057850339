using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using Quest.Core;

namespace Quest.Synthesis.Export;

/// <summary>One LlamaFactory ShareGPT turn.</summary>
public sealed record ShareGptTurn
{
    /// <summary><c>human</c>, <c>gpt</c>, or <c>observation</c> (tool results, when <see cref="ShareGptOptions.ToolResultsAsObservation"/>).</summary>
    [JsonPropertyName("from")] public string From { get; init; } = "";
    /// <summary>Text.</summary>
    [JsonPropertyName("value")] public string Value { get; init; } = "";
}

/// <summary>One LlamaFactory ShareGPT sample.</summary>
public sealed record ShareGptSample
{
    /// <summary>Alternating turns, starting with a human turn and ending with a gpt turn.</summary>
    [JsonPropertyName("conversations")] public IReadOnlyList<ShareGptTurn> Conversations { get; init; } = [];
    /// <summary>System prompt.</summary>
    [JsonPropertyName("system")] public string System { get; init; } = "";
    /// <summary>Tool schemas as a JSON string (LlamaFactory's <c>tools</c> column); "" when the system prompt already lists them.</summary>
    [JsonPropertyName("tools")] public string Tools { get; init; } = "";
}

/// <summary>ShareGPT export options.</summary>
public sealed record ShareGptOptions
{
    /// <summary>
    /// Map tool-response user turns to <c>observation</c> (LlamaFactory's tool role) instead of <c>human</c>. Off by
    /// default: QUEST's protocol sends tool results back as user turns wrapped in <c>&lt;tool_response&gt;</c>.
    /// </summary>
    public bool ToolResultsAsObservation { get; init; }
    /// <summary>Tool schemas to write into the <c>tools</c> column (JSON list). Null: leave it empty (the system prompt lists them).</summary>
    public string? ToolsJson { get; init; }
    /// <summary>Dataset name written into the accompanying <c>dataset_info.json</c>.</summary>
    public string DatasetName { get; init; } = "quest_sft";
}

/// <summary>Writes and validates LlamaFactory ShareGPT JSON files for SFT.</summary>
public static class ShareGpt
{
    private static readonly JsonSerializerOptions Json = new(TaskFile.Options) { WriteIndented = true };

    /// <summary>
    /// Converts a transcript (system, user question, then assistant / tool-response turns) to a sample. Fails on a
    /// transcript that does not alternate user/assistant or does not end with an assistant turn.
    /// </summary>
    public static ShareGptSample ToSample(IReadOnlyList<ChatTurn> messages, ShareGptOptions? options = null)
    {
        options ??= new ShareGptOptions();
        var system = messages.Count > 0 && messages[0].Role == "system" ? messages[0].Content : "";
        var turns = new List<ShareGptTurn>();
        foreach (var m in messages.SkipWhile(m => m.Role == "system"))
        {
            string from = m.Role switch
            {
                "user" when options.ToolResultsAsObservation && turns.Count > 0 && m.Content.TrimStart().StartsWith(Protocol.ToolResponseOpen, StringComparison.Ordinal) => "observation",
                "user" => "human",
                "assistant" => "gpt",
                _ => throw new ArgumentException($"unsupported role '{m.Role}' in a transcript"),
            };
            turns.Add(new ShareGptTurn { From = from, Value = m.Content });
        }
        Validate(turns, "transcript");
        return new ShareGptSample { Conversations = turns, System = system, Tools = options.ToolsJson ?? "" };
    }

    private static void Validate(IReadOnlyList<ShareGptTurn> turns, string where, int? line = null)
    {
        if (turns.Count < 2) throw new QuestInputException(where, line, null, "fewer than two turns", "human, gpt, …");
        for (int i = 0; i < turns.Count; i++)
        {
            bool odd = i % 2 == 0; // LlamaFactory: positions 0,2,4… are human/observation, 1,3,5… gpt
            var ok = odd ? turns[i].From is "human" or "observation" : turns[i].From == "gpt";
            if (!ok) throw new QuestInputException(where, line, null, $"turn {i} is '{turns[i].From}'", odd ? "human or observation" : "gpt");
        }
        if (turns[^1].From != "gpt") throw new QuestInputException(where, line, null, "last turn is not gpt", "a gpt turn at the end");
    }

    /// <summary>
    /// Writes the samples as one JSON array (atomically) plus a <c>dataset_info.json</c> beside it describing the
    /// columns for LlamaFactory, then reads the file back and validates it; returns the samples read.
    /// </summary>
    public static IReadOnlyList<ShareGptSample> Write(string path, IEnumerable<ShareGptSample> samples, ShareGptOptions? options = null)
    {
        options ??= new ShareGptOptions();
        var list = samples.ToList();
        AtomicFile.WriteAllText(path, JsonSerializer.Serialize(list, Json));
        var columns = new JsonObject { ["messages"] = "conversations", ["system"] = "system" };
        if (options.ToolsJson is not null) columns["tools"] = "tools";
        var info = new JsonObject
        {
            [options.DatasetName] = new JsonObject
            {
                ["file_name"] = Path.GetFileName(path),
                ["formatting"] = "sharegpt",
                ["columns"] = columns,
                ["tags"] = new JsonObject
                {
                    ["role_tag"] = "from", ["content_tag"] = "value", ["user_tag"] = "human", ["assistant_tag"] = "gpt",
                    ["observation_tag"] = "observation", ["system_tag"] = "system",
                },
            },
        };
        AtomicFile.WriteAllText(Path.Combine(Path.GetDirectoryName(Path.GetFullPath(path))!, "dataset_info.json"), info.ToJsonString(JsonFiles.Indented));
        var back = Read(path);
        if (back.Count != list.Count) throw new InvalidDataException($"{path}: wrote {list.Count} samples, read back {back.Count}");
        return back;
    }

    /// <summary>Reads a ShareGPT file and validates every sample (alternating human/gpt, ending with gpt).</summary>
    public static IReadOnlyList<ShareGptSample> Read(string path)
    {
        if (!File.Exists(path)) throw new QuestInputException(path, null, null, "file not found");
        List<ShareGptSample>? list;
        try { list = JsonSerializer.Deserialize<List<ShareGptSample>>(File.ReadAllText(path), Json); }
        catch (JsonException ex) { throw new QuestInputException(path, ex.LineNumber + 1, ex.BytePositionInLine + 1, Quest.Core.JsonFiles.Describe(ex), "a JSON array of {conversations, system, tools}"); }
        if (list is null) throw new QuestInputException(path, 1, null, "null", "a JSON array");
        for (int i = 0; i < list.Count; i++) Validate(list[i].Conversations, $"{path} (sample {i})");
        return list;
    }
}
