using System.Diagnostics;
using System.Text.Json.Nodes;
using Quest.Models.Generation;
using Quest.Models.Runtime;
using Quest.Models.Tokenization;
using Quest.Models.Transformer;
using TorchSharp;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace Quest.Models.Training;

/// <summary>
/// Throughput measurements behind <c>quest bench train</c> and <c>quest bench generate</c>. Each returns one JSON object
/// with the model shape, the throughput, the machine's measured matmul GFLOP/s and the model's achieved GFLOP/s.
/// </summary>
public static class ModelBenchmarks
{
    /// <summary>
    /// Float32 matmul GFLOP/s of this machine: the best of several <c>n×n · n×n</c> products (2n³ FLOPs each).
    /// </summary>
    public static double MatmulGflops(Device? device = null, int n = 1024, int reps = 8) =>
        TorchThread.Run(() => MatmulGflopsHere(device ?? TorchRuntime.DefaultDevice, n, reps));   // with the torch thread's intra-op threads

    private static double MatmulGflopsHere(Device device, int n, int reps)
    {
        using var scope = NewDisposeScope();
        var a = randn(n, n, device: device);
        var b = randn(n, n, device: device);
        a.matmul(b);   // warm-up
        double best = double.MaxValue;
        for (int i = 0; i < reps; i++)
        {
            var sw = Stopwatch.StartNew();
            using var c = a.matmul(b);
            if (device.type == DeviceType.CUDA) cuda.synchronize();
            else c.sum().item<float>();
            best = Math.Min(best, sw.Elapsed.TotalSeconds);
        }
        return 2.0 * n * n * n / best / 1e9;
    }

    private static JsonObject Shape(ModelConfig c, int seqLen, int batch) => new()
    {
        ["layers"] = c.Layers, ["d_model"] = c.DModel, ["heads"] = c.Heads, ["kv_heads"] = c.KvHeads, ["vocab"] = c.VocabSize,
        ["seq_len"] = seqLen, ["batch"] = batch, ["ffn"] = c.Ffn, ["params"] = c.ParameterCount,
    };

    /// <summary>
    /// Training throughput of the trainer itself (<see cref="Trainer"/>: its AdamW, clipping, row chunks of
    /// <paramref name="chunkBytes"/>, 0 = the whole batch at once) on random tokens, every position a target:
    /// <paramref name="steps"/> steps after <paramref name="warmup"/> untimed ones. Reports the median step time,
    /// tokens/s and achieved GFLOP/s (training ≈ 3 × forward FLOPs, with the causal attention's average context of seq/2).
    /// <paramref name="precision"/> is the trainer's (<see cref="Precision"/>); the share of peak is always against the
    /// float32 matmul peak. <c>phase_ms</c> splits a step (median ms of the blocks' forward, LM head and loss, backward,
    /// clipping and AdamW, and attention alone) and <c>dense_products_at_peak_ms</c> is what the linear layers and the LM
    /// head would take at that peak: the gap between the two is attention and element-wise work.
    /// </summary>
    public static JsonObject Train(ModelConfig config, int batch, int seqLen, int steps = 20, int warmup = 5, Device? device = null, long chunkBytes = ActivationChunks.DefaultBytes,
        string precision = Precision.Float32)
    {
        device ??= TorchRuntime.DefaultDevice;
        var tok = BenchTokenizer(config.VocabSize);
        config = config with { MaxSeqLen = Math.Max(config.MaxSeqLen, seqLen), VocabSize = tok.VocabSize };
        using var model = new QuestTransformer(config, seed: 0);
        var rng = new Random(0);
        var stream = Enumerable.Range(0, Math.Max(1 << 16, batch * (seqLen + 1) * 4)).Select(_ => rng.Next(config.VocabSize)).ToArray();
        var trainer = new Trainer(model, tok, new PackedTokenStream(stream, evalFraction: 0), new TrainingOptions
        {
            Steps = warmup + steps + 1, BatchSize = batch, SeqLen = seqLen, ChunkBytes = chunkBytes, LearningRate = 1e-3, WarmupSteps = 1,
            Schedule = LrSchedule.Constant, EvalEvery = 0, CheckpointEvery = 0, Device = device.ToString(), Precision = precision,
        }.Validate("--precision"), "bench");
        var times = new List<double>();
        var cpuTimes = new List<double>();
        var proc = Process.GetCurrentProcess();
        var cpu0 = proc.TotalProcessorTime;
        trainer.RunToEndAsync(r =>
        {
            proc.Refresh();
            var cpu = proc.TotalProcessorTime;
            // the last step also runs the (empty) final eval: left out with the warm-up
            if (r.Step > warmup && r.Step <= warmup + steps) { times.Add(r.StepMs / 1000); cpuTimes.Add((cpu - cpu0).TotalSeconds); }
            cpu0 = cpu;
        }).GetAwaiter().GetResult();
        times.Sort();
        cpuTimes.Sort();
        double median = times[times.Count / 2];
        double tokPerS = batch * seqLen / median;
        double flopsPerTok = 3 * config.ForwardFlopsPerToken(seqLen / 2);
        var o = Shape(config, seqLen, batch);
        o["bench"] = "train";
        o["device"] = device.ToString();
        o["threads"] = TorchThread.Run(get_num_threads);
        o["mkl_intel_path"] = TorchRuntime.MklIntelPath;
        o["precision"] = Precision.Describe(precision, device);
        o["steps"] = steps;
        int chunkRows = chunkBytes <= 0 ? batch : Math.Min(batch, ActivationChunks.RowsPerChunk(config, seqLen, allLogits: true, chunkBytes));
        o["chunk_rows"] = chunkRows;
        o["step_ms_median"] = Math.Round(median * 1000, 2);
        o["step_ms_min"] = Math.Round(times[0] * 1000, 2);
        o["tokens_per_s"] = Math.Round(tokPerS, 1);
        // CPU time of the process per step: on a shared, oversubscribed machine wall time mostly measures waiting;
        // with --threads 1 this is the step's own cost (with more threads it includes spin-waiting).
        o["cpu_ms_per_step_median"] = Math.Round(cpuTimes[cpuTimes.Count / 2] * 1000, 2);
        o["tokens_per_cpu_s"] = Math.Round(batch * seqLen / cpuTimes[cpuTimes.Count / 2], 1);
        o["model_gflops"] = Math.Round(tokPerS * flopsPerTok / 1e9, 2);
        double peak = MatmulGflops(device);
        o["machine_matmul_gflops"] = Math.Round(peak, 2);
        o["share_of_matmul_peak"] = Math.Round(tokPerS * flopsPerTok / 1e9 / peak, 3);
        // where a step's time goes: the same step timed phase by phase, attention alone, and what the dense products
        // (linear layers and LM head, forward and backward) would take at the machine's matmul peak
        var phases = TorchThread.Run(() => Phases(model, batch, seqLen, chunkRows, precision, device, steps));
        o["phase_ms"] = phases;
        double dense = 3 * 2.0 * (config.NonEmbeddingParameterCount + (long)config.VocabSize * config.DModel) * batch * seqLen;
        o["dense_products_at_peak_ms"] = Math.Round(dense / (peak * 1e9) * 1000, 2);
        return o;
    }

