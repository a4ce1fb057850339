using Quest.Core;
using Quest.Models.Training;
using Xunit;

namespace Quest.Models.Tests;

public class StageConfigTests
{
    [Fact]
    public void JsonAndYamlConfigsReadTheSameAndResolvePaths()
    {
        var dir = Fixtures.TempDir();
        var json = Path.Combine(dir, "s.json");
        File.WriteAllText(json, """
            { "stage": "sft", "data": ["t.jsonl"], "init": "../pre", "training": { "steps": 7, "batch_size": 3, "seq_len": 64, "schedule": "linear", "grad_accum": 2 } }
            """);
        var yaml = Path.Combine(dir, "s.yaml");
        File.WriteAllText(yaml, "stage: sft\ndata: [t.jsonl]\ninit: ../pre\ntraining:\n  steps: 7\n  batch_size: 3\n  seq_len: 64\n  schedule: linear\n  grad_accum: 2\n");
        foreach (var p in new[] { json, yaml })
        {
            var c = StageConfig.Load(p);
            Assert.Equal("sft", c.Stage);
            Assert.Equal(7, c.Training.Steps);
            Assert.Equal(3, c.Training.BatchSize);
            Assert.Equal(2, c.Training.GradAccum);
            Assert.Equal(LrSchedule.Linear, c.Training.Schedule);
            Assert.Equal(Path.Combine(dir, "t.jsonl"), c.Resolve(c.Data[0]));
            Assert.Equal(Path.GetFullPath(Path.Combine(dir, "..", "pre")), c.Resolve(c.Init!));
        }
    }

    [Fact]
    public void UnknownKeysAndBadValuesNameFileAndLine()
    {
        var dir = Fixtures.TempDir();
        var json = Path.Combine(dir, "bad.json");
        File.WriteAllText(json, "{\n  \"stage\": \"pretrain\",\n  \"data\": [\"x\"],\n  \"trainin\": {}\n}");
        var ex = Assert.Throws<QuestInputException>(() => StageConfig.Load(json));
        Assert.Contains("bad.json", ex.Message);
        Assert.Contains("trainin", ex.Message);
        var yaml = Path.Combine(dir, "bad.yaml");
        File.WriteAllText(yaml, "stage: pretrain\ndata: [x]\ntraining:\n  steps: many\n");
        var ey = Assert.Throws<QuestInputException>(() => StageConfig.Load(yaml));
        Assert.Equal(4, ey.Line);
        File.WriteAllText(yaml, "stage: rl\ndata: [x]\n");
        Assert.Contains("unknown stage 'rl'", Assert.Throws<QuestInputException>(() => StageConfig.Load(yaml)).Message);
    }
}
