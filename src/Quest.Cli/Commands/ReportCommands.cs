using System.CommandLine;
using Quest.Analysis;
using Quest.Core;

namespace Quest.Cli.Commands;

/// <summary>
/// <c>quest report RUN_DIR [--compare RUN_DIR2] [--out FILE] [--csv DIR]</c>: the reading of a recipe run as one
/// offline HTML page (stage ablation with intervals, reward by family and complexity, pass@k, terminations and
/// invalid-turn causes, failing rubric leaves, context per turn, training curves, a win and a loss), and its tables as CSV.
/// </summary>
public static class ReportCommands
{
    /// <summary>Builds <c>quest report</c>.</summary>
    public static Command Create()
    {
        var run = new Argument<string[]>("run") { Description = "A recipe run directory (e.g. data/artifacts/recipe/tiny); several runs (seeds) give the seed aggregate instead.", Arity = ArgumentArity.OneOrMore };
        var compare = new Option<string?>("--compare") { Description = "A second run directory to compare with (e.g. another seed or preset)." };
        var output = new Option<string?>("--out") { Description = "The HTML file (default RUN/report.html); with several runs, a Markdown file for the seed aggregate (default: print it only)." };
        var csv = new Option<string?>("--csv") { Description = "Also write the run's tables as CSV into this directory (episodes, eval, training, rl)." };
        var cmd = new Command("report", "Write the analysis of a recipe run as an offline HTML report (charts draw with no network); given several runs (seeds), print their aggregate: per-run values, the mean and a 95% interval over runs and tasks.");
        cmd.Arguments.Add(run); cmd.Options.Add(compare); cmd.Options.Add(output); cmd.Options.Add(csv);
        cmd.SetAction(async (ParseResult pr, CancellationToken ct) =>
        {
            var err = pr.InvocationConfiguration.Error;
            try
            {
                var runs = pr.GetValue(run)!;
                if (runs.Length > 1)
                {
                    if (pr.GetValue(compare) is not null) throw new QuestInputException("--compare", null, null, "--compare takes one run", "one run with --compare, or several runs for the seed aggregate");
                    var md = Quest.Recipe.SeedAggregate.ToMarkdown(runs, Quest.Recipe.SeedAggregate.Of(runs));
                    pr.InvocationConfiguration.Output.Write(md);
                    if (pr.GetValue(output) is { } mdFile) { AtomicFile.WriteAllText(QuestPaths.OutputFile(mdFile, "--out"), md); pr.InvocationConfiguration.Output.WriteLine($"wrote {Path.GetFullPath(mdFile)}"); }
                    return 0;
                }
                var data = RunData.Load(runs[0]);
                var other = pr.GetValue(compare) is { } c ? RunData.Load(c) : null;
                var path = await RunReport.WriteAsync(data, pr.GetValue(output) is { } file ? QuestPaths.OutputFile(file, "--out") : Path.Combine(data.Dir, "report.html"), other, ct);
                pr.InvocationConfiguration.Output.WriteLine($"wrote {path} ({new FileInfo(path).Length / 1024:N0} KB; models with eval rollouts: {(data.Models.Count == 0 ? "none yet" : string.Join(", ", data.Models))})");
                if (pr.GetValue(csv) is { } dir)
                    foreach (var f in RunFrames.SaveCsv(data, dir)) pr.InvocationConfiguration.Output.WriteLine($"wrote {f}");
                return 0;
            }
            catch (Exception e) { return CliGuard.Report(err, e); }
        });
        return cmd;
    }
}
