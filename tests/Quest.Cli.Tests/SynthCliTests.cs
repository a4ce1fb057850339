using System.CommandLine;
using System.Text.Json;
using Quest.Cli.Commands;
using Quest.Synthesis;
using Quest.Synthesis.Export;
using Xunit;

namespace Quest.Cli.Tests;

/// <summary>`quest synth …` in-process, on a generated tiny world.</summary>
public class SynthCliTests
{
    private static async Task<(int Code, string Out, string Err)> Run(params string[] args)
    {
        var root = new RootCommand("test");
        root.Subcommands.Add(SynthCommands.Create());
        var o = new StringWriter(); var e = new StringWriter();
        int code = await root.Parse(args).InvokeAsync(new InvocationConfiguration { Output = o, Error = e }, TestContext.Current.CancellationToken);
        return (code, o.ToString(), e.ToString());
    }

    private static string TempDir() => Directory.CreateTempSubdirectory("quest-synth-cli-").FullName;

    [Fact]
    public async Task Synth_writes_verified_tasks_summary_and_exports()
    {
        var dir = TempDir();
        var tasks = Path.Combine(dir, "tasks.jsonl");
        var (code, output, err) = await Run("synth", "--corpus", "world-tiny", "--count", "10", "--out", tasks, "--seed", "4");
        Assert.True(code == 0, err);
        Assert.Contains("accepted", output);
        Assert.Contains("rejected", output + File.ReadAllText(Path.Combine(dir, "tasks.summary.json")));
        var list = TaskFile.Read(tasks);
        Assert.Equal(10, list.Count);
        Assert.Equal(5, list.Select(t => t.Family).Distinct().Count());
        using var summary = JsonDocument.Parse(File.ReadAllText(Path.Combine(dir, "tasks.summary.json")));
        Assert.Equal(10, summary.RootElement.GetProperty("tasks").GetInt32());

        (code, output, err) = await Run("synth", "verify", "--tasks", tasks);
        Assert.True(code == 0, err + output);
        Assert.Contains("10/10 tasks verified", output);

        var parquet = Path.Combine(dir, "rl", "train.parquet");
        (code, output, err) = await Run("synth", "export", "--tasks", tasks, "--format", "verl", "--out", parquet);
        Assert.True(code == 0, err);
        Assert.Equal(10, (await VerlParquet.ReadAsync(parquet, TestContext.Current.CancellationToken)).Count);

        var sft = Path.Combine(dir, "sft", "sft.json");
        (code, output, err) = await Run("synth", "export", "--tasks", tasks, "--format", "sharegpt", "--out", sft, "--context-threshold", "1500");
        Assert.True(code == 0, err);
        Assert.Contains("teacher solved 10/10", output);
        Assert.True(ShareGpt.Read(sft).Count >= 10);
    }

    [Fact]
    public async Task Single_family_and_bad_input()
    {
        var dir = TempDir();
        var tasks = Path.Combine(dir, "list.jsonl");
        var (code, _, err) = await Run("synth", "--corpus", "world-tiny", "--family", "list", "--count", "3", "--out", tasks);
        Assert.True(code == 0, err);
        Assert.All(TaskFile.Read(tasks), t => Assert.Equal("list", t.Family));

        (code, _, err) = await Run("synth", "--corpus", "no-such-corpus", "--count", "3", "--out", tasks);
        Assert.Equal(2, code);
        Assert.Contains("no stored corpus", err);

        (code, _, err) = await Run("synth", "--corpus", "world-tiny", "--family", "poetry", "--count", "3", "--out", tasks);
        Assert.Equal(2, code);
        Assert.Contains("unknown family", err);

        File.WriteAllText(tasks, "{\"id\":\"x\"}\n");
        (code, _, err) = await Run("synth", "verify", "--tasks", tasks);
        Assert.Equal(2, code);
        Assert.Contains(":1:", err);
    }
}
