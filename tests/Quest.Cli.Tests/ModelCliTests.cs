using System.CommandLine;
using System.Text.Json;
using Quest.Cli.Commands;
using Xunit;

namespace Quest.Cli.Tests;

/// <summary>`quest train …` and `quest bench train|generate` invoked in-process with captured output.</summary>
public class ModelCliTests
{
    private static async Task<(int Code, string Out, string Err)> Run(params string[] args)
    {
        var root = new RootCommand("test");
        root.Subcommands.Add(TrainCommands.Create());
        var bench = new Command("bench");
        foreach (var c in ModelBench.Create()) bench.Subcommands.Add(c);
        root.Subcommands.Add(bench);
        var o = new StringWriter(); var e = new StringWriter();
        int code = await root.Parse(args).InvokeAsync(new InvocationConfiguration { Output = o, Error = e }, TestContext.Current.CancellationToken);
        return (code, o.ToString(), e.ToString());
    }

    private static string TempDir()
    {
        var d = Path.Combine(Path.GetTempPath(), "quest-model-cli-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(d);
        return d;
    }

    private const string Text = "The river town of Alder sits where two valleys meet. Its mill was built in 1871 and burned in 1903. " +
                                "Mara Quill founded the Alder Gazette; the paper printed its first issue on a hand press in the mill's loft. ";

    [Fact]
    public async Task TrainPretrainFromYamlPrintsOneLinePerStepAndResumes()
    {
        var dir = TempDir();
        File.WriteAllText(Path.Combine(dir, "pages.jsonl"), string.Join("\n", Enumerable.Range(0, 20).Select(i => JsonSerializer.Serialize(new { title = $"Page {i}", text = Text }))));
        File.WriteAllText(Path.Combine(dir, "stage.yaml"), """
            stage: pretrain
            output: out
            data: [pages.jsonl]
            vocab_size: 320
            model_config: { layers: 1, d_model: 32, heads: 2, kv_heads: 1, ffn: 64, max_seq_len: 64 }
            training:
              steps: 3
              batch_size: 2
              seq_len: 32
              warmup_steps: 1
              checkpoint_every: 2
              schedule: linear
              device: cpu
            """);
        var (code, output, err) = await Run("train", "pretrain", "--config", Path.Combine(dir, "stage.yaml"));
        Assert.True(code == 0, err + output);
        var steps = output.Split('\n').Where(l => l.StartsWith("pretrain step")).ToList();
        Assert.Equal(3, steps.Count);
        Assert.Matches(@"^pretrain step 1/3 loss \d+\.\d{4} lr ", steps[0]);
        Assert.True(File.Exists(Path.Combine(dir, "out", "model.safetensors")));
        // more steps on the same output: resumes at step 4
        var (code2, output2, err2) = await Run("train", "pretrain", "--config", Path.Combine(dir, "stage.yaml"), "--steps", "4");
        Assert.True(code2 == 0, err2 + output2);
        Assert.Contains("# resuming", output2);
        Assert.Equal(["pretrain step 4/4"], output2.Split('\n').Where(l => l.StartsWith("pretrain step")).Select(l => l[..17]));
    }

    [Theory]
    [InlineData("training:\n  learning_rate: .nan\n", "training.learning_rate")]
    [InlineData("training:\n  device: \"tpu:9\"\n", "training.device")]
    [InlineData("training:\n  batch_size: 2000000000\n", "training.batch_size")]
    [InlineData("training:\n  batch_size: 60000\n  seq_len: 60000\n", "batch_size × seq_len")]
    [InlineData("training:\n  seq_len: 2000000000\n", "training.seq_len")]
    [InlineData("data: x.txt\n", "wrong shape")]
    public async Task Bad_training_values_fail_up_front_with_the_file_and_field(string yaml, string expected)
    {
        var dir = TempDir();
        File.WriteAllText(Path.Combine(dir, "x.txt"), Text);
        var cfg = Path.Combine(dir, "stage.yaml");
        File.WriteAllText(cfg, "stage: pretrain\n" + (yaml.StartsWith("data:") ? "" : "data: [x.txt]\n") + yaml);
        var (code, output, err) = await Run("train", "pretrain", "--config", cfg);
        Assert.True(code == 2, $"exit {code}: {err}{output}");
        Assert.Contains("stage.yaml", err);
        Assert.Contains(expected, err);
        Assert.DoesNotContain("   at ", err);                       // no stack trace
        Assert.DoesNotContain("System.", err);                     // no CLR type names
    }

    [Fact]
    public async Task A_malformed_transcript_or_an_unwritable_output_is_an_input_error()
    {
        var dir = TempDir();
        var data = Path.Combine(dir, "t.jsonl");
        File.WriteAllText(data, "{\"messages\": \"not a list\"}\n");
        var (code, _, err) = await Run("train", "sft", "--data", data, "--output", Path.Combine(dir, "out"), "--steps", "1");
        Assert.Equal(2, code);
        Assert.Contains("t.jsonl:1", err);
        Assert.Contains("not a list", err);
        File.WriteAllText(data, "{\"messages\": [{\"role\": \"user\", \"content\": \"hi\"}, {\"role\": \"assistant\", \"content\": \"yo\"}]}\n");
        var (code2, _, err2) = await Run("train", "sft", "--data", data, "--output", "/proc/quest-nope/out", "--steps", "1");
        Assert.Equal(2, code2);
        Assert.Contains("--output is under /proc", err2);
        Assert.DoesNotContain("Unhandled", err2);
    }

    [Fact]
    public async Task TrainReportsBadConfigWithFileAndLine()
    {
        var dir = TempDir();
        var cfg = Path.Combine(dir, "bad.yaml");
        File.WriteAllText(cfg, "stage: pretrain\ndata: [x.txt]\ntraining:\n  stepz: 3\n");
        var (code, _, err) = await Run("train", "pretrain", "--config", cfg);
        Assert.Equal(2, code);
        Assert.Contains("bad.yaml:4", err);
        var (code2, _, err2) = await Run("train", "sft", "--config", cfg);
        Assert.Equal(2, code2);
        Assert.Contains("bad.yaml", err2);
        File.WriteAllText(cfg, "stage: pretrain\ndata: [missing.txt]\n");
        var (code3, _, err3) = await Run("train", "pretrain", "--config", cfg);
        Assert.Equal(2, code3);
        Assert.Contains("missing.txt", err3);
    }

    [Fact]
    public async Task TrainSftFromJsonlTranscripts()
    {
        var dir = TempDir();
        var line = JsonSerializer.Serialize(new { messages = new object[] { new { role = "user", content = "Who founded the Gazette?" }, new { role = "assistant", content = "<answer>Mara Quill</answer>" } } });
        File.WriteAllText(Path.Combine(dir, "sft.jsonl"), string.Join("\n", Enumerable.Repeat(line, 4)));
        var (code, output, err) = await Run("train", "sft", "--data", Path.Combine(dir, "sft.jsonl"), "--output", Path.Combine(dir, "sft"),
            "--steps", "2", "--batch-size", "2", "--seq-len", "32", "--vocab-size", "300", "--device", "cpu");
        Assert.True(code == 0, err + output);
        Assert.Equal(2, output.Split('\n').Count(l => l.StartsWith("sft step")));
    }

    [Fact]
    [Trait("Category", "Slow")]
    public async Task BenchCommandsPrintOneJsonLineEach()
    {
        var (code, output, err) = await Run("bench", "train", "--layers", "1", "--d-model", "32", "--heads", "2", "--kv-heads", "1", "--ffn", "64",
            "--vocab", "300", "--batch", "2", "--seq-len", "16", "--steps", "2", "--warmup", "1", "--device", "cpu", "--chunk-bytes", "1", "--precision", "bf16");
        Assert.True(code == 0, err);
        var json = JsonDocument.Parse(output.Trim()).RootElement;
        foreach (var k in new[] { "layers", "d_model", "heads", "kv_heads", "vocab", "seq_len", "batch", "ffn", "tokens_per_s", "model_gflops", "machine_matmul_gflops", "share_of_matmul_peak" })
            Assert.True(json.TryGetProperty(k, out _), k);
        Assert.True(json.GetProperty("tokens_per_s").GetDouble() > 0);
        Assert.Equal(1, json.GetProperty("chunk_rows").GetInt32());      // the trainer's row chunks, one row each at 1 byte
        Assert.Equal("bf16", json.GetProperty("precision").GetString());
        // the step split phase by phase: every phase timed, the dense products' time at the peak below the whole step
        var phases = json.GetProperty("phase_ms");
        foreach (var k in new[] { "forward", "head_and_loss", "backward", "optimizer", "attention" })
            Assert.True(phases.GetProperty(k).GetDouble() > 0, k);
        Assert.True(json.GetProperty("dense_products_at_peak_ms").GetDouble() < json.GetProperty("step_ms_median").GetDouble());
        var (codeBad, _, errBad) = await Run("bench", "train", "--chunk-bytes", "-1", "--device", "cpu");
        Assert.Equal(2, codeBad);
        Assert.Contains("--chunk-bytes -1", errBad);
        var (codeBadP, _, errBadP) = await Run("bench", "train", "--precision", "fp8", "--device", "cpu");
        Assert.Equal(2, codeBadP);
        Assert.Contains("precision 'fp8'", errBadP);

        var (code2, output2, err2) = await Run("bench", "generate", "--layers", "1", "--d-model", "32", "--heads", "2", "--kv-heads", "1", "--ffn", "64",
            "--vocab", "300", "--contexts", "8,16", "--batches", "1,2", "--new-tokens", "4", "--device", "cpu");
        Assert.True(code2 == 0, err2);
        var g = JsonDocument.Parse(output2.Trim()).RootElement;
        Assert.Equal(4, g.GetProperty("results").GetArrayLength());
        Assert.True(g.GetProperty("kv_speedup").TryGetProperty("16", out _));
        Assert.Single(output2.Trim().Split('\n'));
    }
}
