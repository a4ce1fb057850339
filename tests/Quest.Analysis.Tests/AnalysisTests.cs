using Microsoft.Data.Analysis;
using Quest.Interactive;
using Quest.Eval;
using Quest.Agent;
using Quest.Analysis;
using Quest.Core;
using Quest.Recipe;
using Xunit;

namespace Quest.Analysis.Tests;

/// <summary>A whole recipe, cut to seconds (every stage runs, nothing is learned), run once for the class.</summary>
public sealed class MicroRun : IAsyncLifetime
{
    public string Dir { get; } = Path.Combine(Path.GetTempPath(), "quest-analysis-" + Guid.NewGuid().ToString("N")[..8]);

    public RecipeOptions Options => RecipeOptions.Tiny with
    {
        Preset = "micro", OutDir = Dir, WorldPages = 200, Tasks = 30, TestFraction = 0.3, CopyDrills = 300, CopyPhaseSteps = 2, ToolOutputDocs = 40,
        PretrainSteps = 3, SftSteps = 3, RlSteps = 1, RlPromptsPerStep = 2, RlGroupSize = 2,
        EvalTestTasks = 3, EvalTrainTasks = 1, EvalMaxTurns = 2, EvalMaxNewTokens = 96, Device = "cpu", FreshWorldTasks = 8,
    };

    public async ValueTask InitializeAsync()
    {
        await foreach (var _ in Quest.Recipe.Recipe.RunAsync(Options, TestContext.Current.CancellationToken)) { }
    }

    public ValueTask DisposeAsync()
    {
        try { Directory.Delete(Dir, true); } catch (IOException) { }
        return ValueTask.CompletedTask;
    }
}

