using System.Globalization;
using Quest.Interactive;
using Quest.Recipe;

namespace Quest.Analysis;

/// <summary>
/// The reading of a run as one offline HTML page (<c>quest report RUN_DIR</c>, <c>notebooks/scripts/analyze_run.cs</c>):
/// the stage ablation with intervals, reward by family and complexity, pass@k, terminations and invalid-turn causes,
/// failing rubric leaves, context per turn, training curves, a win and a loss side by side, and optionally a second
/// run compared. Notebook 08 shows the same parts one cell at a time.
/// </summary>
public static class RunReport
{
    /// <summary>Builds the page (re-scores answers for the leaf heat map; a few seconds).</summary>
    public static async Task<HtmlReport> BuildAsync(RunData run, RunData? compare = null, CancellationToken ct = default)
    {
        var r = new HtmlReport($"Quest recipe run {run.Name}");
        r.Text($"{System.IO.Path.GetFileName(run.Dir)}: preset {run.Options.Preset}, seed {run.Options.Seed}; stages finished: {string.Join(", ", run.Stages.Select(s => $"{s.Stage} ({s.Seconds:0}s)"))}; total {run.Stages.Sum(s => s.Seconds) / 60:0.0} min. The Markdown card beside this page (report.md) has the same numbers as tables.");
        r.Pre(string.Join("\n", ReportCard.ProvenanceLines(run)));
        if (run.Models.Count == 0)
        {
            r.Text("No eval rollouts yet: run the recipe's eval stage (quest recipe … --resume) and report again.");
            if (run.Rl().Count > 0) r.Add(RunCharts.Rl(run.Rl()));
            r.Add(RunCharts.Training(run));
            return r;
        }
        r.Heading("Stage ablation");
        if (run.Summary is { } s) r.Pre(s.FormatTable());
        r.Add(Tables.ToHtml(RunAnalysis.Rewards(run).Select(x => new { x.Model, x.Tasks, Reward = RunAnalysis.Interval(x.Mean, x.Lo, x.Hi) }), caption: "mean test reward, bootstrap 95% interval over tasks"));
        r.Add(RunCharts.Ablation(run)).Add(RunCharts.StageGains(run));
        r.Heading("By family and complexity");
        r.Add(RunCharts.By(run, "family")).Add(RunCharts.By(run, "complexity"));
        r.Heading("pass@k");
        r.Add(RunCharts.PassAtK(run.Models.ToDictionary(m => m, m => RunAnalysis.PassAtK(run.Test(m)))));
        r.Heading("Terminations and invalid turns");
        r.Add(RunCharts.Terminations(run)).Add(RunCharts.InvalidTurnCauses(run));
        r.Heading("Which rubric leaves fail");
        var leaves = await RunAnalysis.LeafFailuresAsync(run, ct).ConfigureAwait(false);
        if (leaves.Count > 0) r.Add(RunCharts.LeafFailures(leaves)); else r.Text("No answers to score.");
        r.Heading("Context per turn");
        r.Add(RunCharts.ContextTokens(run));
        var testEpisodes = run.Episodes().Where(x => x.Split == "test").ToList();
        r.Add(Tables.ToHtml(run.Models.Select(m => { var e = testEpisodes.Where(x => x.Model == m).ToList(); return new { Model = m, MeanSessions = e.Count == 0 ? 0 : e.Average(x => x.Sessions), MaxContext = e.Count == 0 ? 0 : e.Max(x => x.MaxContextTokens) }; }), caption: "sessions and the largest context"));
        r.Heading("Training");
        r.Add(RunCharts.Training(run));
        if (run.Rl().Count > 0) r.Add(RunCharts.Rl(run.Rl()));
        var last = run.Models[^1];
        if (RunAnalysis.WinAndLoss(run, last) is var (win, loss))
        {
            r.Heading($"A win and a loss ({last})");
            r.Add(Html.Raw("<div style=\"display:flex;gap:12px\"><div style=\"flex:1;min-width:0\">" + Html.Heading($"win: reward {win.Reward ?? 0:0.000}", 4).Html
                + TranscriptHtml.Render(win).Html + "</div><div style=\"flex:1;min-width:0\">" + Html.Heading($"loss: reward {loss.Reward ?? 0:0.000}", 4).Html
                + TranscriptHtml.Render(loss).Html + "</div></div>"));
        }
        if (compare is not null)
        {
            r.Heading($"Compared with {compare.Name}");
            r.Add(Tables.ToHtml(RunAnalysis.Compare(run, compare).Select(c => new
            {
                c.Model, RewardA = Fmt(c.RewardA), RewardB = Fmt(c.RewardB), Delta = Fmt(c.Delta), ValidA = Fmt(c.ValidPctA, "0.0"), ValidB = Fmt(c.ValidPctB, "0.0"),
            }), caption: $"A = {run.Name}, B = {compare.Name}"));
        }
        return r;
    }

    /// <summary>Writes the page to <paramref name="path"/> (atomically) and returns the full path.</summary>
    public static async Task<string> WriteAsync(RunData run, string path, RunData? compare = null, CancellationToken ct = default) =>
        (await BuildAsync(run, compare, ct).ConfigureAwait(false)).Save(path);

    private static string Fmt(double? v, string f = "0.000") => v?.ToString(f, CultureInfo.InvariantCulture) ?? "–";
}
