using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using Quest.Core;
using Quest.Synthesis;
using Quest.Synthesis.Export;
using Quest.Synthesis.Families;
using Quest.Synthesis.Teacher;
using Quest.Synthesis.Verification;
using Quest.World;
using Quest.World.Tools;
using Spectre.Console;

namespace Quest.Cli.Commands;

/// <summary>
/// Task synthesis: <c>quest synth --corpus NAME [--family F]… --count N --out FILE [--seed S]</c> writes verified tasks
/// (JSONL) and prints the rejection summary; <c>quest synth export --tasks FILE --format verl|sharegpt --out PATH</c>
/// writes RL parquet or SFT ShareGPT (teacher trajectories), each read back; <c>quest synth verify --tasks FILE</c>
/// re-scores every reference and negative. Bad input: message to stderr, exit 2.
/// </summary>
public static class SynthCommands
{
    /// <summary>Builds the command.</summary>
    public static Command Create()
    {
        var corpus = new Option<string>("--corpus") { Description = "Corpus: a stored corpus (e.g. foldoc) or world, world-tiny, world-small, world:PAGES[:SEED].", Required = true };
        var family = new Option<string[]>("--family") { Description = "Family (repeatable): multihop, constraint, list, citation, report. Default: a balanced mix of all.", AllowMultipleArgumentsPerToken = true };
        var count = new Option<int>("--count") { Description = "Number of tasks.", DefaultValueFactory = _ => 20 };
        var output = new Option<string>("--out") { Description = "Output task file (JSONL).", Required = true };
        var seed = new Option<int>("--seed") { Description = "Run seed (same seed, same tasks).", DefaultValueFactory = _ => 1 };
        var test = new Option<double>("--test-fraction") { Description = "Share of seed entities in the test split.", DefaultValueFactory = _ => 0.2 };
        var attempts = new Option<int>("--max-attempts") { Description = "Candidates tried per task before giving the slot up.", DefaultValueFactory = _ => 40 };
        var cmd = new Command("synth", "Synthesize verified tasks with rubric trees (balanced families and complexity classes C1-C9).");
        foreach (var o in new Option[] { corpus, family, count, output, seed, test, attempts }) cmd.Options.Add(o);
        cmd.SetAction(async (ParseResult pr, CancellationToken ct) =>
        {
            try
            {
                int n = pr.GetValue(count);
                if (n < 1) throw new QuestInputException("--count", null, null, $"{n}", "a positive number of tasks");
                var outFile = QuestPaths.OutputFile(pr.GetValue(output), "--out");   // checked before the work, not after
                var fams = (pr.GetValue(family) ?? []).Select(Synthesizer.Family).ToList();
                using var sc = WorldEnvironment.Open(pr.GetValue(corpus)!);
                var synth = new Synthesizer(sc.Graph, fams.Count == 0 ? null : fams);
                var options = new SynthesisOptions { Count = n, Seed = pr.GetValue(seed), TestFraction = pr.GetValue(test), MaxAttemptsPerTask = pr.GetValue(attempts) };
                var console = CliConsole.For(pr.InvocationConfiguration.Output, 200);
                SynthesisResult result;
                if (ReferenceEquals(pr.InvocationConfiguration.Output, Console.Out) && !Console.IsOutputRedirected)
                {
                    SynthesisResult? r = null;
                    await console.Progress().Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new RemainingTimeColumn())
                        .StartAsync(async ctx =>
                        {
                            var bar = ctx.AddTask($"synth {sc.Name}", maxValue: n);
                            r = await synth.RunAsync(options, new InlineProgress(p =>
                            {
                                bar.Value = p.Done;
                                bar.Description = $"synth {sc.Name}: {p.Accepted} accepted / {p.Candidates} candidates";
                            }), ct);
                        });
                    result = r!;
                }
                else result = await synth.RunAsync(options, null, ct);
                TaskFile.Write(outFile, result.Tasks);
                var summaryPath = Path.ChangeExtension(outFile, ".summary.json");
                AtomicFile.WriteAllText(summaryPath, JsonSerializer.Serialize(Summary(sc.Name, result), JsonFiles.Indented));
                WriteSummary(console, sc.Name, result);
                console.MarkupLine($"wrote [bold]{result.Tasks.Count}[/] tasks to {Markup.Escape(outFile)} (summary: {Markup.Escape(summaryPath)})");
                return result.Tasks.Count == 0 ? 1 : 0;
            }
            catch (Exception e) { return CliGuard.Report(pr.InvocationConfiguration.Error, e); }
        });
        cmd.Subcommands.Add(Export());
        cmd.Subcommands.Add(Verify());
        return cmd;
    }

    private sealed class InlineProgress(Action<SynthesisProgress> a) : IProgress<SynthesisProgress>
    {
        public void Report(SynthesisProgress value) => a(value);
    }

    /// <summary>The run summary as a JSON-friendly object (tasks per family and class, rejections per reason).</summary>
    public static Dictionary<string, object> Summary(string corpus, SynthesisResult r) => new()
    {
        ["corpus"] = corpus,
        ["tasks"] = r.Tasks.Count,
        ["candidates"] = r.Candidates,
        ["empty_slots"] = r.EmptySlots,
        ["by_family"] = r.Tasks.GroupBy(t => t.Family).ToDictionary(g => g.Key, g => g.Count()),
        ["by_complexity"] = r.Tasks.GroupBy(t => t.Complexity).OrderBy(g => g.Key).ToDictionary(g => g.Key, g => g.Count()),
        ["by_split"] = r.Tasks.GroupBy(t => t.Split).ToDictionary(g => g.Key, g => g.Count()),
        ["rejected"] = r.Rejected.OrderByDescending(x => x.Value).ToDictionary(x => x.Key, x => x.Value),
    };

    private static void WriteSummary(IAnsiConsole console, string corpus, SynthesisResult r)
    {
        var fams = r.Tasks.Select(x => x.Family).Concat(r.RejectedByFamily.Keys.Select(k => k.Family)).Distinct().ToList();
        var t = new Table().Title($"synthesis on {Markup.Escape(corpus)}: {r.Tasks.Count} tasks from {r.Candidates} candidates").AddColumn("");
        foreach (var f in fams) t.AddColumn(new TableColumn(Markup.Escape(f)).RightAligned());
        t.AddColumn(new TableColumn("total").RightAligned());
        t.AddRow(["[bold]accepted[/]", .. fams.Select(f => r.Tasks.Count(x => x.Family == f).ToString(CultureInfo.InvariantCulture)), $"[bold]{r.Tasks.Count}[/]"]);
        foreach (var reason in r.RejectedByFamily.Keys.Select(k => k.Reason).Distinct().OrderBy(x => x, StringComparer.Ordinal))
            t.AddRow(["rejected: " + Markup.Escape(reason), .. fams.Select(f => r.RejectedByFamily.GetValueOrDefault((f, reason)).ToString(CultureInfo.InvariantCulture)),
                r.Rejected.GetValueOrDefault(reason).ToString(CultureInfo.InvariantCulture)]);
        console.Write(t);
        if (r.EmptySlots > 0) console.MarkupLine($"[yellow]{r.EmptySlots} slot(s) found no verified task within the attempt budget[/]");
    }

    // ------------------------------------------------------------------ export

    private static Command Export()
    {
        var tasks = new Option<string>("--tasks") { Description = "Task file (JSONL from quest synth).", Required = true };
        var format = new Option<string>("--format") { Description = "verl (RL parquet) or sharegpt (SFT, teacher trajectories).", Required = true };
        format.AcceptOnlyFromAmong("verl", "sharegpt");
        var output = new Option<string>("--out") { Description = "Output file (.parquet for verl, .json for sharegpt; dataset_info.json is written beside it).", Required = true };
        var corpus = new Option<string?>("--corpus") { Description = "Corpus for the tools (default: the tasks' corpus)." };
        var threshold = new Option<int?>("--context-threshold") { Description = "sharegpt: context-manager threshold in tokens (sessions become separate samples)." };
        var split = new Option<string?>("--split") { Description = "Only tasks of this split (train or test)." };
        var c = new Command("export", "Export tasks as verl parquet rows or LlamaFactory ShareGPT (the oracle teacher's transcripts); both are read back.");
        foreach (var o in new Option[] { tasks, format, output, corpus, threshold, split }) c.Options.Add(o);
        c.SetAction(async (ParseResult pr, CancellationToken ct) =>
        {
            try
            {
                var list = TaskFile.Read(pr.GetValue(tasks)!).Where(t => pr.GetValue(split) is not { } s || t.Split == s).ToList();
                if (list.Count == 0) throw new QuestInputException(pr.GetValue(tasks), null, null, "no tasks to export", "a non-empty task file (or another --split)");
                var name = pr.GetValue(corpus) ?? list[0].Corpus;
                using var sc = WorldEnvironment.Open(name);
                var synth = new Synthesizer(sc.Graph);
                var teacher = new OracleTeacher(sc.ToolsSized(ToolSizes.Quest), synth.Verifier.Reward, new TeacherOptions { ContextThreshold = pr.GetValue(threshold) });
                var console = CliConsole.For(pr.InvocationConfiguration.Output, 200);
                var outPath = QuestPaths.OutputFile(pr.GetValue(output), "--out");
                if (pr.GetValue(format) == "verl")
                {
                    var rows = await VerlParquet.WriteAsync(outPath, list, teacher.SystemPrompt, ct);
                    console.MarkupLine($"wrote {rows.Count} verl rows to {Markup.Escape(outPath)} (read back: ok)");
                    return 0;
                }
                var samples = new List<ShareGptSample>();
                int solved = 0, sessions = 0;
                var rewards = new List<double>();
                foreach (var t in list)
                {
                    var r = await teacher.SolveAsync(t, ct);
                    rewards.Add(r.Reward.Total);
                    if (r.Reward.Total < 1.0 - 1e-9) { pr.InvocationConfiguration.Error.WriteLine($"warning: teacher reward {r.Reward.Total:0.###} on {t.Id}; left out"); continue; }
                    solved++; sessions += r.Trajectory.Sessions.Count;
                    samples.AddRange(OracleTeacher.ToShareGpt(r.Trajectory));
                }
                var back = ShareGpt.Write(outPath, samples);
                console.MarkupLine($"teacher solved {solved}/{list.Count} tasks at reward 1.0 (mean reward {rewards.Average():0.###}); "
                    + $"wrote {back.Count} ShareGPT samples ({sessions} sessions) to {Markup.Escape(outPath)} (read back: ok)");
                return solved == list.Count ? 0 : 1;
            }
            catch (Exception e) { return CliGuard.Report(pr.InvocationConfiguration.Error, e); }
        });
        return c;
    }

    // ------------------------------------------------------------------ verify

    private static Command Verify()
    {
        var tasks = new Option<string>("--tasks") { Description = "Task file (JSONL).", Required = true };
        var corpus = new Option<string?>("--corpus") { Description = "Corpus (default: the tasks' corpus)." };
        var c = new Command("verify", "Re-score every task's reference answer (must be 1.0) and negatives (must be < 1.0) from the file's own rubrics.");
        c.Options.Add(tasks); c.Options.Add(corpus);
        c.SetAction(async (ParseResult pr, CancellationToken ct) =>
        {
            try
            {
                var list = TaskFile.Read(pr.GetValue(tasks)!);
                if (list.Count == 0) throw new QuestInputException(pr.GetValue(tasks), null, null, "no tasks", "a non-empty task file");
                using var sc = WorldEnvironment.Open(pr.GetValue(corpus) ?? list[0].Corpus);
                var v = new TaskVerifier(new TaskScorer(sc.Graph.PageTextAsync));
                var table = new Table().AddColumn("id").AddColumn("family").AddColumn("C").AddColumn(new TableColumn("reference").RightAligned()).AddColumn(new TableColumn("max negative").RightAligned()).AddColumn("ok");
                int bad = 0;
                foreach (var t in list)
                {
                    var r = await v.ScoreAnswerAsync(t, t.Reference.AnswerText, ct);
                    double neg = 0;
                    foreach (var n in t.Negatives) neg = Math.Max(neg, await v.ScoreAnswerAsync(t, n.Answer, ct));
                    bool ok = r >= 1.0 - 1e-9 && neg < 1.0 - 1e-9 && t.Negatives.Count > 0;
                    if (!ok) bad++;
                    table.AddRow(Markup.Escape(t.Id), t.Family, t.Complexity, r.ToString("0.###", CultureInfo.InvariantCulture), neg.ToString("0.###", CultureInfo.InvariantCulture), ok ? "[green]yes[/]" : "[red]NO[/]");
                }
                var console = CliConsole.For(pr.InvocationConfiguration.Output, 200);
                console.Write(table);
                console.MarkupLine($"{list.Count - bad}/{list.Count} tasks verified");
                return bad == 0 ? 0 : 1;
            }
            catch (Exception e) { return CliGuard.Report(pr.InvocationConfiguration.Error, e); }
        });
        return c;
    }
}
