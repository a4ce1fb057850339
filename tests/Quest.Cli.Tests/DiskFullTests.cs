using Quest.Core;
using System.Diagnostics;
using System.Text.Json;
using Quest.Agent.Rollout;
using Quest.Testing;
using Xunit;

namespace Quest.Cli.Tests;

/// <summary>
/// A disk that fills during a rollout or a checkpoint: a real ENOSPC from a size-limited tmpfs (needs root and
/// <c>mount</c>, as in CI; skipped with the reason elsewhere). The run must fail with the path named, keep what it
/// wrote before, and resume from there once there is space again.
/// </summary>
public sealed class DiskFullTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "quest-diskfull", Guid.NewGuid().ToString("N"));
    private readonly List<string> _mounts = [];
    public DiskFullTests() => Directory.CreateDirectory(_dir);
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public void Dispose()
    {
        foreach (var m in _mounts) Process.Start("umount", ["-l", m])?.WaitForExit();
        try { Directory.Delete(_dir, true); } catch (IOException) { }
    }

    /// <summary>A fresh tmpfs of <paramref name="bytes"/> bytes, or a skip when this machine cannot mount one.</summary>
    private string SmallDisk(long bytes)
    {
        var m = Path.Combine(_dir, "disk" + _mounts.Count);
        Directory.CreateDirectory(m);
        if (Environment.UserName != "root") Assert.Skip("needs root to mount a size-limited tmpfs");
        using var p = Process.Start(new ProcessStartInfo("mount", ["-t", "tmpfs", "-o", $"size={bytes}", "tmpfs", m]) { RedirectStandardError = true })!;
        p.WaitForExit();
        if (p.ExitCode != 0) Assert.Skip("mount -t tmpfs failed here: " + p.StandardError.ReadToEnd());
        _mounts.Add(m);
        return m;
    }

    private Task<(int Code, string Out, string Err)> Quest(params string[] args) => QuestProcess.RunAsync(_dir, args, Ct);

    private static void CopyDir(string from, string to)
    {
        Directory.CreateDirectory(to);
        foreach (var f in Directory.GetFiles(from, "*", SearchOption.AllDirectories))
        {
            var t = Path.Combine(to, Path.GetRelativePath(from, f));
            Directory.CreateDirectory(Path.GetDirectoryName(t)!);
            File.Copy(f, t);
        }
    }

    [Fact]
    public async Task A_rollout_that_fills_the_disk_keeps_its_episodes_and_resumes_exactly_once_each()
    {
        const int n = 60;
        var tasks = Path.Combine(_dir, "tasks.jsonl");
        File.WriteAllLines(tasks, Enumerable.Range(0, n).Select(i => JsonSerializer.Serialize(new { id = $"t{i}", question = $"Question {i}?", answer = $"A{i}" })));
        var script = Path.Combine(_dir, "policy.jsonl");
        var call = Protocol.ToolCallTurn("look it up", "search", new System.Text.Json.Nodes.JsonObject { ["query"] = new System.Text.Json.Nodes.JsonArray("q") });
        File.WriteAllLines(script, Enumerable.Range(0, n).Select(i => JsonSerializer.Serialize(new { question = $"Question {i}?", turns = new[] { call, Protocol.AnswerTurn("done", $"A{i}") } })));

        var disk = SmallDisk(48 * 1024);
        var outDir = Path.Combine(disk, "out");
        var full = await Quest("rollout", "--tasks", tasks, "--policy", "scripted:" + script, "--out", outDir, "--corpus", "none");
        Assert.NotEqual(0, full.Code);
        Assert.Contains("No space left on device", full.Err);
        Assert.Contains(Path.Combine(outDir, "trajectories.jsonl"), full.Err);
        Assert.DoesNotContain("   at ", full.Err); // no stack trace

        // What landed before the disk filled is intact (a torn last line at most), and resuming elsewhere completes the run.
        var kept = RolloutRunner.ReadTrajectories(Path.Combine(outDir, "trajectories.jsonl")).ToList();
        Assert.InRange(kept.Count, 1, n - 1);
        var moved = Path.Combine(_dir, "moved");
        CopyDir(outDir, moved);
        var resumed = await Quest("rollout", "--tasks", tasks, "--policy", "scripted:" + script, "--out", moved, "--corpus", "none", "--resume");
        Assert.True(resumed.Code == 0, resumed.Err + resumed.Out);
        var all = RolloutRunner.ReadTrajectories(Path.Combine(moved, "trajectories.jsonl")).ToList();
        Assert.Equal(n, all.Count);
        Assert.Equal(n, all.Select(t => t.TaskId).Distinct().Count());
        Assert.All(kept, k => Assert.Contains(all, a => a.EpisodeId == k.EpisodeId));
        Assert.Contains($"{n - kept.Count} written, {kept.Count} skipped", resumed.Out);
    }

    [Fact]
    public async Task A_checkpoint_that_fills_the_disk_leaves_the_previous_checkpoint_loadable_and_resumable()
    {
        var work = Path.Combine(_dir, "work");
        Directory.CreateDirectory(work);
        const string text = "The river town of Alder sits where two valleys meet. Its mill was built in 1871 and burned in 1903. ";
        File.WriteAllText(Path.Combine(work, "pages.jsonl"), string.Join("\n", Enumerable.Range(0, 20).Select(i => JsonSerializer.Serialize(new { title = $"Page {i}", text }))));
        string Config(string output) => $$"""
            stage: pretrain
            output: {{output}}
            data: [{{Path.Combine(work, "pages.jsonl")}}]
            vocab_size: 320
            model_config: { layers: 1, d_model: 32, heads: 2, kv_heads: 1, ffn: 64, max_seq_len: 64 }
            training: { steps: 2, batch_size: 2, seq_len: 32, warmup_steps: 1, checkpoint_every: 2, schedule: linear, device: cpu }
            """;
        // Two steps on a normal disk give the step-2 checkpoint and its size.
        var first = Path.Combine(work, "first");
        File.WriteAllText(Path.Combine(work, "first.yaml"), Config(first));
        var ok = await Quest("train", "pretrain", "--config", Path.Combine(work, "first.yaml"));
        Assert.True(ok.Code == 0, ok.Err + ok.Out);
        long size = Directory.GetFiles(first, "*", SearchOption.AllDirectories).Sum(f => new FileInfo(f).Length);

        // On a disk with room for that checkpoint but not for a second copy beside it, two more steps fail at the save.
        var disk = SmallDisk(size * 3 / 2 + 64 * 1024);
        var onDisk = Path.Combine(disk, "ck");
        CopyDir(first, onDisk);
        var before = Directory.GetFiles(onDisk, "*", SearchOption.AllDirectories).ToDictionary(f => Path.GetRelativePath(onDisk, f), File.ReadAllBytes);
        File.WriteAllText(Path.Combine(work, "full.yaml"), Config(onDisk));
        var full = await Quest("train", "pretrain", "--config", Path.Combine(work, "full.yaml"), "--steps", "4");
        Assert.NotEqual(0, full.Code);
        Assert.Contains("No space left on device", full.Err);
        Assert.Contains(disk, full.Err);
        Assert.DoesNotContain("   at ", full.Err);
        foreach (var (rel, bytes) in before.Where(kv => !kv.Key.EndsWith(".jsonl", StringComparison.Ordinal)))
            Assert.True(bytes.AsSpan().SequenceEqual(File.ReadAllBytes(Path.Combine(onDisk, rel))), $"{rel} changed");

        // Moved to a disk with room, the same run resumes at step 3 and finishes.
        var moved = Path.Combine(work, "moved");
        CopyDir(onDisk, moved);
        File.WriteAllText(Path.Combine(work, "moved.yaml"), Config(moved));
        var resumed = await Quest("train", "pretrain", "--config", Path.Combine(work, "moved.yaml"), "--steps", "4");
        Assert.True(resumed.Code == 0, resumed.Err + resumed.Out);
        Assert.Contains("# resuming", resumed.Out);
        Assert.Equal(["pretrain step 3/4", "pretrain step 4/4"], resumed.Out.Split('\n').Where(l => l.StartsWith("pretrain step")).Select(l => l[..17]));
    }
}
