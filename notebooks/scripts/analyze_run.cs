#!/usr/bin/env -S dotnet run
// The analysis of a recipe run as a .NET file-based app (no project file): the same tables and charts as notebook 08
// and `quest report`, written to one offline HTML page and CSV files.
//
//   dotnet run notebooks/scripts/analyze_run.cs -- data/artifacts/recipe/tiny [OUT.html] [--compare OTHER_RUN]
//
// File-based apps default to trimming-friendly settings; the kit's JSON uses reflection, hence the two properties.
#:project ../../src/Quest.Analysis/Quest.Analysis.csproj
#:property JsonSerializerIsReflectionEnabledByDefault=true
#:property PublishAot=false
using System.Globalization;
using Quest.Analysis;
using Quest.Core;

var positional = args.Where(a => !a.StartsWith("--", StringComparison.Ordinal)).ToList();
int ci = Array.IndexOf(args, "--compare");
if (positional.Count < 1 || (ci >= 0 && ci + 1 >= args.Length))
{
    Console.Error.WriteLine("usage: dotnet run notebooks/scripts/analyze_run.cs -- RUN_DIR [OUT.html] [--compare OTHER_RUN]");
    return 2;
}
try
{
    var run = RunData.Load(positional[0]);
    var other = ci >= 0 ? RunData.Load(args[ci + 1]) : null;
    if (other is not null) positional.Remove(args[ci + 1]);
    Console.WriteLine($"{run.Name}: stages {string.Join(", ", run.Stages.Select(s => s.Stage))}; models with eval rollouts: {string.Join(", ", run.Models)}");
    foreach (var r in RunAnalysis.Rewards(run))
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  {r.Model,-10} test reward {RunAnalysis.Interval(r.Mean, r.Lo, r.Hi)} over {r.Tasks} tasks"));
    var html = await RunReport.WriteAsync(run, positional.Count > 1 ? positional[1] : Path.Combine(run.Dir, "report.html"), other);
    Console.WriteLine($"wrote {html}");
    foreach (var f in RunFrames.SaveCsv(run, Path.Combine(run.Dir, "csv"))) Console.WriteLine($"wrote {f}");
    return 0;
}
catch (QuestInputException e)
{
    Console.Error.WriteLine($"analyze_run: {e.Message}");
    return 2;
}
