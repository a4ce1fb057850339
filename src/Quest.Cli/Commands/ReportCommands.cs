using System.CommandLine;
using Quest.Analysis;
using Quest.Core;

namespace Quest.Cli.Commands;

/// <summary>
/// <c>quest report RUN_DIR [--compare RUN_DIR2] [--out FILE] [--csv DIR]</c>: a recipe run's report card
/// (<see cref="ReportCard"/>, Markdown) and its reading as one offline HTML page (stage ablation with intervals, reward
/// by family and complexity, pass@k, terminations and invalid-turn causes, failing rubric leaves, context per turn,
/// training curves, a win and a loss), and its tables as CSV. <c>quest report RUN1 RUN2 …</c> compares runs.
/// </summary>
public static class ReportCommands
{
    /// <summary>Builds <c>quest report</c>.</summary>
    public static Command Create()
    {
        var run = new Argument<string[]>("run") { Description = "A recipe run directory (e.g. data/artifacts/recipe/tiny); several runs (seeds) give the seed aggregate instead.", Arity = ArgumentArity.OneOrMore };
        var compare = new Option<string?>("--compare") { Description = "A second run directory to compare with (e.g. another seed or preset)." };
        var outputOption = new Option<string?>("--out") { Description = "The HTML report (default RUN/report.html; the Markdown card is written beside it with .md); with several runs, a Markdown file for the comparison and seed aggregate, with an HTML page of overlaid curves beside it (default: print it only)." };
        var csv = new Option<string?>("--csv") { Description = "Also write the run's tables as CSV into this directory (episodes, eval, training, rl)." };
        var cmd = new Command("report", "Write a recipe run's report card (report.md: provenance, wall time per stage, the stage ablation on both test sets, curves in numbers, links to trajectories) and its analysis as an offline HTML page (charts draw with no network); given several runs (seeds, presets, commits), compare them: a table per run, the seed aggregate (the mean and a 95% interval over runs and tasks) and overlaid curves.");
        cmd.Arguments.Add(run); cmd.Options.Add(compare); cmd.Options.Add(outputOption); cmd.Options.Add(csv);
        cmd.SetAction(async (ParseResult pr, CancellationToken ct) =>
        {
            var err = pr.InvocationConfiguration.Error;
            var o = pr.InvocationConfiguration.Output;
            try
            {
                var runs = pr.GetValue(run)!;
                var output = pr.GetValue(outputOption) is { } file ? QuestPaths.OutputFile(file, "--out") : null;
                if (runs.Length > 1)
                {
                    if (pr.GetValue(compare) is not null) throw new QuestInputException("--compare", null, null, "--compare takes one run", "one run with --compare, or several runs for the seed aggregate");
                    var all = runs.Select(RunData.Load).ToList();
                    var md = ReportCard.Compare(all);
                    o.Write(md);
                    if (output is not null)
                    {
                        var mdPath = Path.ChangeExtension(output, ".md");   // --out x.md or x.html: the card and the page side by side
                        AtomicFile.WriteAllText(mdPath, md);
                        var html = new Quest.Interactive.HtmlReport($"{all.Count} Quest recipe runs compared");
                        html.Pre(md);
                        foreach (var t in new[] { "rl", "sft", "pretrain" }) html.Add(RunCharts.Overlay(all, t));
                        var htmlPath = html.Save(Path.ChangeExtension(output, ".html"));
                        o.WriteLine($"wrote {mdPath} and {htmlPath}");
                    }
                    return 0;
                }
                var data = RunData.Load(runs[0]);
                var other = pr.GetValue(compare) is { } c ? RunData.Load(c) : null;
                var path = await RunReport.WriteAsync(data, Path.ChangeExtension(output ?? Path.Combine(data.Dir, "report.html"), ".html"), other, ct);
                var card = ReportCard.Write(data, Path.ChangeExtension(path, ".md"));
                o.WriteLine($"wrote {path} ({new FileInfo(path).Length / 1024:N0} KB; models with eval rollouts: {(data.Models.Count == 0 ? "none yet" : string.Join(", ", data.Models))}) and {card}");
                if (pr.GetValue(csv) is { } dir)
                    foreach (var f in RunFrames.SaveCsv(data, dir)) o.WriteLine($"wrote {f}");
                return 0;
            }
            catch (Exception e) { return CliGuard.Report(err, e); }
        });
        return cmd;
    }
}