    /// <summary>
    /// Median milliseconds of each phase of a dense training step (every position a target, <paramref name="chunkRows"/>
    /// rows per pass as the trainer runs them): the blocks' forward, the LM head and loss, the backward pass, gradient
    /// clipping with the AdamW step; and the causal attention of every layer and chunk alone (forward and backward).
    /// </summary>
    private static JsonObject Phases(QuestTransformer model, int batch, int seqLen, int chunkRows, string precision, Device device, int steps)
    {
        var c = model.Config;
        using var precisionScope = model.UsePrecision(precision, device);
        model.train();
        using var opt = new AdamW(model, 0.1, 0.9, 0.95);
        var names = new[] { "forward", "head_and_loss", "backward", "optimizer", "attention" };
        var times = names.ToDictionary(n => n, _ => new List<double>());
        using var scalars = new ScalarLease();
        var scale = scalars.Of(1.0 / (batch * seqLen));
        for (int step = 0; step < steps + 2; step++)
        {
            var t = names.ToDictionary(n => n, _ => 0.0);
            var sw = Stopwatch.StartNew();
            double Lap() { double ms = sw.Elapsed.TotalMilliseconds; sw.Restart(); return ms; }
            opt.ZeroGrad();
            for (int r = 0; r < batch; r += chunkRows)
            {
                using var scope = NewDisposeScope();
                int n = Math.Min(chunkRows, batch - r);
                var x = randint(0, c.VocabSize, [n, seqLen], device: device);
                var y = randint(0, c.VocabSize, [n * seqLen], device: device);
                Lap();
                var h = model.Hidden(x, null, null, null).reshape(-1, c.DModel);
                h.sum().item<float>();   // the forward is done (on a GPU, synchronised)
                t["forward"] += Lap();
                var loss = F.cross_entropy(model.Logits(h), y, reduction: nn.Reduction.Sum).mul(scale);
                loss.item<float>();
                t["head_and_loss"] += Lap();
                loss.backward();
                t["backward"] += Lap();
                // the attention of every layer alone: q, k and v of the chunk's shape (grouped heads expanded, as the model does)
                var q = randn([n, c.Heads, seqLen, c.HeadDim], device: device, requires_grad: true);
                var k = randn([n, c.Heads, seqLen, c.HeadDim], device: device, requires_grad: true);
                var v = randn([n, c.Heads, seqLen, c.HeadDim], device: device, requires_grad: true);
                Lap();
                for (int l = 0; l < c.Layers; l++) F.scaled_dot_product_attention(q, k, v, null, 0.0, true).sum().backward();
                k.grad!.sum().item<float>();
                t["attention"] += Lap();
            }
            opt.ClipGradNorm(1.0);
            opt.Step(1e-4);
            t["optimizer"] += Lap();
            if (step >= 2) foreach (var n in names) times[n].Add(t[n]);
        }
        model.eval();
        var o = new JsonObject();
        foreach (var n in names) { var l = times[n].Order().ToList(); o[n] = Math.Round(l[l.Count / 2], 2); }
        return o;
    }