public sealed class RunAnalysisTests(MicroRun micro) : IClassFixture<MicroRun>
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public void A_run_reads_back_with_every_stage_model_and_one_row_per_eval_episode()
    {
        var run = RunData.Load(micro.Dir);
        Assert.Equal(["untrained", "mt", "sft", "rl"], run.Models);
        Assert.NotNull(run.Summary);
        Assert.Equal(Quest.Recipe.Recipe.StageNames, run.Stages.Select(s => s.Stage));
        int perModel = run.Eval["mt"].Count;
        Assert.Equal(4 * perModel, run.Episodes().Count);
        Assert.Equal(3, run.Test("sft").Count);
        Assert.Equal(micro.Options.PretrainSteps, run.Training("pretrain").Count);
        Assert.Equal(micro.Options.SftSteps, run.Training("sft").Count);
        Assert.Single(run.Rl());

        // The summary's "all test" mean equals the mean over the episode rows.
        foreach (var m in run.Models)
            Assert.Equal(run.Summary!.Eval.Single(r => r.Model == m && r.Group == "all test" && r.Set == Quest.Eval.TestSets.HeldOut).MeanReward,
                run.Episodes().Where(e => e.Model == m && e.Split == "test").Average(e => e.Reward), 6);
    }

    [Fact]
    public void Frames_hold_the_episodes_and_round_trip_through_csv()
    {
        var run = RunData.Load(micro.Dir);
        var df = RunFrames.Episodes(run);
        Assert.Equal(run.Episodes().Count, df.Rows.Count);
        Assert.Equal(run.Episodes().Sum(e => e.Turns), df["turns"].Cast<int?>().Sum(x => x ?? 0));
        var dir = Path.Combine(micro.Dir, "csv");
        var files = RunFrames.SaveCsv(run, dir);
        Assert.Contains(Path.Combine(dir, "episodes.csv"), files);
        Assert.Contains(Path.Combine(dir, "rl.csv"), files);
        var back = DataFrame.LoadCsv(Path.Combine(dir, "episodes.csv"));
        Assert.Equal(df.Rows.Count, back.Rows.Count);
        Assert.Equal(df.Columns.Select(c => c.Name), back.Columns.Select(c => c.Name));
        // Grouping in the frame gives the per-model episode counts.
        var counts = df.GroupBy<string>("model").Count();
        Assert.Equal(4, counts.Rows.Count);
        Assert.Contains("<table class=\"quest-frame\">", RunFrames.ToHtml(df, maxRows: 3));
        Assert.Contains($"3 of {df.Rows.Count} rows", RunFrames.ToHtml(df, maxRows: 3));
    }

    [Fact]
    public async Task The_report_page_holds_every_chart_and_inlines_plotly_js()
    {
        var run = RunData.Load(micro.Dir);
        var page = await RunReport.BuildAsync(run, compare: run, Ct);
        Assert.True(page.Figures >= 9, $"{page.Figures} charts"); // the leaf heat map only when some answer was given
        var html = page.ToHtml();
        // plotly.js is inlined once, before the first chart.
        int js = html.IndexOf("plotly.js v" + Quest.Interactive.PlotlyJs.EmbeddedVersion, StringComparison.Ordinal);
        Assert.InRange(js, 0, html.IndexOf("Plotly chart will be drawn inside this DIV", StringComparison.Ordinal));
        Assert.Equal(js, html.LastIndexOf("plotly.js v" + Quest.Interactive.PlotlyJs.EmbeddedVersion, StringComparison.Ordinal));
        Assert.Contains("Stage ablation", html);
        Assert.Contains("A win and a loss (rl)", html);
        Assert.Contains("Compared with", html);
        var leaves = await RunAnalysis.LeafFailuresAsync(run, Ct);
        Assert.All(leaves, l => Assert.InRange(l.Failed, 0, l.Checked));
    }

    [Fact]
    public void The_report_card_holds_the_runs_provenance_stage_times_both_test_sets_and_links_that_resolve()
    {
        var run = RunData.Load(micro.Dir);
        var md = ReportCard.Markdown(run);
        // provenance: this build's commit and this machine, recorded by the run itself
        var inv = Quest.Recipe.Provenance.Read(run.Paths);
        Assert.Single(inv);
        Assert.Equal(Machine.BuildCommit(typeof(Quest.Recipe.Recipe).Assembly), inv[0].Commit);
        Assert.Equal(Machine.Current.Cpu, inv[0].Machine.Cpu);
        Assert.Contains(Machine.Current.Cpu, md);
        Assert.Contains("'micro' is not a named preset", md);
        Assert.Contains("TorchSharp " + inv[0].TorchSharp, md);
        Assert.All(run.Stages, s => Assert.Contains($"| {s.Stage} | ", md));
        Assert.Equal(run.Stages.Count, run.Stages.Count(s => Quest.Recipe.Provenance.Of(inv, s) == inv[0]));
        // both test sets, every model, and the numbers are the summary's
        Assert.Contains("## Fresh world", md);
        Assert.Contains("## Held-out split", md);
        var sftFresh = run.Summary!.Eval.Single(r => r.Set == TestSets.FreshWorld && r.Model == "sft" && r.Group == "all test");
        Assert.Contains(string.Create(System.Globalization.CultureInfo.InvariantCulture, $"| sft | {sftFresh.Tasks} | {sftFresh.MeanReward:0.000} | {sftFresh.PassAt1:0.0}% | {sftFresh.AnsweredPct:0.0}% |"), md);   // shares in percent, as the summary keeps them
        Assert.Contains("| mt → sft |", md);
        // every link is relative and names a file of the run
        var links = System.Text.RegularExpressions.Regex.Matches(md, @"\]\(([^)]+)\)").Select(m => m.Groups[1].Value).Where(l => l != "report.html").ToList();
        Assert.NotEmpty(links);
        Assert.All(links, l => { Assert.False(Path.IsPathRooted(l), l); Assert.True(File.Exists(Path.Combine(run.Dir, l)), l); });
        Assert.DoesNotContain(micro.Dir, md.Replace(inv[0].Command, ""));   // no absolute paths besides the command line as typed
    }

    [Fact]
    public void Stage_gains_chart_each_stage_against_the_one_before_it_with_its_interval()
    {
        var run = RunData.Load(micro.Dir);
        var traces = RunCharts.StageGains(run).ToJsonNode()["data"]!.AsArray();
        var ablation = run.Summary!.Ablation;
        Assert.Equal(ablation.Select(a => a.Set).Distinct().Count(), traces.Count);
        var models = run.Models.ToList();
        var trace = traces[0]!;
        var set = ablation[0].Set;
        Assert.Equal(models.Zip(models.Skip(1), (a, b) => $"{a} → {b}"), trace["x"]!.AsArray().Select(x => (string)x!));   // mt → rl (not adjacent) left out
        for (int i = 0; i < models.Count - 1; i++)
        {
            var d = ablation.Single(a => a.Set == set && a.From == models[i] && a.To == models[i + 1]);
            Assert.Equal(d.MeanDiff, (double)trace["y"]![i]!, 9);
            Assert.Equal(d.Hi - d.MeanDiff, (double)trace["error_y"]!["array"]![i]!, 9);
            Assert.Equal(d.MeanDiff - d.Lo, (double)trace["error_y"]!["arrayminus"]![i]!, 9);
        }
    }

    [Fact]
    public void Several_runs_compare_in_one_table_with_the_seed_aggregate_and_overlaid_curves()
    {
        var run = RunData.Load(micro.Dir);
        var md = ReportCard.Compare([run, run]);
        Assert.Equal(2, md.Split('\n').Count(l => l.StartsWith($"| {Path.GetFileName(micro.Dir)} |", StringComparison.Ordinal)));
        Assert.Contains("## Seed aggregate", md);
        Assert.Contains("| mt→sft |", md);
        var fig = RunCharts.Overlay([run, run], "sft", window: 2).ToJsonNode();
        Assert.Equal(2, fig["data"]!.AsArray().Count);
        Assert.DoesNotContain(RunCharts.Overlay([run], "rl").ToJsonNode()["data"]!.AsArray(), d => d!["y"]!.AsArray().Count != run.Rl().Count);
    }

    [Fact]
    public void Comparing_a_run_with_itself_gives_zero_differences()
    {
        var run = RunData.Load(micro.Dir);
        var rows = RunAnalysis.Compare(run, run);
        Assert.Equal(4, rows.Count);
        Assert.All(rows, r => Assert.Equal(0, r.Delta!.Value, 9));
    }
}

