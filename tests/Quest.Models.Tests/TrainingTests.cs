using Quest.Core;
using Quest.Models.Checkpoints;
using Quest.Models.Generation;
using Quest.Models.Tokenization;
using Quest.Models.Training;
using Quest.Models.Transformer;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace Quest.Models.Tests;

public class TrainingTests
{
    private static TrainingOptions Quick(int steps, string? dir = null) => new()
    {
        Steps = steps, BatchSize = 8, SeqLen = 32, LearningRate = 1e-2, WarmupSteps = 2, EvalEvery = 0, EvalBatches = 2,
        CheckpointEvery = 0, OutputDir = dir, Device = "cpu", Seed = 11,
    };

    [Fact]
    public async Task LossFallsOnALearnableStream()
    {
        // a periodic stream: token t+1 follows t (mod 10): perfectly predictable
        var tokens = Enumerable.Range(0, 4000).Select(i => 256 + i % 10).ToArray();
        var tok = Fixtures.Tokenizer;
        using var m = new QuestTransformer(Fixtures.TinyConfig(tok.VocabSize), seed: 1);
        var trainer = new Trainer(m, tok, new PackedTokenStream(tokens), Quick(40), "toy");
        var reports = await trainer.RunToEndAsync(ct: TestContext.Current.CancellationToken);
        Assert.Equal(40, reports.Count);
        Assert.True(reports[^1].Loss < 0.5 * reports[0].Loss, $"first {reports[0].Loss:0.000} last {reports[^1].Loss:0.000}");
        Assert.NotNull(reports[^1].EvalLoss);
        Assert.True(reports[^1].EvalLoss < 1.0, $"eval {reports[^1].EvalLoss}");
        Assert.Matches(@"^toy step \d+/40 loss \d+\.\d{4} lr \d\.\d\de[+-]\d\d gnorm +\d+\.\d{3} tok/s +\d+ ms +\d+\.\d eval \d+\.\d{4}$", reports[^1].ToString());
    }

    /// <summary>Records on which thread the trainer asks for its batches.</summary>
    private sealed class ThreadRecordingData(ITrainingData inner) : ITrainingData
    {
        public readonly System.Collections.Concurrent.ConcurrentBag<(int Thread, bool IsTorchThread)> Calls = [];
        public (Tensor Input, Tensor Target) Batch(int batchSize, int seqLen, long seed, int step, int micro, Device device)
        {
            Calls.Add((Environment.CurrentManagedThreadId, Quest.Models.Runtime.TorchThread.IsCurrent));
            return inner.Batch(batchSize, seqLen, seed, step, micro, device);
        }
        public IEnumerable<(Tensor Input, Tensor Target)> EvalBatches(int batchSize, int seqLen, int count, Device device) => inner.EvalBatches(batchSize, seqLen, count, device);
        public long TrainTokens => inner.TrainTokens;
    }

    [Fact]
    public async Task EveryTrainingStepRunsOnTheTorchThread()
    {
        // the async loop resumes on thread-pool threads; its steps must not (each would get an OpenMP team of its own)
        var tok = Fixtures.Tokenizer;
        using var m = new QuestTransformer(Fixtures.TinyConfig(tok.VocabSize), seed: 1);
        var data = new ThreadRecordingData(new PackedTokenStream(Enumerable.Range(0, 2000).Select(i => 256 + i % 7).ToArray()));
        await new Trainer(m, tok, data, Quick(6) with { GradAccum = 2 }, "toy").RunToEndAsync(ct: TestContext.Current.CancellationToken);
        Assert.Equal(12, data.Calls.Count);
        Assert.All(data.Calls, c => Assert.True(c.IsTorchThread));
        Assert.Single(data.Calls.Select(c => c.Thread).Distinct());
    }

