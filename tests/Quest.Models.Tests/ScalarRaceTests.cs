using Quest.Models.Generation;
using Quest.Models.Runtime;
using Quest.Models.Training;
using Quest.Models.Transformer;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace Quest.Models.Tests;

/// <summary>
/// TorchSharp's temporary-Scalar race (see <see cref="Scalars"/>): the kit's tensor code must survive garbage collections
/// at any moment, and the kit's own AdamW must compute what TorchSharp's does.
/// </summary>
public class ScalarRaceTests
{
    /// <summary>A thread that collects and runs finalizers in a loop until disposed: what the Jupyter kernel does now and then.</summary>
    private sealed class GcPressure : IDisposable
    {
        private volatile bool _stop;
        private readonly Thread _thread;
        public int Collections;
        public GcPressure()
        {
            _thread = new Thread(() =>
            {
                while (!_stop)
                {
                    GC.Collect();
                    GC.WaitForPendingFinalizers();
                    Interlocked.Increment(ref Collections);
                }
            }) { IsBackground = true, Name = "gc-pressure" };
            _thread.Start();
        }
        public void Dispose() { _stop = true; _thread.Join(); }
    }

    /// <summary>Seconds the stress test runs (QUEST_STRESS_SECONDS; default 8).</summary>
    private static double StressSeconds =>
        double.TryParse(Environment.GetEnvironmentVariable("QUEST_STRESS_SECONDS"), System.Globalization.CultureInfo.InvariantCulture, out var s) && s > 0 ? s : 8;

    [Fact]
    public async Task TrainingDecodingAndGrpoSurviveConstantGarbageCollection()
    {
        // Before the kit held its Scalars, this failed: libtorch asserted "Unknown scalar type" (or read freed memory)
        // when a collection finalized the implicit alpha of a + b, a clamp bound or one of the ~300 temporaries of
        // TorchSharp's AdamW.step() while native code still read it. Rounds of real work (training steps, sampled and
        // greedy decoding, GRPO updates) run for QUEST_STRESS_SECONDS while another thread collects without pause.
        var tok = Fixtures.Tokenizer;
        using var model = new QuestTransformer(Fixtures.TinyConfig(tok.VocabSize), seed: 5);
        var ct = TestContext.Current.CancellationToken;
        var gen = new TextGenerator(model, tok);
        var prompts = Fixtures.Corpus.Take(4).Select(t => tok.Encode(t).Take(12).ToArray()).ToList();
        using var updater = new GrpoUpdater(model, new GrpoOptions { LearningRate = 1e-3, MiniBatches = 2, Temperature = 0.8 });
        var clock = System.Diagnostics.Stopwatch.StartNew();
        int rounds = 0, trainSteps = 0, tokens = 0, updates = 0, collections;
        using (var gc = new GcPressure())
        {
            while (clock.Elapsed.TotalSeconds < StressSeconds || rounds < 2)
            {
                var pretrain = Trainer.Pretrain(model, tok, Enumerable.Repeat(Fixtures.Corpus, 4).SelectMany(x => x), new TrainingOptions
                {
                    Steps = 5, BatchSize = 4, SeqLen = 32, LearningRate = 3e-3, WarmupSteps = 2, EvalEvery = 5, EvalBatches = 1, Device = "cpu", Seed = rounds,
                });
                var reports = await pretrain.RunToEndAsync(ct: ct);
                Assert.All(reports, r => Assert.True(double.IsFinite(r.Loss)));
                trainSteps += reports.Count;
                var seqs = gen.Generate(prompts, new GenerationOptions { Temperature = 0.8, TopK = 50, TopP = 0.9, MaxNewTokens = 16, StopTokenIds = [], Seed = rounds });
                var greedy = gen.Generate(prompts, new GenerationOptions { Temperature = 0, MaxNewTokens = 8, StopTokenIds = [] });
                Assert.All(greedy, s => Assert.Equal(8, s.TokenIds.Length));
                tokens += seqs.Sum(s => s.TokenIds.Length) + greedy.Sum(s => s.TokenIds.Length);
                var rows = seqs.Select((s, i) => new RlSample(prompts[i], s.TokenIds, s.Logprobs, i % 2 == 0 ? 1.0 : -1.0, "g" + i / 2)).ToList();
                var u = updater.Update(rows, 1e-3, padId: 0, seed: rounds);
                Assert.True(double.IsFinite(u.Loss) && u.Rows == rows.Count);
                updates++; rounds++;
            }
            collections = gc.Collections;
        }
        var line = $"stress: {clock.Elapsed.TotalSeconds:0.0} s, {rounds} rounds, {trainSteps} training steps, {tokens} tokens decoded, {updates} GRPO updates, {collections} forced collections";
        TestContext.Current.TestOutputHelper?.WriteLine(line);
        if (Environment.GetEnvironmentVariable("QUEST_STRESS_REPORT") is { Length: > 0 } report) File.AppendAllText(report, line + "\n");
        Assert.True(collections > 100, $"only {collections} forced collections ran");
    }

