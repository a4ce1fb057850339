using System.CommandLine;
using System.Globalization;
using Quest.Core;
using Quest.Recipe;
using Spectre.Console;

namespace Quest.Cli.Commands;

/// <summary>
/// <c>quest recipe [--preset tiny|small|notebook|dN] [--out DIR] [--seed N] [--resume] [--stages a,b]</c>: the whole QUEST recipe
/// (world → synth → teacher → pretrain → sft → eval) in one command, one progress line per step, ending with the eval
/// table (SFT model vs. the pretrain-only baseline). Ctrl-C keeps finished stages (and the interrupted training
/// stage's checkpoint); <c>--resume</c> continues. Bad input: stderr, exit 2; cancelled: exit 130.
/// </summary>
public static class RecipeCommands
{
    /// <summary>Builds the command.</summary>
    public static Command Create()
    {
        var preset = new Option<string>("--preset") { Description = "Size: tiny (depth 4: 3,000 SFT steps, 130 RL steps; see the README for its wall time on 2 cores), long (tiny with twice the RL steps, 260), notebook (a few minutes; what notebooks 06-08 read), or the one size dial itself, d<depth> (e.g. d6: model width, window, vocabulary, steps and learning rates follow from the depth).", DefaultValueFactory = _ => "tiny" };
        var output = new Option<string?>("--out") { Description = "Run directory (default data/artifacts/recipe/PRESET)." };
        var seed = new Option<int>("--seed") { Description = "Master seed (world, tasks, model init, data order).", DefaultValueFactory = _ => 1 };
        var resume = new Option<bool>("--resume") { Description = "Continue the run in --out: finished stages are skipped, an interrupted one resumes." };
        var stages = new Option<string?>("--stages") { Description = $"Only these stages (comma-separated: {string.Join(',', Quest.Recipe.Recipe.StageNames)}); earlier outputs must exist." };
        var set = new Option<string[]>("--set") { Description = "Override one recipe option of the preset, as its recipe.json name: --set page_worlds=2 --set rl_steps=200 (repeatable; recorded in recipe.json).", AllowMultipleArgumentsPerToken = false };
        var cmd = new Command("recipe", $"Run the whole QUEST recipe end to end: {string.Join(", ", Quest.Recipe.Recipe.StageNames)} (on the fresh world and the held-out split), resumable.");
        foreach (var o in new Option[] { preset, output, seed, resume, stages, set }) cmd.Options.Add(o);
        cmd.SetAction(async (ParseResult pr, CancellationToken ct) =>
        {
            var outW = pr.InvocationConfiguration.Output;
            var err = pr.InvocationConfiguration.Error;
            RecipeOptions options;
            try
            {
                options = RecipeOptions.FromPreset(pr.GetValue(preset)!);
                options = RecipeOptions.Override(options, pr.GetValue(set) ?? []);
                options = options with { Seed = pr.GetValue(seed), OutDir = pr.GetValue(output) is { } outDir ? QuestPaths.OutputDirectory(outDir, "--out") : Path.GetFullPath(options.OutDir) };
                options.Validate();
                if (Recipe.Recipe.Exists(options.OutDir) && !pr.GetValue(resume))
                    throw new QuestInputException(options.OutDir, null, null, "the directory already holds a recipe run", "--resume to continue it, or another --out");
            }
            catch (Exception e) { return CliGuard.Report(err, e); }
            var only = pr.GetValue(stages) is { Length: > 0 } s ? s.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries) : null;
            // Ctrl-C: System.CommandLine gives the action a short grace period and then lets the process exit, which would
            // tear libtorch down under a training step in flight (a crash, and the steps since the last checkpoint lost).
            // Holding process exit until the recipe has stopped lets the trainer finish its step and write its checkpoint.
            using var stopped = new ManualResetEventSlim(false);
            EventHandler hold = (_, _) => stopped.Wait(TimeSpan.FromMinutes(2));
            AppDomain.CurrentDomain.ProcessExit += hold;
            try
            {
                await foreach (var e in Recipe.Recipe.RunAsync(options, only, ct)) { outW.WriteLine(e.ToString()); outW.Flush(); }
            }
            catch (Exception e) { return CliGuard.Report(err, e, $"cancelled: finished stages are kept in {options.OutDir}; run again with --resume to continue"); }
            finally
            {
                stopped.Set();
                AppDomain.CurrentDomain.ProcessExit -= hold;
            }
            if (only is null || only.Contains("eval"))
            {
                var summary = RecipeSummary.Read(options.OutDir);
                WriteReport(outW, summary);
            }
            return 0;
        });
        return cmd;
    }

    private static void WriteReport(TextWriter w, RecipeSummary s)
    {
        var console = CliConsole.For(w, 160);
        var stages = new Table().Title("stages").AddColumn("stage").AddColumn(new TableColumn("seconds").RightAligned()).AddColumn("metrics");
        foreach (var r in s.Stages)
            stages.AddRow(r.Stage, r.Seconds.ToString("0.0", CultureInfo.InvariantCulture),
                Markup.Escape(string.Join(" ", r.Metrics.Select(kv => $"{kv.Key}={kv.Value.ToString("0.####", CultureInfo.InvariantCulture)}"))));
        stages.AddRow("[bold]total[/]", s.Stages.Sum(r => r.Seconds).ToString("0.0", CultureInfo.InvariantCulture), "");
        console.Write(stages);
        w.WriteLine();
        w.Write(s.FormatTable());
    }
}