    [Fact]
    public async Task EveryParameterChangesAfterOneStep()
    {
        var tok = Fixtures.Tokenizer;
        using var m = new QuestTransformer(Fixtures.TinyConfig(tok.VocabSize, tied: false), seed: 2);
        var before = m.named_parameters().ToDictionary(p => p.name, p => p.parameter.detach().clone());
        var trainer = Trainer.Pretrain(m, tok, Fixtures.Corpus, Quick(1));
        await trainer.RunToEndAsync(ct: TestContext.Current.CancellationToken);
        foreach (var (name, p) in m.named_parameters())
            Assert.True(p.detach().ne(before[name]).all().item<bool>(), $"{name}: not every element changed");
    }

    [Fact]
    public void MetricsAreWrittenSnakeCaseAndOldCamelCaseFilesStillRead()
    {
        var dir = Directory.CreateTempSubdirectory("quest-metrics-").FullName;
        try
        {
            var path = Path.Combine(dir, "metrics.jsonl");
            var r = new StepReport { Stage = "sft", Step = 3, TotalSteps = 10, Loss = double.NaN, LearningRate = 1e-3, GradNorm = 0.5, Tokens = 100, TokensPerSecond = 50, StepMs = 20, EvalLoss = 1.25 };
            Jsonl.Append(path, r, Trainer.MetricsJson);
            var line = File.ReadAllText(path);
            Assert.Contains("\"eval_loss\":1.25", line);
            Assert.Contains("\"total_steps\":10", line);
            Assert.Contains("\"loss\":\"NaN\"", line);                 // a diverged loss is still written
            // a metrics file from before the snake_case convention (camelCase keys)
            File.AppendAllText(path, "{\"stage\":\"sft\",\"step\":4,\"totalSteps\":10,\"loss\":2.5,\"learningRate\":0.001,\"gradNorm\":0.4,\"tokens\":200,\"tokensPerSecond\":60,\"stepMs\":21,\"evalLoss\":1.5}\n");
            var back = Jsonl.Read<StepReport>(path, options: Trainer.MetricsJson, legacyKeys: true).ToList();
            Assert.Equal([3, 4], back.Select(x => x.Step));
            Assert.Equal([1.25, 1.5], back.Select(x => x.EvalLoss!.Value));
            Assert.Equal(10, back[1].TotalSteps);
            Assert.True(double.IsNaN(back[0].Loss));
        }
        finally { Directory.Delete(dir, true); }
    }

    [Fact]
    public void SchedulesWarmUpAndDecay()
    {
        var o = new TrainingOptions { Steps = 100, WarmupSteps = 10, LearningRate = 1.0, MinLrRatio = 0.1 };
        Assert.Equal(0.1, o.LearningRateAt(1), 6);
        Assert.Equal(1.0, o.LearningRateAt(10), 6);
        Assert.Equal(0.1, o.LearningRateAt(100), 6);
        Assert.Equal(0.55, o.LearningRateAt(55), 6);                                   // cosine midpoint
        Assert.Equal(0.55, (o with { Schedule = LrSchedule.Linear }).LearningRateAt(55), 6);
        Assert.True(o.LearningRateAt(30) > (o with { Schedule = LrSchedule.Linear }).LearningRateAt(30));
        var shortRun = new TrainingOptions { Steps = 5, WarmupSteps = 20, LearningRate = 1.0 };   // warm-up longer than the run
        Assert.Equal(1.0, shortRun.LearningRateAt(1), 6);
        Assert.True(shortRun.LearningRateAt(5) < 1.0);
    }

    [Fact]
    public void SftTargetsAreOnlyAssistantTokens()
    {
        var tok = Fixtures.Tokenizer;
        var t = new List<ChatTurn> { new("user", "Who?"), new("assistant", "<answer>Mara</answer>") };
        foreach (var kind in AgentView.Kinds)
        {
            var data = new ChatSftData([t], ChatTemplate.View(tok, kind), 64);
            var (x, y) = data.Batch(1, 64, 1, 1, 0, CPU);
            var ys = y.data<long>().ToArray().Where(v => v != -100).Select(v => (int)v);
            Assert.Equal("<answer>Mara</answer><|im_end|>", tok.Decode(ys));
        }
    }