    /// <summary>A byte-level tokenizer with <paramref name="vocab"/> tokens (arbitrary merges): benchmarks need only its size, special ids and decoding.</summary>
    private static QuestTokenizer BenchTokenizer(int vocab)
    {
        var specials = Quest.Core.Protocol.SpecialTokens;
        int merges = Math.Max(0, vocab - 256 - specials.Count);
        return QuestTokenizer.FromMerges(Enumerable.Range(0, merges).Select(i => (i / 256 % 256, i % 256)).ToList(), specials);
    }

    /// <summary>
    /// Generation throughput with and without the KV cache for every (context, batch) pair: decode tokens/s measured as
    /// <c>batch·(N−1) / (t(N new tokens) − t(1 new token))</c>, so the prompt's prefill is not counted.
    /// <c>kv_speedup</c> gives, per context length, cached ÷ uncached tokens/s at batch 1 (or the smallest batch).
    /// </summary>
    public static JsonObject Generate(ModelConfig config, int[] contexts, int[] batches, int newTokens = 32, Device? device = null)
    {
        device ??= TorchRuntime.DefaultDevice;
        int maxCtx = contexts.Max();
        config = config with { MaxSeqLen = Math.Max(config.MaxSeqLen, maxCtx + newTokens + 1) };
        var tok = BenchTokenizer(config.VocabSize);
        config = config with { VocabSize = tok.VocabSize };
        using var model = new QuestTransformer(config, seed: 0);
        model.to(device);
        var gen = new TextGenerator(model, tok);
        var rng = new Random(0);
        var results = new JsonArray();
        var speedups = new JsonObject();
        double bestKvFlops = 0;
        foreach (var ctx in contexts)
        {
            foreach (var b in batches)
            {
                var prompts = Enumerable.Range(0, b).Select(_ => Enumerable.Range(0, ctx).Select(_ => rng.Next(256)).ToArray()).ToList();
                double Rate(bool kv, int n)
                {
                    var o = new GenerationOptions { Temperature = 0, StopTokenIds = [], UseKvCache = kv };
                    gen.Generate(prompts, o with { MaxNewTokens = 2 });                       // warm-up
                    double T(int k) { var sw = Stopwatch.StartNew(); gen.Generate(prompts, o with { MaxNewTokens = k }); return sw.Elapsed.TotalSeconds; }
                    double t1 = Math.Min(T(1), T(1)), tn = Math.Min(T(n), T(n));
                    return b * (n - 1) / Math.Max(1e-9, tn - t1);
                }
                double kvRate = Rate(true, newTokens);
                double fullRate = Rate(false, Math.Max(4, newTokens / 4));
                bestKvFlops = Math.Max(bestKvFlops, kvRate * config.ForwardFlopsPerToken(ctx));
                results.Add(new JsonObject
                {
                    ["context"] = ctx, ["batch"] = b,
                    ["kv_tokens_per_s"] = Math.Round(kvRate, 1),
                    ["nocache_tokens_per_s"] = Math.Round(fullRate, 1),
                    ["speedup"] = Math.Round(kvRate / fullRate, 2),
                });
                if (b == batches.Min()) speedups[ctx.ToString()] = Math.Round(kvRate / fullRate, 2);
            }
        }
        var r = Shape(config, maxCtx, batches.Max());
        r["bench"] = "generate";
        r["device"] = device.ToString();
        r["threads"] = TorchThread.Run(get_num_threads);
        r["mkl_intel_path"] = TorchRuntime.MklIntelPath;
        r["new_tokens"] = newTokens;
        r["contexts"] = new JsonArray(contexts.Select(c => (JsonNode?)c).ToArray());
        r["batches"] = new JsonArray(batches.Select(c => (JsonNode?)c).ToArray());
        r["results"] = results;
        r["kv_speedup"] = speedups;
        r["model_gflops"] = Math.Round(bestKvFlops / 1e9, 2);
        r["machine_matmul_gflops"] = Math.Round(MatmulGflops(device), 2);
        return r;
    }
}
