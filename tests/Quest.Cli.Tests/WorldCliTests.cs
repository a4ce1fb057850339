using Quest.Core;
using System.Diagnostics;
using System.Text.Json;
using Quest.Testing;
using Xunit;

namespace Quest.Cli.Tests;

/// <summary>`quest corpus …`, `quest search` and `quest bench search` run as child processes with their own artifacts directory.</summary>
public sealed class WorldCliTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "quest-cli-world", Guid.NewGuid().ToString("N"));
    public WorldCliTests() => Directory.CreateDirectory(_dir);
    public void Dispose() { try { Directory.Delete(_dir, true); } catch (IOException) { } }
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private Task<(int Code, string Out, string Err)> Quest(params string[] args) => QuestProcess.RunAsync(_dir, args, Ct);

    [Fact]
    public async Task Build_info_search_and_visit_a_small_world()
    {
        var build = await Quest("corpus", "build", "world:300", "--seed", "5");
        Assert.True(build.Code == 0, build.Err + build.Out);
        Assert.Contains("world-300-s5: 300 pages", build.Out);
        Assert.True(File.Exists(Path.Combine(_dir, "artifacts", "corpora", "world-300-s5", "index", "corpus.hash")));

        var info = await Quest("corpus", "info", "world-300-s5");
        Assert.Equal(0, info.Code);
        Assert.Contains("pages: 300", info.Out);
        Assert.Contains("indexed: yes", info.Out);

        var pages = File.ReadLines(Path.Combine(_dir, "artifacts", "corpora", "world-300-s5", "pages.jsonl")).ToList();
        using var first = JsonDocument.Parse(pages[100]);
        var title = first.RootElement.GetProperty("title").GetString()!;
        var url = first.RootElement.GetProperty("url").GetString()!;
        var search = await Quest("search", title, "--corpus", "world-300-s5", "--k", "3");
        Assert.True(search.Code == 0, search.Err);
        Assert.StartsWith($"A Google search for '{title}' found 3 results:\n\n1. Title: {title}\nLink: {url}\nSnipptes: ", search.Out);

        var visit = await Quest("corpus", "visit", url, "--corpus", "world-300-s5", "--goal", "When was it founded?");
        Assert.Equal(0, visit.Code);
        Assert.StartsWith($"The useful information in {url} for user goal When was it founded? as follows: \n\nEvidence in page: \n", visit.Out);
    }

    [Fact]
    public async Task A_generated_world_name_resolves_to_one_stored_corpus_in_every_command()
    {
        // synth first: it stores world-tiny; search, visit and ask then open that same corpus (no second, different world).
        var tasks = Path.Combine(_dir, "tasks.jsonl");
        var synth = await Quest("synth", "--corpus", "world-tiny", "--count", "5", "--out", tasks);
        Assert.True(synth.Code == 0, synth.Err + synth.Out);
        var dir = Path.Combine(_dir, "artifacts", "corpora", "world-tiny");
        var pages = File.ReadLines(Path.Combine(dir, "pages.jsonl")).ToList();
        Assert.Equal(300, pages.Count);
        var stamp = File.GetLastWriteTimeUtc(Path.Combine(dir, "pages.jsonl"));
        Assert.All(File.ReadLines(tasks), l => Assert.Contains("\"corpus\":\"world-tiny\"", l));

        using var page = JsonDocument.Parse(pages[42]);
        var title = page.RootElement.GetProperty("title").GetString()!;
        var url = page.RootElement.GetProperty("url").GetString()!;
        var search = await Quest("search", title, "--corpus", "world-tiny", "--k", "2");
        Assert.True(search.Code == 0, search.Err);
        Assert.Contains($"Link: {url}", search.Out);
        var visit = await Quest("corpus", "visit", url, "--corpus", "world-tiny");
        Assert.True(visit.Code == 0, visit.Err);
        Assert.StartsWith($"The useful information in {url}", visit.Out);

        var script = Path.Combine(_dir, "policy.jsonl");
        File.WriteAllText(script, JsonSerializer.Serialize(new { turns = new[] {
            Protocol.ToolCallTurn("x", "search", new System.Text.Json.Nodes.JsonObject { ["query"] = new System.Text.Json.Nodes.JsonArray(title) }),
            Protocol.AnswerTurn("x", "A") } }) + "\n");
        var ask = await Quest("ask", "Who?", "--policy", "scripted:" + script, "--corpus", "world-tiny", "--json");
        Assert.True(ask.Code == 0, ask.Err + ask.Out);
        Assert.Contains(url, ask.Out);
        Assert.Equal(stamp, File.GetLastWriteTimeUtc(Path.Combine(dir, "pages.jsonl")));
        Assert.Single(Directory.GetDirectories(Path.Combine(_dir, "artifacts", "corpora")));

        // A generated-world name that is not stored yet is built on first use by search too, and a bad spec is exit 2.
        var fresh = await Quest("search", "x", "--corpus", "world:120:7");
        Assert.True(fresh.Code == 0, fresh.Err);
        Assert.Contains("world-120-s7", fresh.Err);
        Assert.Equal(2, (await Quest("search", "x", "--corpus", "world:12x")).Code);
    }

    [Fact]
    public async Task Report_on_a_folder_that_is_not_a_run_exits_2_naming_it()
    {
        var r = await Quest("report", _dir);
        Assert.Equal(2, r.Code);
        Assert.Contains($"quest: {_dir}: not a recipe run directory (no recipe.json)", r.Err);
        Assert.DoesNotContain("   at ", r.Err);
    }

    [Fact]
    public async Task Every_command_group_reports_bad_input_the_same_way()
    {
        var bad = Path.Combine(_dir, "bad.jsonl");
        File.WriteAllText(bad, "{\"id\": \"a\", \"question\": \"q\"}\n{not json\n");
        var yaml = Path.Combine(_dir, "bad.yaml");
        File.WriteAllText(yaml, "root:\n  id: r\n  children: [\n");
        string[][] commands =
        [
            ["rubric", "show", yaml],
            ["synth", "verify", "--tasks", bad],
            ["eval", "--tasks", bad, "--policy", "scripted:" + bad, "--out", Path.Combine(_dir, "e")],
            ["eval", "--tasks", bad],                // a command line that does not parse
            ["rollout", "--tasks", bad, "--policy", "scripted:" + bad, "--corpus", "none", "--out", Path.Combine(_dir, "r")],
            ["train", "pretrain", "--config", yaml],
            ["corpus", "build", bad],
            ["search", "x", "--corpus", "no-such-corpus"],
            ["report", _dir],
        ];
        foreach (var args in commands)
        {
            var r = await Quest(args);
            var what = string.Join(' ', args.Take(2));
            Assert.True(r.Code == 2, $"{what}: exit {r.Code}\n{r.Err}");
            Assert.StartsWith("quest: ", r.Err);
            Assert.DoesNotContain("   at ", r.Err);
            Assert.DoesNotContain("Unhandled", r.Err);
        }
    }

    [Fact]
    public async Task A_command_line_that_does_not_parse_points_to_the_full_commands_help()
    {
        var r = await Quest("train", "rl", "--lr", "1", "--lr", "2");
        Assert.Equal(2, r.Code);
        Assert.Contains("quest: see `quest train rl --help`", r.Err);
        var top = await Quest("no-such-command");
        Assert.Equal(2, top.Code);
        Assert.Contains("quest: see `quest --help`", top.Err);
    }

    [Fact]
    public async Task Bench_search_prints_one_json_line()
    {
        var r = await Quest("bench", "search", "--pages", "300", "--queries", "200");
        Assert.True(r.Code == 0, r.Err);
        var line = Assert.Single(r.Out.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        using var j = JsonDocument.Parse(line);
        Assert.True(j.RootElement.GetProperty("build_s").GetDouble() > 0);
        Assert.True(j.RootElement.GetProperty("qps").GetDouble() > 0);
        Assert.True(j.RootElement.GetProperty("qps_parallel").GetDouble() > 0);
        Assert.True(j.RootElement.GetProperty("mean_latency_ms").GetDouble() > 0);
        Assert.Equal(300, j.RootElement.GetProperty("pages").GetInt32());
        Assert.InRange(j.RootElement.GetProperty("hit_at_1").GetDouble(), 0.8, 1.0);
    }

    [Fact]
    public async Task Bad_input_exits_2_with_file_and_line()
    {
        var f = Path.Combine(_dir, "bad.jsonl");
        File.WriteAllText(f, "{\"id\": \"a\", \"text\": \"ok\"}\n{\"id\": \"b\", \"text\": \n");
        var r = await Quest("corpus", "build", f);
        Assert.Equal(2, r.Code);
        Assert.Contains("bad.jsonl:2", r.Err);
        var skipped = await Quest("corpus", "build", f, "--skip-bad");
        Assert.Equal(0, skipped.Code);
        Assert.Contains("bad: 1 pages", skipped.Out);
        Assert.Contains("warning: ", skipped.Err);

        var unknown = await Quest("search", "x", "--corpus", "no-such-corpus");
        Assert.Equal(2, unknown.Code);
        Assert.Contains("quest corpus build", unknown.Err);
        var world = await Quest("corpus", "build", "world:3");
        Assert.Equal(2, world.Code);
    }
}
