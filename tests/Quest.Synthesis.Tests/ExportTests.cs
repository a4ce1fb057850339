using System.Text.Json.Nodes;
using Quest.Core;
using Quest.Synthesis;
using Quest.Synthesis.Export;
using Xunit;

namespace Quest.Synthesis.Tests;

public class ExportTests
{
    internal static SynthTask Sample(int i) => new()
    {
        Id = $"multihop-test-{i}", Family = "multihop", Complexity = "C2", Question = $"Who founded thing {i}?", Answer = "Jane Smith",
        Aliases = ["J. Smith"], Rubric = JsonNode.Parse("""{"node_name":"root","description":"r","children":[{"node_name":"names","description":"names Jane Smith"}]}"""), Split = i % 2 == 0 ? "train" : "test",
        Corpus = "world", SeedEntity = $"e{i}",
        Reference = new TaskReference { AnswerText = "Jane Smith [1]", Steps = [new SolutionStep { Query = "thing", Url = "https://w/x" }] },
    };

    [Fact]
    public void Task_jsonl_round_trips_and_reports_bad_lines()
    {
        var dir = Directory.CreateTempSubdirectory();
        var path = Path.Combine(dir.FullName, "tasks.jsonl");
        TaskFile.Write(path, [Sample(0), Sample(1)]);
        var back = TaskFile.Read(path);
        Assert.Equal(2, back.Count);
        Assert.Equal("Jane Smith", back[1].Answer);
        Assert.Equal("test", back[1].Split);
        Assert.Equal("https://w/x", back[0].Reference.Steps[0].Url);
        var line = File.ReadLines(path).First();
        foreach (var field in new[] { "\"id\"", "\"family\"", "\"complexity\"", "\"question\"", "\"answer\"", "\"aliases\"", "\"rubric\"", "\"reference\"", "\"split\"" })
            Assert.Contains(field, line);
        File.AppendAllText(path, "{not json\n");
        var ex = Assert.Throws<QuestInputException>(() => TaskFile.Read(path));
        Assert.Equal(3, ex.Line);

        // synth verify and export read through the rollout's strict reader: a duplicate id or a rubric that is not a tree fails.
        TaskFile.Write(path, [Sample(0), Sample(0)]);
        Assert.Contains("duplicate task id", Assert.Throws<QuestInputException>(() => TaskFile.Read(path)).Message);
        File.WriteAllText(path, TaskFile.ToJsonLine(Sample(0)).Replace("\"rubric\":{", "\"rubric\":\"x\",\"r\":{") + "\n");
        Assert.Contains("\"rubric\" of task 'multihop-test-0' is a string", Assert.Throws<QuestInputException>(() => TaskFile.Read(path)).Message);
    }

    [Fact]
    public async Task Verl_parquet_reads_back()
    {
        var path = Path.Combine(Directory.CreateTempSubdirectory().FullName, "train.parquet");
        var rows = await VerlParquet.WriteAsync(path, [Sample(0), Sample(1), Sample(2)], "SYSTEM", TestContext.Current.CancellationToken);
        Assert.Equal(3, rows.Count);
        var again = await VerlParquet.ReadAsync(path, TestContext.Current.CancellationToken);
        Assert.Equal("Who founded thing 2?", again[2].Prompt[1].Content);
        Assert.Equal("system", again[2].Prompt[0].Role);
        Assert.Equal("objective", again[0].RewardModel.GroundTruth.Type);
        Assert.Equal(["J. Smith"], again[0].RewardModel.GroundTruth.Aliases);
        Assert.Equal("quest/world/multihop", again[1].DataSource);
        Assert.Equal(1, again[1].ExtraInfo.Index);
        Assert.Contains("root", again[0].RewardModel.GroundTruth.Rubric);
    }

    [Fact]
    public async Task Verl_read_rejects_non_parquet()
    {
        var path = Path.Combine(Directory.CreateTempSubdirectory().FullName, "x.parquet");
        File.WriteAllText(path, "hello");
        await Assert.ThrowsAsync<QuestInputException>(() => VerlParquet.ReadAsync(path, TestContext.Current.CancellationToken));
    }

    [Fact]
    public void ShareGpt_writes_reads_and_validates()
    {
        var dir = Directory.CreateTempSubdirectory().FullName;
        var path = Path.Combine(dir, "sft.json");
        IReadOnlyList<ChatTurn> t =
        [
            new("system", "SYS"), new("user", "Q"), new("assistant", "<think>a</think>\n<tool_call>\n{}\n</tool_call>"),
            new("user", "<tool_response>\nR\n</tool_response>"), new("assistant", "<answer>A</answer>"),
        ];
        var sample = ShareGpt.ToSample(t);
        Assert.Equal(["human", "gpt", "human", "gpt"], sample.Conversations.Select(c => c.From));
        Assert.Equal("SYS", sample.System);
        var obs = ShareGpt.ToSample(t, new ShareGptOptions { ToolResultsAsObservation = true });
        Assert.Equal("observation", obs.Conversations[2].From);
        var back = ShareGpt.Write(path, [sample, obs]);
        Assert.Equal(2, back.Count);
        Assert.True(File.Exists(Path.Combine(dir, "dataset_info.json")));
        Assert.Contains("sharegpt", File.ReadAllText(Path.Combine(dir, "dataset_info.json")));
        Assert.Throws<ArgumentException>(() => ShareGpt.ToSample([new("user", "Q"), new("tool", "x")]));
        Assert.Throws<QuestInputException>(() => ShareGpt.ToSample([new("user", "Q"), new("user", "x")]));
        File.WriteAllText(path, """[{"conversations":[{"from":"gpt","value":"x"},{"from":"human","value":"y"}]}]""");
        Assert.Throws<QuestInputException>(() => ShareGpt.Read(path));
    }
}