    [Fact]
    public void AdamWComputesWhatTorchSharpsAdamWComputes()
    {
        // same model, same gradients, three steps with decay on matrices only: the kit's AdamW against optim.AdamW
        var tok = Fixtures.Tokenizer;
        using var a = new QuestTransformer(Fixtures.TinyConfig(tok.VocabSize, tied: false), seed: 9);
        using var b = new QuestTransformer(Fixtures.TinyConfig(tok.VocabSize, tied: false), seed: 9);
        using var ours = new AdamW(a, weightDecay: 0.1, beta1: 0.9, beta2: 0.95);
        var decay = b.parameters().Where(p => p.dim() >= 2).ToList();
        var noDecay = b.parameters().Where(p => p.dim() < 2).ToList();
        using var theirs = optim.AdamW(
            [new TorchSharp.Modules.AdamW.ParamGroup(decay, new TorchSharp.Modules.AdamW.Options { weight_decay = 0.1 }),
             new TorchSharp.Modules.AdamW.ParamGroup(noDecay, new TorchSharp.Modules.AdamW.Options { weight_decay = 0.0 })],
            lr: 1e-2, beta1: 0.9, beta2: 0.95, eps: 1e-8, weight_decay: 0.1);
        var rng = new Random(4);
        for (int step = 1; step <= 3; step++)
        {
            var ids = Enumerable.Range(0, 2 * 16).Select(_ => (long)rng.Next(tok.VocabSize)).ToArray();
            double lr = 1e-2 * step / 3;
            foreach (var (m, opt) in new (QuestTransformer, Action)[] { (a, () => ours.Step(lr)), (b, () => { foreach (var g in theirs.ParamGroups) g.LearningRate = lr; theirs.step(); }) })
            {
                using var scope = NewDisposeScope();
                m.zero_grad();
                var x = tensor(ids, [2, 16]);
                var logits = m.forward(x);
                var loss = nn.functional.cross_entropy(logits.narrow(1, 0, 15).reshape(-1, tok.VocabSize), x.narrow(1, 1, 15).reshape(-1));
                loss.backward();
                opt();
            }
        }
        Assert.Equal(3, ours.Steps);
        var pb = b.named_parameters().ToDictionary(p => p.name, p => p.parameter);
        foreach (var (name, p) in a.named_parameters())
        {
            double diff = (p - pb[name]).abs().max().item<float>();
            Assert.True(diff < 1e-6, $"{name}: max |Δ| {diff}");
        }
        // and it moved the weights (the comparison is not of two untouched models)
        using var fresh = new QuestTransformer(Fixtures.TinyConfig(tok.VocabSize, tied: false), seed: 9);
        Assert.True((a.named_parameters().First().parameter - fresh.named_parameters().First().parameter).abs().max().item<float>() > 1e-3);
    }

    [Fact]
    public void AdamWStateRoundTripsAndRejectsAnotherModel()
    {
        var tok = Fixtures.Tokenizer;
        var dir = Fixtures.TempDir();
        using var m = new QuestTransformer(Fixtures.TinyConfig(tok.VocabSize), seed: 2);
        using var opt = new AdamW(m, 0.1, 0.9, 0.95);
        foreach (var p in m.parameters()) p.grad = ones_like(p);
        opt.Step(1e-3); opt.Step(1e-3);
        var path = Path.Combine(dir, "optimizer.safetensors");
        opt.Save(path);
        using var again = new AdamW(m, 0.1, 0.9, 0.95);
        again.Load(path);
        Assert.Equal(2, again.Steps);
        // every moment came back: saved again, the file is the same to the byte (and the moments are not zero)
        var path2 = Path.Combine(dir, "again.safetensors");
        again.Save(path2);
        Assert.Equal(File.ReadAllBytes(path), File.ReadAllBytes(path2));
        Assert.Contains(Checkpoints.Safetensors.Read(path2), kv => kv.Value.abs().max().item<float>() > 0);
        using var wider = new QuestTransformer(Fixtures.TinyConfig(tok.VocabSize) with { DModel = 64, Ffn = 128 }, seed: 2);
        using var wrong = new AdamW(wider, 0.1, 0.9, 0.95);
        var ex = Assert.Throws<Quest.Core.QuestInputException>(() => wrong.Load(path));
        Assert.Contains("shape", ex.Message);
        File.WriteAllText(Path.Combine(dir, AdamW.LegacyFile), "old");
        var legacy = Assert.Throws<Quest.Core.QuestInputException>(() => wrong.Load(Path.Combine(dir, "missing.safetensors")));
        Assert.Contains("restart", legacy.Message + legacy.ToString());
    }
}