    [Fact]
    public void LengthGroupedSftBatchesShareOutOneDrawByLength()
    {
        var tok = Fixtures.Tokenizer;
        // transcripts of many lengths: one example per assistant turn
        var transcripts = Enumerable.Range(1, 24).Select(n => (IReadOnlyList<ChatTurn>)new List<ChatTurn>
        {
            new("user", "Who founded " + string.Join(" ", Enumerable.Repeat("the old", n)) + " Gazette?"),
            new("assistant", $"<answer>Mara {n}</answer>"),
        }).ToList();
        var view = ChatTemplate.View(tok, AgentView.QuestionRecent);
        var plain = new ChatSftData(transcripts, view, 256);
        var grouped = new ChatSftData(transcripts, view, 256, lengthGroup: 8);
        Assert.Equal(1, plain.LengthGroup);
        Assert.Throws<ArgumentOutOfRangeException>(() => new ChatSftData(transcripts, view, 256, lengthGroup: 0));
        int Len(int i) => grouped.Examples[i].Ids.Length;

        // a pure function of (seed, step, micro): a resumed run sees the same batches
        Assert.Equal(grouped.BatchIndices(4, 7, 13, 0), grouped.BatchIndices(4, 7, 13, 0));
        Assert.NotEqual(grouped.BatchIndices(4, 7, 13, 0), grouped.BatchIndices(4, 7, 13, 1));

        // the 8 batches of one block cut one sorted draw: their length ranges do not overlap
        var block = Enumerable.Range(16, 8).Select(step => grouped.BatchIndices(4, 7, step, 0).Select(Len).ToArray()).OrderBy(b => b.Min()).ToList();
        for (int k = 1; k < block.Count; k++) Assert.True(block[k - 1].Max() <= block[k].Min(), $"batch {k - 1} reaches {block[k - 1].Max()}, batch {k} starts at {block[k].Min()}");

        // padding (to each batch's longest row) falls, and every example is still drawn
        long Padding(ChatSftData d) => Enumerable.Range(1, 400).Sum(step => { var l = d.BatchIndices(4, 7, step, 0).Select(i => d.Examples[i].Ids.Length).ToArray(); return (long)l.Sum(x => l.Max() - x); });
        Assert.True(Padding(grouped) * 3 < Padding(plain), $"grouped padding {Padding(grouped)} against {Padding(plain)}");
        var seen = Enumerable.Range(1, 400).SelectMany(step => grouped.BatchIndices(4, 7, step, 0)).ToHashSet();
        Assert.Equal(grouped.Count, seen.Count);
    }

    [Fact]
    public async Task SaveLoadGivesSameOutputsAndResumeContinues()
    {
        var tok = Fixtures.Tokenizer;
        var dir = Path.Combine(Fixtures.TempDir(), "stage");
        using var m = new QuestTransformer(Fixtures.TinyConfig(tok.VocabSize), seed: 3);
        var opts = Quick(4, dir) with { CheckpointEvery = 0 };
        // run 2 of 4 steps, then cancel: the trainer writes a checkpoint before stopping — then resume in a new trainer
        var first = new Trainer(m, tok, new PackedTokenStream(Fixtures.Corpus, tok), opts, "pretrain");
        using var cts = new CancellationTokenSource();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () =>
        {
            await foreach (var r in first.RunAsync(cts.Token)) if (r.Step == 2) cts.Cancel();
        });
        Assert.True(Checkpoint.Exists(dir));
        Assert.Contains("\"step\": 2", File.ReadAllText(Path.Combine(dir, Checkpoint.TrainerStateFile)));
        using (var m2 = new QuestTransformer(Fixtures.TinyConfig(tok.VocabSize), seed: 99))
        {
            var resumed = new Trainer(m2, tok, new PackedTokenStream(Fixtures.Corpus, tok), opts, "pretrain");
            var reports = await resumed.RunToEndAsync(ct: TestContext.Current.CancellationToken);
            Assert.Equal([3, 4], reports.Select(r => r.Step));
            Assert.Equal(4, resumed.History.Count);
        }
        // an uninterrupted 4-step run reaches the same weights
        using var m3 = new QuestTransformer(Fixtures.TinyConfig(tok.VocabSize), seed: 3);
        var straight = new Trainer(m3, tok, new PackedTokenStream(Fixtures.Corpus, tok), opts with { OutputDir = null }, "pretrain");
        var sr = await straight.RunToEndAsync(ct: TestContext.Current.CancellationToken);

