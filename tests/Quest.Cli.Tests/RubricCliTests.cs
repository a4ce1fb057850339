using System.CommandLine;
using System.Text.Json;
using Quest.Cli.Commands;
using Xunit;

namespace Quest.Cli.Tests;

/// <summary>`quest rubric …` invoked in-process with captured stdout/stderr.</summary>
public class RubricCliTests
{
    private static string Rubrics
    {
        get
        {
            var d = new DirectoryInfo(AppContext.BaseDirectory);
            while (d is not null && !Directory.Exists(Path.Combine(d.FullName, "rubrics"))) d = d.Parent;
            return Path.Combine(d!.FullName, "rubrics");
        }
    }

    private static async Task<(int Code, string Out, string Err)> Run(params string[] args)
    {
        var root = new RootCommand("test");
        root.Subcommands.Add(RubricCommands.Create());
        var o = new StringWriter(); var e = new StringWriter();
        int code = await root.Parse(args).InvokeAsync(new InvocationConfiguration { Output = o, Error = e }, TestContext.Current.CancellationToken);
        return (code, o.ToString(), e.ToString());
    }

    private static string Temp(string name, string content)
    {
        var dir = Path.Combine(Path.GetTempPath(), "quest-rubric-cli-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(dir);
        var p = Path.Combine(dir, name);
        File.WriteAllText(p, content);
        return p;
    }

    [Fact]
    public async Task Show_renders_the_tree_with_markers()
    {
        var (code, output, _) = await Run("rubric", "show", Path.Combine(Rubrics, "multihop_fact.yaml"));
        Assert.Equal(0, code);
        Assert.Contains("final-river", output);
        Assert.Contains("CRITICAL", output);
        Assert.Contains("SEQUENTIAL", output);
        Assert.Contains("8 nodes, 5 leaves", output);
    }

    [Fact]
    public async Task Score_answer_prints_a_table_and_scores_the_last_answer_block()
    {
        var answer = Temp("t.txt", "<think>draft</think><answer>Rhine, 1900</answer> more text <answer>Pauli: born in Vienna, taught at ETH Zurich on the Limmat; Nobel Prize 1945.</answer>");
        var (code, output, err) = await Run("rubric", "score", Path.Combine(Rubrics, "multihop_fact.yaml"), "--answer", answer);
        Assert.True(code == 0, err);
        Assert.Contains("score 1", output);
        Assert.Contains("last <answer> block", output);
        Assert.Contains("hop-city", output);
    }

    [Fact]
    public async Task Score_answer_json_has_the_cross_check_shape()
    {
        var answer = Temp("a.txt", "Mercury, Venus, Earth and Mars.");
        var (code, output, _) = await Run("rubric", "score", Path.Combine(Rubrics, "list_partial_credit.yaml"), "--answer", answer, "--json");
        Assert.Equal(0, code);
        using var doc = JsonDocument.Parse(output);
        Assert.Equal(0.5, doc.RootElement.GetProperty("score").GetDouble(), 12);
        Assert.Equal("partial", doc.RootElement.GetProperty("nodes").GetProperty("planets").GetProperty("status").GetString());
    }

    [Fact]
    public async Task Score_leaves_prints_exact_json_for_cross_checks()
    {
        var leaves = Temp("o.json", """{"Answer_Provided": true, "Wall_Year": true, "Games_Year": true, "Host_City": true, "Community_Named": true, "Community_Source": false}""");
        var (code, output, err) = await Run("rubric", "score", Path.Combine(Rubrics, "quest_json_example.json"), "--leaves", leaves);
        Assert.True(code == 0, err);
        using var doc = JsonDocument.Parse(output);
        Assert.Equal(["score", "nodes"], doc.RootElement.EnumerateObject().Select(p => p.Name));
        Assert.Equal(0.5, doc.RootElement.GetProperty("score").GetDouble(), 12); // mean(chain 1, community 0)
        var node = doc.RootElement.GetProperty("nodes").GetProperty("Community_Source");
        Assert.Equal(["score", "status"], node.EnumerateObject().Select(p => p.Name));
        Assert.Equal("failed", node.GetProperty("status").GetString());
    }

    [Fact]
    public async Task Unknown_leaf_id_exits_2_with_file_and_line()
    {
        var leaves = Temp("o.json", "{\n  \"Answer_Provided\": true,\n  \"Nope\": false\n}");
        var (code, output, err) = await Run("rubric", "score", Path.Combine(Rubrics, "quest_json_example.json"), "--leaves", leaves);
        Assert.Equal(2, code);
        Assert.Empty(output);
        Assert.Contains($"{leaves}:3:3: unknown leaf id 'Nope'", err);
    }

    [Fact]
    public async Task Bad_tree_file_exits_2_with_position()
    {
        var tree = Temp("bad.yaml", "root:\n  id: r\n  description: d\n  check: {type: nope}\n");
        var (code, _, err) = await Run("rubric", "show", tree);
        Assert.Equal(2, code);
        Assert.Contains(":4:", err);
        Assert.Contains("unknown check type 'nope'", err);
    }

    [Fact]
    public async Task Judge_leaves_without_endpoint_give_a_clear_error_or_fail_when_asked()
    {
        var answer = Temp("a.txt", "Fleming discovered penicillin in 1928 [1].\n\n[1] https://example.org/penicillin");
        var file = Path.Combine(Rubrics, "cited_report.yaml");
        var (code, _, err) = await Run("rubric", "score", file, "--answer", answer);
        Assert.Equal(2, code);
        Assert.Contains("--endpoint", err);
        var sources = Temp("s.json", """{"https://example.org/penicillin": "In 1928 Alexander Fleming discovered penicillin when Penicillium mould contaminated a culture plate of Staphylococcus."}""");
        var (code2, output2, err2) = await Run("rubric", "score", file, "--answer", answer, "--sources", sources, "--no-judge-fails", "--json");
        Assert.True(code2 == 0, err2);
        using var doc = JsonDocument.Parse(output2);
        // facts: 3/3 pass; judged: nobel fails (no judge) -> 0, mass-production skipped -> root = mean(1, 0) = 0.5
        Assert.Equal(0.5, doc.RootElement.GetProperty("score").GetDouble(), 12);
        Assert.Equal("skipped", doc.RootElement.GetProperty("nodes").GetProperty("mass-production").GetProperty("status").GetString());
    }

    [Fact]
    public async Task Needs_exactly_one_of_answer_and_leaves()
    {
        var (code, _, err) = await Run("rubric", "score", Path.Combine(Rubrics, "multihop_fact.yaml"));
        Assert.Equal(2, code);
        Assert.Contains("exactly one of --answer", err);
    }

    [Fact]
    public async Task Convert_round_trips_yaml_and_quest_json()
    {
        var (c1, json, e1) = await Run("rubric", "convert", Path.Combine(Rubrics, "multihop_fact.yaml"), "--to", "quest-json");
        Assert.True(c1 == 0, e1);
        Assert.Contains("\"node_name\": \"final-river\"", json);
        var jsonFile = Temp("t.json", json);
        var (c2, yaml, e2) = await Run("rubric", "convert", jsonFile, "--to", "yaml");
        Assert.True(c2 == 0, e2);
        Assert.Contains("check: {type: contains, expected: Limmat}", yaml);
        var yamlFile = Temp("t.yaml", yaml);
        var answer = Temp("a.txt", "Pauli, Vienna, Zurich, Limmat, 1945");
        var (c3, out3, _) = await Run("rubric", "score", yamlFile, "--answer", answer, "--json");
        Assert.Equal(0, c3);
        Assert.Equal(1, JsonDocument.Parse(out3).RootElement.GetProperty("score").GetDouble());
    }
}
