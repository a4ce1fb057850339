using System.CommandLine;
using Quest.Core;
using Quest.Models.Runtime;
using Quest.Models.Training;
using Quest.Models.Transformer;

namespace Quest.Cli.Commands;

/// <summary>Benchmark commands for <c>quest bench</c>: <c>train</c> and <c>generate</c>, one JSON line each.</summary>
public static class ModelBench
{
    /// <summary>The benchmark sub-commands.</summary>
    public static IEnumerable<Command> Create() => [TrainBench(), GenerateBench()];

    private static (Option<string> Preset, Option<int?> Layers, Option<int?> DModel, Option<int?> Heads, Option<int?> KvHeads, Option<int?> Ffn, Option<int?> Vocab, Option<string?> Device, Option<int?> Threads) ShapeOptions(Command cmd)
    {
        var preset = new Option<string>("--model") { Description = "Preset: tiny, small, base, medium.", DefaultValueFactory = _ => "tiny" };
        var layers = new Option<int?>("--layers") { Description = "Override the preset's layers." };
        var dModel = new Option<int?>("--d-model") { Description = "Override d_model." };
        var heads = new Option<int?>("--heads") { Description = "Override heads." };
        var kv = new Option<int?>("--kv-heads") { Description = "Override kv_heads." };
        var ffn = new Option<int?>("--ffn") { Description = "Override the MLP width." };
        var vocab = new Option<int?>("--vocab") { Description = "Vocabulary size (default 4096)." };
        var device = new Option<string?>("--device") { Description = "auto, cpu, cuda." };
        var threads = new Option<int?>("--threads") { Description = "torch intra-op threads (default: libtorch's choice)." };
        foreach (var o in new Option[] { preset, layers, dModel, heads, kv, ffn, vocab, device, threads }) cmd.Options.Add(o);
        return (preset, layers, dModel, heads, kv, ffn, vocab, device, threads);
    }

    private static ModelConfig Config(ParseResult pr, (Option<string> Preset, Option<int?> Layers, Option<int?> DModel, Option<int?> Heads, Option<int?> KvHeads, Option<int?> Ffn, Option<int?> Vocab, Option<string?> Device, Option<int?> Threads) s)
    {
        var c = ModelConfig.FromPreset(pr.GetValue(s.Preset)!, pr.GetValue(s.Vocab) ?? 4096);
        c = c with
        {
            Layers = pr.GetValue(s.Layers) ?? c.Layers, DModel = pr.GetValue(s.DModel) ?? c.DModel, Heads = pr.GetValue(s.Heads) ?? c.Heads,
            KvHeads = pr.GetValue(s.KvHeads) ?? c.KvHeads, Ffn = pr.GetValue(s.Ffn) ?? c.Ffn,
        };
        if (pr.GetValue(s.Threads) is int t) Quest.Models.Runtime.TorchThread.SetThreads(t);   // the thread the trainers and the generator run on
        return c.Validate("command line");
    }

    private static Command TrainBench()
    {
        var cmd = new Command("train", "Training throughput of the trainer (tokens/s, achieved vs machine matmul GFLOP/s) on a model shape; prints one JSON line.");
        var shape = ShapeOptions(cmd);
        var batch = new Option<int>("--batch") { Description = "Sequences per step.", DefaultValueFactory = _ => 8 };
        var seq = new Option<int>("--seq-len") { Description = "Tokens per sequence.", DefaultValueFactory = _ => 256 };
        var steps = new Option<int>("--steps") { Description = "Timed steps.", DefaultValueFactory = _ => 20 };
        var warmup = new Option<int>("--warmup") { Description = "Untimed warm-up steps.", DefaultValueFactory = _ => 5 };
        var chunk = new Option<long>("--chunk-bytes") { Description = "Row chunks of at most this many bytes of activations, as the trainer runs them (0: the whole batch at once).", DefaultValueFactory = _ => ActivationChunks.DefaultBytes };
        var precision = new Option<string>("--precision") { Description = "Matrix products: fp32, bf16 (mixed precision) or auto (bf16 on a CPU with native bfloat16 instructions).", DefaultValueFactory = _ => Precision.Float32 };
        foreach (var o in new Option[] { batch, seq, steps, warmup, chunk, precision }) cmd.Options.Add(o);
        cmd.SetAction((ParseResult pr) => PrintJson(pr, () =>
            ModelBenchmarks.Train(Config(pr, shape), pr.GetValue(batch), pr.GetValue(seq), pr.GetValue(steps), pr.GetValue(warmup), TorchRuntime.ResolveDevice(pr.GetValue(shape.Device)),
                pr.GetValue(chunk) >= 0 ? pr.GetValue(chunk) : throw new QuestInputException("command line", null, null, $"--chunk-bytes {pr.GetValue(chunk)}", "0 (whole batch) or more bytes"),
                pr.GetValue(precision)!)));
        return cmd;
    }

    private static Command GenerateBench()
    {
        var cmd = new Command("generate", "Generation tokens/s with and without the KV cache at several context lengths and batch sizes; prints one JSON line.");
        var shape = ShapeOptions(cmd);
        var contexts = new Option<string>("--contexts") { Description = "Comma-separated context lengths.", DefaultValueFactory = _ => "128,512" };
        var batches = new Option<string>("--batches") { Description = "Comma-separated batch sizes.", DefaultValueFactory = _ => "1,8" };
        var newTokens = new Option<int>("--new-tokens") { Description = "Tokens generated per measurement.", DefaultValueFactory = _ => 32 };
        foreach (var o in new Option[] { contexts, batches, newTokens }) cmd.Options.Add(o);
        int[] Ints(string s, string name) => s.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(x => int.TryParse(x, out var v) && v > 0 ? v : throw new QuestInputException("command line", null, null, $"{name}: '{x}' is not a positive integer", "e.g. 128,512")).ToArray();
        cmd.SetAction((ParseResult pr) => PrintJson(pr, () =>
            ModelBenchmarks.Generate(Config(pr, shape), Ints(pr.GetValue(contexts)!, "--contexts"), Ints(pr.GetValue(batches)!, "--batches"), pr.GetValue(newTokens),
                TorchRuntime.ResolveDevice(pr.GetValue(shape.Device)))));
        return cmd;
    }

    /// <summary>Runs a benchmark and prints its one JSON line; bad options exit 2 with the message on stderr.</summary>
    private static int PrintJson(ParseResult pr, Func<System.Text.Json.Nodes.JsonNode> bench)
    {
        try
        {
            pr.InvocationConfiguration.Output.WriteLine(bench().ToJsonString());
            return 0;
        }
        catch (Exception ex) { return CliGuard.Report(pr.InvocationConfiguration.Error, ex); }
    }
}