        var loaded = Checkpoint.Load(dir, CPU);
        using var _ = no_grad();
        var ids = tensor(tok.Encode("The river town of Alder").Select(i => (long)i).ToArray()).unsqueeze(0);
        m3.eval();
        var a = m3.forward(ids);
        var b = loaded.Model.forward(ids);
        Assert.True(a.allclose(b, rtol: 1e-3, atol: 1e-3), $"max diff {(a - b).abs().max().item<float>()}");
        Assert.Equal(tok.Encode("Alder Gazette"), loaded.Tokenizer.Encode("Alder Gazette"));
        // and generation from the reloaded model equals generation from the saved one
        var g1 = new TextGenerator(m3, tok).Generate("The", new GenerationOptions { Temperature = 0, MaxNewTokens = 8, StopTokenIds = [] });
        var g2 = new TextGenerator(loaded.Model, loaded.Tokenizer).Generate("The", new GenerationOptions { Temperature = 0, MaxNewTokens = 8, StopTokenIds = [] });
        Assert.Equal(g1.TokenIds, g2.TokenIds);
    }

    [Fact]
    public void BadCheckpointsGiveClearErrors()
    {
        var tok = Fixtures.Tokenizer;
        var dir = Path.Combine(Fixtures.TempDir(), "ckpt");
        using var m = new QuestTransformer(Fixtures.TinyConfig(tok.VocabSize), seed: 4);
        Checkpoint.Save(dir, m, tok);
        // wrong shape: a model with a different width
        using var wide = new QuestTransformer(Fixtures.TinyConfig(tok.VocabSize) with { DModel = 64 }, seed: 4);
        var ex = Assert.Throws<QuestInputException>(() => Checkpoint.LoadWeights(wide, Path.Combine(dir, Checkpoint.WeightsFile)));
        Assert.Contains("embed_tokens.weight': file has [400,32], model expects [400,64]", ex.Message);
        // missing / unexpected names: untied model against tied weights
        using var untied = new QuestTransformer(Fixtures.TinyConfig(tok.VocabSize, tied: false), seed: 4);
        var ex2 = Assert.Throws<QuestInputException>(() => Checkpoint.LoadWeights(untied, Path.Combine(dir, Checkpoint.WeightsFile)));
        Assert.Contains("missing tensor 'lm_head.weight'", ex2.Message);
        // truncated file
        var bytes = File.ReadAllBytes(Path.Combine(dir, Checkpoint.WeightsFile));
        File.WriteAllBytes(Path.Combine(dir, Checkpoint.WeightsFile), bytes[..(bytes.Length / 2)]);
        var ex3 = Assert.Throws<QuestInputException>(() => Checkpoint.Load(dir, CPU));
        Assert.Contains("model.safetensors", ex3.Message);
        Assert.Contains("outside", ex3.Message);
        // missing directory
        Assert.Throws<QuestInputException>(() => Checkpoint.Load(Path.Combine(dir, "nope"), CPU));
    }

    [Fact]
    public void SafetensorsHeaderIsStandard()
    {
        var dir = Fixtures.TempDir();
        var path = Path.Combine(dir, "t.safetensors");
        using (var fs = File.Create(path))
            Safetensors.Write(fs, [("b", tensor(new float[] { 1, 2, 3, 4 }, [2, 2])), ("a", tensor(new long[] { 7 }))]);
        var (entries, meta, start) = Safetensors.ReadHeader(path);
        Assert.Equal(["a", "b"], entries.Select(e => e.Name));
        Assert.Equal("I64", entries[0].DType);
        Assert.Equal(new long[] { 2, 2 }, entries[1].Shape);
        Assert.Equal(0, start % 8);
        var back = Safetensors.Read(path);
        Assert.Equal(new float[] { 1, 2, 3, 4 }, back["b"].data<float>().ToArray());
    }
}
