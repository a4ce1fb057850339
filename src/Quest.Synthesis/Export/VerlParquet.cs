using System.Text.Json;
using System.Text.Json.Serialization;
using Parquet.Serialization;
using Quest.Core;

namespace Quest.Synthesis.Export;

/// <summary>One chat message of a verl prompt (<c>{role, content}</c>).</summary>
public sealed class VerlMessage
{
    /// <summary><c>system</c> or <c>user</c>.</summary>
    [JsonPropertyName("role")] public string Role { get; set; } = "";
    /// <summary>Message text.</summary>
    [JsonPropertyName("content")] public string Content { get; set; } = "";
}

/// <summary><c>reward_model.ground_truth</c>: everything the reward function needs to score a response.</summary>
public sealed class VerlGroundTruth
{
    /// <summary><c>objective</c> or <c>open-ended</c> (QUEST's DATA_KIND filter reads this field).</summary>
    [JsonPropertyName("type")] public string Type { get; set; } = "";
    /// <summary>Task id (QUEST looks up <c>eval_scripts/&lt;task_id&gt;.py</c>; here the rubric travels inline).</summary>
    [JsonPropertyName("task_id")] public string TaskId { get; set; } = "";
    /// <summary>Gold short answer.</summary>
    [JsonPropertyName("answer")] public string Answer { get; set; } = "";
    /// <summary>Accepted alternative answers.</summary>
    [JsonPropertyName("aliases")] public List<string> Aliases { get; set; } = [];
    /// <summary>Reference answer text (the pairwise reference for open-ended tasks).</summary>
    [JsonPropertyName("ref_answer")] public string RefAnswer { get; set; } = "";
    /// <summary>The rubric tree as a JSON string (the rubric room's form).</summary>
    [JsonPropertyName("rubric")] public string Rubric { get; set; } = "";
    /// <summary>Report criteria as a JSON string ("" for objective tasks).</summary>
    [JsonPropertyName("criteria")] public string Criteria { get; set; } = "";
    /// <summary>Whether the inline-citation part of the reward applies.</summary>
    [JsonPropertyName("need_citation")] public bool NeedCitation { get; set; }
}

/// <summary><c>reward_model</c> column.</summary>
public sealed class VerlRewardModel
{
    /// <summary><c>rule</c> for objective rubric trees, <c>model</c> for judge-scored open-ended tasks.</summary>
    [JsonPropertyName("style")] public string Style { get; set; } = "rule";
    /// <summary>Ground truth.</summary>
    [JsonPropertyName("ground_truth")] public VerlGroundTruth GroundTruth { get; set; } = new();
}

/// <summary><c>extra_info</c> column.</summary>
public sealed class VerlExtraInfo
{
    /// <summary>Row index.</summary>
    [JsonPropertyName("index")] public long Index { get; set; }
    /// <summary>train/test.</summary>
    [JsonPropertyName("split")] public string Split { get; set; } = "";
    /// <summary>Task id.</summary>
    [JsonPropertyName("task_id")] public string TaskId { get; set; } = "";
    /// <summary>Reward type (duplicated here as QUEST also filters on <c>extra_info.type</c>).</summary>
    [JsonPropertyName("type")] public string Type { get; set; } = "";
    /// <summary>Task family.</summary>
    [JsonPropertyName("family")] public string Family { get; set; } = "";
    /// <summary>Complexity class C1…C9 (the curriculum sampler's arm).</summary>
    [JsonPropertyName("complexity")] public string Complexity { get; set; } = "";
    /// <summary>The raw question.</summary>
    [JsonPropertyName("question")] public string Question { get; set; } = "";
    /// <summary>Corpus name.</summary>
    [JsonPropertyName("corpus")] public string Corpus { get; set; } = "";
}

/// <summary>One verl RL row: <c>prompt</c> (chat messages), <c>data_source</c>, <c>ability</c>, <c>reward_model</c>, <c>extra_info</c>.</summary>
public sealed class VerlRow
{
    /// <summary>Where the row comes from, e.g. <c>quest/world/multihop</c>.</summary>
    [JsonPropertyName("data_source")] public string DataSource { get; set; } = "";
    /// <summary>The prompt: [system, user].</summary>
    [JsonPropertyName("prompt")] public List<VerlMessage> Prompt { get; set; } = [];
    /// <summary>Ability tag (verl convention).</summary>
    [JsonPropertyName("ability")] public string Ability { get; set; } = "deep_research";
    /// <summary>Reward model spec.</summary>
    [JsonPropertyName("reward_model")] public VerlRewardModel RewardModel { get; set; } = new();
    /// <summary>Extra info.</summary>
    [JsonPropertyName("extra_info")] public VerlExtraInfo ExtraInfo { get; set; } = new();
}