public sealed class RunAnalysisUnitTests
{
    [Fact]
    public void Pass_at_k_is_the_unbiased_estimator()
    {
        // Brute force: the share of k-subsets of n samples that hold at least one of the c correct ones.
        static double Brute(int n, int c, int k)
        {
            int hit = 0, all = 0;
            for (int mask = 0; mask < 1 << n; mask++)
            {
                if (System.Numerics.BitOperations.PopCount((uint)mask) != k) continue;
                all++;
                if ((mask & ((1 << c) - 1)) != 0) hit++;
            }
            return (double)hit / all;
        }
        for (int n = 1; n <= 8; n++)
            for (int c = 0; c <= n; c++)
                for (int k = 1; k <= n; k++)
                    Assert.Equal(Brute(n, c, k), RunAnalysis.PassAt(n, c, k), 12);
        Assert.Throws<ArgumentOutOfRangeException>(() => RunAnalysis.PassAt(2, 1, 3));
    }

    [Fact]
    public void Pass_at_k_over_trajectories_uses_the_fewest_samples_per_task()
    {
        Trajectory T(string id, double r) => new() { TaskId = id, Reward = r };
        var curve = RunAnalysis.PassAtK([T("a", 1), T("a", 0), T("a", 0), T("b", 0), T("b", 0), T("b", 0.5)]);
        Assert.Equal([1, 2, 3], curve.Select(c => c.K));
        Assert.Equal(0.5 * (1.0 / 3), curve[0].Pass, 9);
        Assert.Equal(0.5 * 1.0, curve[2].Pass, 9);
    }

