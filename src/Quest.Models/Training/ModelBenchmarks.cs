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
    public static double MatmulGflops(Device? device = null, int n = 1024, int reps = 8)
    {
        device ??= TorchRuntime.DefaultDevice;
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
    /// Training throughput: <paramref name="steps"/> AdamW steps (after <paramref name="warmup"/> untimed ones) on random
    /// tokens; reports the median step time, tokens/s and achieved GFLOP/s (training ≈ 3 × forward FLOPs, with the
    /// causal attention's average context of seq/2).
    /// </summary>
    public static JsonObject Train(ModelConfig config, int batch, int seqLen, int steps = 20, int warmup = 5, Device? device = null)
    {
        device ??= TorchRuntime.DefaultDevice;
        config = config with { MaxSeqLen = Math.Max(config.MaxSeqLen, seqLen) };
        using var model = new QuestTransformer(config, seed: 0);
        model.to(device);
        model.train();
        using var opt = optim.AdamW(model.parameters(), lr: 1e-3, beta1: 0.9, beta2: 0.95, weight_decay: 0.1);
        var gen = new Generator(0, device);
        var times = new List<double>();
        var cpuTimes = new List<double>();
        var proc = Process.GetCurrentProcess();
        for (int i = 0; i < warmup + steps; i++)
        {
            using var scope = NewDisposeScope();
            proc.Refresh();
            var cpu0 = proc.TotalProcessorTime;
            var sw = Stopwatch.StartNew();
            var x = randint(0, config.VocabSize, [batch, seqLen + 1], dtype: ScalarType.Int64, device: device, generator: gen);
            var inp = x.narrow(1, 0, seqLen);
            var tgt = x.narrow(1, 1, seqLen);
            opt.zero_grad();
            var logits = model.forward(inp);
            var loss = F.cross_entropy(logits.view(-1, config.VocabSize), tgt.reshape(-1));
            loss.backward();
            nn.utils.clip_grad_norm_(model.parameters(), 1.0);
            opt.step();
            loss.item<float>();
            if (i >= warmup)
            {
                times.Add(sw.Elapsed.TotalSeconds);
                proc.Refresh();
                cpuTimes.Add((proc.TotalProcessorTime - cpu0).TotalSeconds);
            }
        }
        times.Sort();
        cpuTimes.Sort();
        double median = times[times.Count / 2];
        double tokPerS = batch * seqLen / median;
        double flopsPerTok = 3 * config.ForwardFlopsPerToken(seqLen / 2);
        var o = Shape(config, seqLen, batch);
        o["bench"] = "train";
        o["device"] = device.ToString();
        o["threads"] = get_num_threads();
        o["steps"] = steps;
        o["step_ms_median"] = Math.Round(median * 1000, 2);
        o["step_ms_min"] = Math.Round(times[0] * 1000, 2);
        o["tokens_per_s"] = Math.Round(tokPerS, 1);
        // CPU time of the process per step: on a shared, oversubscribed machine wall time mostly measures waiting;
        // with --threads 1 this is the step's own cost (with more threads it includes spin-waiting).
        o["cpu_ms_per_step_median"] = Math.Round(cpuTimes[cpuTimes.Count / 2] * 1000, 2);
        o["tokens_per_cpu_s"] = Math.Round(batch * seqLen / cpuTimes[cpuTimes.Count / 2], 1);
        o["model_gflops"] = Math.Round(tokPerS * flopsPerTok / 1e9, 2);
        o["machine_matmul_gflops"] = Math.Round(MatmulGflops(device), 2);
        return o;
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
        // the sampler needs a tokenizer only for special ids and decoding: a bare byte-level one with the model's vocab
        var specials = Quest.Core.Protocol.SpecialTokens;
        int merges = Math.Max(0, config.VocabSize - 256 - specials.Count);
        var tok = QuestTokenizer.FromMerges(Enumerable.Range(0, merges).Select(i => (i / 256 % 256, i % 256)).ToList(), specials);
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
        r["threads"] = get_num_threads();
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