/// <summary>
/// Exports tasks as verl-style parquet (the RL trainer's input) and reads them back to validate the file.
/// </summary>
public static class VerlParquet
{
    /// <summary>Builds the row for one task. <paramref name="systemPrompt"/> is the agent's system prompt (with the date).</summary>
    public static VerlRow ToRow(SynthTask task, string systemPrompt, long index)
    {
        var open = task.Type == TaskTypes.OpenEnded;
        return new VerlRow
        {
            DataSource = $"quest/{(string.IsNullOrEmpty(task.Corpus) ? "corpus" : task.Corpus)}/{task.Family}",
            Prompt =
            [
                new VerlMessage { Role = "system", Content = systemPrompt },
                new VerlMessage { Role = "user", Content = task.Question },
            ],
            RewardModel = new VerlRewardModel
            {
                Style = open ? "model" : "rule",
                GroundTruth = new VerlGroundTruth
                {
                    Type = task.Type,
                    TaskId = task.Id,
                    Answer = task.Answer,
                    Aliases = task.Aliases.ToList(),
                    RefAnswer = task.Reference.AnswerText,
                    Rubric = task.Rubric?.ToJsonString() ?? "",
                    Criteria = task.Criteria is null ? "" : JsonSerializer.Serialize(task.Criteria, TaskFile.Options),
                    NeedCitation = task.NeedCitation,
                },
            },
            ExtraInfo = new VerlExtraInfo
            {
                Index = index, Split = task.Split, TaskId = task.Id, Type = task.Type, Family = task.Family,
                Complexity = task.Complexity, Question = task.Question, Corpus = task.Corpus,
            },
        };
    }

    /// <summary>
    /// Writes the tasks as a parquet file (atomically), then reads it back and checks every row; returns the rows read.
    /// </summary>
    public static async Task<IReadOnlyList<VerlRow>> WriteAsync(string path, IEnumerable<SynthTask> tasks, string systemPrompt, CancellationToken ct = default)
    {
        var rows = tasks.Select((t, i) => ToRow(t, systemPrompt, i)).ToList();
        using (var ms = new MemoryStream())
        {
            await ParquetSerializer.SerializeAsync(rows, ms, cancellationToken: ct).ConfigureAwait(false);
            AtomicFile.WriteAllBytes(path, ms.ToArray());
        }
        var back = await ReadAsync(path, ct).ConfigureAwait(false);
        if (back.Count != rows.Count) throw new InvalidDataException($"{path}: wrote {rows.Count} rows, read back {back.Count}");
        for (int i = 0; i < rows.Count; i++)
        {
            var a = rows[i]; var b = back[i];
            if (a.ExtraInfo.TaskId != b.ExtraInfo.TaskId || a.Prompt.Count != b.Prompt.Count || a.Prompt[^1].Content != b.Prompt[^1].Content
                || a.RewardModel.GroundTruth.Rubric != b.RewardModel.GroundTruth.Rubric)
                throw new InvalidDataException($"{path}: row {i} does not read back as written");
        }
        return back;
    }

    /// <summary>Reads a verl parquet file and validates its shape (prompt = [system, user], ground truth present).</summary>
    public static async Task<IReadOnlyList<VerlRow>> ReadAsync(string path, CancellationToken ct = default)
    {
        if (!File.Exists(path)) throw new QuestInputException(path, null, null, "parquet file not found");
        IList<VerlRow> rows;
        try
        {
            await using var fs = File.OpenRead(path);
            rows = (await ParquetSerializer.DeserializeAsync<VerlRow>(fs, cancellationToken: ct).ConfigureAwait(false)).Data;
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            throw new QuestInputException(path, null, null, $"not a verl parquet file: {ex.Message}", "columns prompt, data_source, reward_model, extra_info");
        }
        for (int i = 0; i < rows.Count; i++)
        {
            var r = rows[i];
            if (r.Prompt is null || r.Prompt.Count < 2 || r.Prompt[0].Role != "system" || r.Prompt[^1].Role != "user")
                throw new QuestInputException(path, i + 1, null, "prompt is not [system, user]", "a chat messages list");
            if (r.RewardModel?.GroundTruth is null || string.IsNullOrEmpty(r.RewardModel.GroundTruth.Type))
                throw new QuestInputException(path, i + 1, null, "missing reward_model.ground_truth.type", "objective or open-ended");
        }
        return rows.ToList();
    }
}