    [Fact]
    public void Invalid_turn_causes_group_counts_together()
    {
        Assert.Equal("invalid: N <tool_call> blocks; only the last one runs",
            RunAnalysis.Cause(new TurnRecord { Kind = "invalid", Problems = ["3 <tool_call> blocks; only the last one runs"] }));
        Assert.Equal("invalid: neither a tool call nor an answer", RunAnalysis.Cause(new TurnRecord { Kind = "invalid" }));
        Assert.Equal("malformed tool call", RunAnalysis.Cause(new TurnRecord { Kind = "malformed_tool_call" }));
    }

    [Fact]
    public void Overrides_are_the_settings_that_differ_from_the_preset()
    {
        Assert.Empty(ReportCard.Overrides(RecipeOptions.Tiny with { Seed = 3, OutDir = "/elsewhere" })!);
        Assert.Equal(["page_worlds=0", "rl_steps=10"], ReportCard.Overrides(RecipeOptions.Tiny with { RlSteps = 10, PageWorlds = 0 })!.Order());
        Assert.Null(ReportCard.Overrides(RecipeOptions.Tiny with { Preset = "mine" }));
    }

    [Fact]
    public void A_moving_average_averages_the_trailing_window()
    {
        Assert.Equal([1.0, 1.5, 2.5, 3.5], RunCharts.MovingAverage([1, 2, 3, 4], 2));
        Assert.Equal([5.0], RunCharts.MovingAverage([5], 10));
        Assert.Equal(2.0, ReportCard.Tenth([2, 9, 9, 9, 9, 9, 9, 9, 9, 1], first: true));
        Assert.Equal(1.0, ReportCard.Tenth([2, 9, 9, 9, 9, 9, 9, 9, 9, 1], first: false));
    }

    [Fact]
    public void A_stage_belongs_to_the_last_invocation_started_before_it_completed()
    {
        var t0 = DateTimeOffset.Parse("2026-01-01T00:00:00Z");
        var inv = new[] { new Quest.Recipe.Provenance { StartedAt = t0, Commit = "a" }, new Quest.Recipe.Provenance { StartedAt = t0.AddHours(1), Commit = "b" } };
        Assert.Equal("a", Quest.Recipe.Provenance.Of(inv, new StageRecord { CompletedAt = t0.AddMinutes(30) })!.Commit);
        Assert.Equal("b", Quest.Recipe.Provenance.Of(inv, new StageRecord { CompletedAt = t0.AddHours(2) })!.Commit);
        Assert.Null(Quest.Recipe.Provenance.Of(inv, new StageRecord { CompletedAt = t0.AddHours(-1) }));
        // appended lines read back, a torn last line skipped
        var dir = Directory.CreateTempSubdirectory().FullName;
        var paths = new RecipePaths(dir);
        Quest.Recipe.Provenance.Append(paths, inv[0]);
        Quest.Recipe.Provenance.Append(paths, inv[1]);
        File.AppendAllText(paths.Provenance, "{\"started_at\":");
        Assert.Equal(["a", "b"], Quest.Recipe.Provenance.Read(paths).Select(p => p.Commit));
        Quest.Recipe.Provenance.Append(paths, inv[0] with { Commit = "c" });
        Assert.Equal(["a", "b", "c"], Quest.Recipe.Provenance.Read(paths).Select(p => p.Commit));
    }

    [Fact]
    public void A_folder_that_is_not_a_run_is_an_input_error()
    {
        var dir = Directory.CreateTempSubdirectory().FullName;
        var e = Assert.Throws<QuestInputException>(() => RunData.Load(dir));
        Assert.Contains("recipe.json", e.Message);
    }
}
