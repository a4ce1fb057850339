#!/usr/bin/env -S dotnet run
// The analysis of a recipe run as a .NET file-based app (no project file): the same tables and charts as notebook 08
// and `quest report`, written to one offline HTML page and CSV files.
//
//   dotnet run notebooks/scripts/analyze_run.cs -- data/artifacts/recipe/tiny [OUT.html] [--compare OTHER_RUN]
//
// File-based apps default to trimming-friendly settings; the kit's JSON uses reflection, hence the two properties.
#:project ../../src/Quest.Analysis/Quest.Analysis.csproj
#:package System.CommandLine
#:property JsonSerializerIsReflectionEnabledByDefault=true
#:property PublishAot=false
using System.CommandLine;
using System.Globalization;
using Quest.Analysis;
using Quest.Core;

var runArg = new Argument<string>("run") { Description = "A recipe run directory (e.g. data/artifacts/recipe/tiny)." };
var outArg = new Argument<string?>("out") { Description = "The HTML file (default RUN/report.html).", Arity = ArgumentArity.ZeroOrOne };
var compare = new Option<string?>("--compare") { Description = "A second run directory to compare with (another seed, preset or commit)." };
var root = new RootCommand("Write the analysis of a recipe run as one offline HTML page and CSV tables.") { runArg, outArg, compare };
root.SetAction(async (ParseResult pr, CancellationToken ct) =>
{
    try
    {
        var run = RunData.Load(pr.GetValue(runArg)!);
        var other = pr.GetValue(compare) is { } c ? RunData.Load(c) : null;
        Console.WriteLine($"{run.Name}: stages {string.Join(", ", run.Stages.Select(s => s.Stage))}; models with eval rollouts: {string.Join(", ", run.Models)}");
        foreach (var r in RunAnalysis.Rewards(run))
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  {r.Model,-10} test reward {RunAnalysis.Interval(r.Mean, r.Lo, r.Hi)} over {r.Tasks} tasks"));
        var html = await RunReport.WriteAsync(run, pr.GetValue(outArg) ?? Path.Combine(run.Dir, "report.html"), other, ct);
        Console.WriteLine($"wrote {html}");
        foreach (var f in RunFrames.SaveCsv(run, Path.Combine(run.Dir, "csv"))) Console.WriteLine($"wrote {f}");
        return 0;
    }
    catch (QuestInputException e)
    {
        Console.Error.WriteLine($"analyze_run: {e.Message}");
        return 2;
    }
});
return await root.Parse(args).InvokeAsync();
