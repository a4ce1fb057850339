using System.Text.Json;
using Quest.Core;
using Quest.Models.Checkpoints;
using Quest.Models.Tokenization;
using Quest.Models.Transformer;
using Quest.Testing;
using Quest.World.Corpus;
using Quest.World.Generation;
using Xunit;

namespace Quest.Cli.Tests;

/// <summary>
/// The cases of the second input sweep: each was a crash, a hang, a silent accept or an unclear message. Every rejection
/// exits 2, starts with "quest: ", names the option or the file, and shows no stack trace.
/// </summary>
public sealed class InputSweepTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "quest-cli-sweep", Guid.NewGuid().ToString("N"));
    public InputSweepTests() => Directory.CreateDirectory(_dir);
    public void Dispose() { try { Directory.Delete(_dir, true); } catch (IOException) { } }
    private static CancellationToken Ct => TestContext.Current.CancellationToken;
    private Task<(int Code, string Out, string Err)> Quest(params string[] args) => QuestProcess.RunAsync(_dir, args, Ct);

    private static void Rejected((int Code, string Out, string Err) r, params string[] named)
    {
        Assert.True(r.Code == 2, $"exit {r.Code}: {r.Err}{r.Out}");
        Assert.StartsWith("quest: ", r.Err);
        Assert.DoesNotContain("   at ", r.Err);
        Assert.DoesNotContain("Exception", r.Err);
        Assert.DoesNotContain("Quest.Models.", r.Err);   // no CLR type names
        foreach (var n in named) Assert.True(r.Err.Contains(n, StringComparison.Ordinal), $"\"{n}\" not in: {r.Err}");
    }

    [Fact]
    public async Task World_sizes_are_bounded_and_overflow_is_refused()
    {
        Rejected(await Quest("search", "x", "--corpus", "world:100000000"), "500,000", "out of bounds");
        Rejected(await Quest("search", "x", "--corpus", "world:4294968k"), "out of bounds");   // once overflowed to 704 pages
        Assert.False(Directory.Exists(Path.Combine(_dir, "artifacts", "corpora", "world-704")));
        Rejected(await Quest("search", "x", "--corpus", "world:10"), "50");
    }

    [Fact]
    public void World_generation_stops_when_cancelled()
    {
        using var cts = new CancellationTokenSource();
        cts.Cancel();
        Assert.ThrowsAny<OperationCanceledException>(() => WorldGenerator.Generate(new WorldOptions { Pages = 5_000 }, cts.Token));
        Assert.Throws<ArgumentOutOfRangeException>(() => WorldGenerator.Generate(new WorldOptions { Pages = WorldOptions.MaxPages + 1 }));
    }

    [Fact]
    public async Task Outputs_that_are_files_links_kernel_paths_or_empty_are_refused_before_any_work()
    {
        var file = Path.Combine(_dir, "a-file");
        File.WriteAllText(file, "keep me");
        var target = Directory.CreateDirectory(Path.Combine(_dir, "target")).FullName;
        var link = Path.Combine(_dir, "link");
        Directory.CreateSymbolicLink(link, target);
        var devNull = Path.Combine(_dir, "null-link");
        File.CreateSymbolicLink(devNull, "/dev/null");
        var tasks = Path.Combine(_dir, "tasks.jsonl");
        File.WriteAllText(tasks, "{\"id\": \"a\", \"question\": \"q\"}\n");
        var script = Path.Combine(_dir, "script.txt");
        File.WriteAllText(script, "<answer>a</answer>\n");
        string[] rollout = ["rollout", "--tasks", tasks, "--policy", "scripted:" + script, "--corpus", "none", "--out"];
        Rejected(await Quest([.. rollout, file]), "--out is an existing file", file);
        Rejected(await Quest([.. rollout, link]), "--out is a symbolic link", link);
        Rejected(await Quest([.. rollout, devNull]), "--out is a symbolic link", "/dev/null");
        Rejected(await Quest([.. rollout, "/proc/quest-out"]), "--out is under /proc", "/proc/quest-out");
        Rejected(await Quest([.. rollout, ""]), "--out is empty");
        Rejected(await Quest("train", "rl", "--init", _dir, "--tasks", tasks, "--output", file), "--output is an existing file");
        Rejected(await Quest("train", "sft", "--data", tasks, "--output", link, "--steps", "1"), "--output is a symbolic link");
        Rejected(await Quest("recipe", "--out", file), "--out is an existing file");
        Rejected(await Quest("synth", "--corpus", "world-tiny", "--count", "1", "--out", target), "--out is an existing directory");
        Assert.Equal("keep me", File.ReadAllText(file));
        Assert.True(new DirectoryInfo(link).LinkTarget is not null);   // the link is still a link
        Assert.Empty(Directory.GetFileSystemEntries(target));
    }

    [Fact]
    public async Task An_empty_policy_a_bad_device_and_a_task_line_with_a_bad_corpus_are_named()
    {
        var tasks = Path.Combine(_dir, "tasks.jsonl");
        File.WriteAllText(tasks, "{\"id\": \"a\", \"question\": \"q\"}\n");
        Rejected(await Quest("rollout", "--tasks", tasks, "--policy", "", "--corpus", "none", "--out", Path.Combine(_dir, "o")), "--policy is empty");
        Rejected(await Quest("bench", "train", "--device", "TPU", "--steps", "1"), "device 'TPU'", "cpu");
        File.WriteAllText(tasks, "{\"id\": \"a\", \"question\": \"q\", \"corpus\": 5}\n");
        var script = Path.Combine(_dir, "script.txt");
        File.WriteAllText(script, "<answer>a</answer>\n");
        Rejected(await Quest("rollout", "--tasks", tasks, "--policy", "scripted:" + script, "--corpus", "none", "--out", Path.Combine(_dir, "o2")), "tasks.jsonl:1", "\"corpus\" is a number");
    }

    [Fact]
    public async Task A_model_config_with_a_wrong_type_or_a_size_that_cannot_fit_is_named_before_allocation()
    {
        var ckpt = Path.Combine(_dir, "ckpt");
        var tok = BpeTrainer.Train(["a small corpus of words for a tokenizer"], new BpeTrainerOptions { VocabSize = 300 });
        using (var m = new QuestTransformer(new ModelConfig { VocabSize = tok.VocabSize, Layers = 1, DModel = 16, Heads = 2, KvHeads = 1, Ffn = 32, MaxSeqLen = 64 }, 1))
            Checkpoint.Save(ckpt, m, tok);
        var cfg = Path.Combine(ckpt, "config.json");
        var tasks = Path.Combine(_dir, "tasks.jsonl");
        File.WriteAllText(tasks, "{\"id\": \"a\", \"question\": \"q\"}\n");
        File.WriteAllText(cfg, "{\"vocab_size\": \"big\", \"layers\": 2}");
        Rejected(await Quest("rollout", "--tasks", tasks, "--policy", "local:" + ckpt, "--corpus", "none", "--out", Path.Combine(_dir, "o")),
            "config.json", "\"vocab_size\" has the wrong type");
        File.WriteAllText(cfg, JsonSerializer.Serialize(new { vocab_size = tok.VocabSize, layers = 64, d_model = 65_536, heads = 64, kv_heads = 8, ffn = 262_144, max_seq_len = 512 }));
        Rejected(await Quest("rollout", "--tasks", tasks, "--policy", "local:" + ckpt, "--corpus", "none", "--out", Path.Combine(_dir, "o")),
            "config.json", "parameters need", "GB");
    }

    [Fact]
    public async Task Report_on_a_run_with_a_garbage_summary_names_the_file()
    {
        var run = Directory.CreateDirectory(Path.Combine(_dir, "run")).FullName;
        File.WriteAllText(Path.Combine(run, "recipe.json"), JsonSerializer.Serialize(global::Quest.Recipe.RecipeOptions.Tiny, JsonFiles.Indented));
        File.WriteAllText(Path.Combine(run, "summary.json"), "{\"eval\": [1, 2");
        Rejected(await Quest("report", run), "summary.json");
        File.WriteAllText(Path.Combine(run, "summary.json"), "[]");
        Rejected(await Quest("report", run), "summary.json", "wrong type");
    }

    [Fact]
    public void A_corpus_line_whose_title_is_an_object_or_text_a_number_is_not_imported()
    {
        var path = Path.Combine(_dir, "pages.jsonl");
        File.WriteAllLines(path,
        [
            JsonSerializer.Serialize(new { id = "1", title = "Good", text = "A good page." }),
            JsonSerializer.Serialize(new { id = "2", title = new { x = 1 }, text = "A page with an object title." }),
            JsonSerializer.Serialize(new { id = 3, title = "Numbered", text = 42 }),
        ]);
        var strict = Assert.Throws<QuestInputException>(() => JsonlImporter.Import(path, new ImportOptions()));
        Assert.Contains("pages.jsonl:2", strict.Message);
        Assert.Contains("\"title\" is an object", strict.Message);
        var corpus = JsonlImporter.Import(path, new ImportOptions { OnError = OnBadRecord.Skip });
        Assert.Equal(1, corpus.Count);
        Assert.Contains(corpus.Info.Warnings, w => w.Contains(":2") && w.Contains("\"title\" is an object"));
        Assert.Contains(corpus.Info.Warnings, w => w.Contains(":3") && w.Contains("\"text\" is a number"));
    }
}
