using System.Globalization;
using System.Text;
using Quest.Eval;
using Quest.Agent.Rollout;
using Quest.Recipe;

namespace Quest.Analysis;

/// <summary>
/// A run's report card as Markdown (<c>quest report RUN</c> writes it as <c>report.md</c> beside <c>report.html</c>;
/// nanochat's <c>report.md</c> is the model): where and with what it ran (commit, machine, CPU flags, .NET, TorchSharp and
/// libtorch, each invocation's command), the preset, seed and the settings that differ from the preset, wall time per
/// stage, the stage ablation on each test set with intervals, per family and complexity class, the recall gap, the
/// training curves in numbers, and links to the trajectories. Every path is relative to the run directory, so the card
/// reads the same wherever the run is copied.
/// </summary>
public static class ReportCard
{
    /// <summary>The card of <paramref name="run"/>.</summary>
    public static string Markdown(RunData run)
    {
        var sb = new StringBuilder();
        var o = run.Options;
        var invocations = Quest.Recipe.Provenance.Read(run.Paths);
        sb.AppendLine($"# Quest recipe run `{Path.GetFileName(run.Dir)}`: preset {o.Preset}, seed {o.Seed}").AppendLine();
        Provenance(sb, run, invocations);
        Stages(sb, run, invocations);
        if (run.Summary is { } s) Results(sb, s);
        else sb.AppendLine("No `summary.json` yet: the eval stage has not finished (`quest recipe --resume --out DIR`).").AppendLine();
        Curves(sb, run);
        Files(sb, run);
        return sb.ToString();
    }

    /// <summary>Writes the card to <paramref name="path"/> (atomically) and returns the full path.</summary>
    public static string Write(RunData run, string path)
    {
        var full = Path.GetFullPath(path);
        Quest.Core.AtomicFile.WriteAllText(full, Markdown(run));
        return full;
    }

    /// <summary>
    /// Several runs side by side (Markdown): per run its preset, seed, overrides, commit, wall time, each model's fresh-world
    /// and held-out reward and the RL train reward's first and last tenth; then the seed aggregate
    /// (<see cref="SeedAggregate"/>) when every run has a summary.
    /// </summary>
    public static string Compare(IReadOnlyList<RunData> runs)
    {
        var sb = new StringBuilder();
        sb.AppendLine($"# {runs.Count} Quest recipe runs compared").AppendLine();
        sb.AppendLine("| run | preset | seed | overrides | commit | wall | fresh MT+SFT | fresh MT+SFT+RL | held-out MT+SFT | held-out MT+SFT+RL | RL train reward (first → last tenth) |");
        sb.AppendLine("|---|---|---:|---|---|---:|---:|---:|---:|---:|---|");
        foreach (var run in runs)
        {
            var inv = Quest.Recipe.Provenance.Read(run.Paths);
            var commits = inv.Select(p => p.Commit is { Length: >= 7 } c ? c[..7] : "unknown").Distinct().ToList();
            string Reward(string set, string model) => run.Summary?.Eval.FirstOrDefault(r => r.Set == set && r.Model == model && r.Group == "all test") is { } r ? Inv($"{r.MeanReward:0.000}") : "–";
            var rl = run.Rl().Select(x => x.RewardMean).ToList();
            var overrides = Overrides(run.Options);
            sb.AppendLine($"| {Path.GetFileName(run.Dir)} | {run.Options.Preset} | {run.Options.Seed} | {(overrides is null ? "(not a named preset)" : overrides.Count == 0 ? "–" : string.Join(", ", overrides))} | {(commits.Count == 0 ? "unknown" : string.Join(", ", commits))} | "
                + $"{Duration(run.Stages.Sum(s => s.Seconds))} | {Reward(TestSets.FreshWorld, "sft")} | {Reward(TestSets.FreshWorld, "rl")} | {Reward(TestSets.HeldOut, "sft")} | {Reward(TestSets.HeldOut, "rl")} | "
                + (rl.Count == 0 ? "–" : Inv($"{Tenth(rl, true):0.000} → {Tenth(rl, false):0.000}")) + " |");
        }
        sb.AppendLine();
        if (runs.All(r => r.Summary is not null))
        {
            sb.AppendLine("## Seed aggregate").AppendLine();
            sb.AppendLine("Each run's mean reward, their mean, and a 95% interval from a two-level bootstrap (runs, then tasks within each run); `a→b` rows are paired stage differences.").AppendLine();
            var dirs = runs.Select(r => r.Dir).ToList();
            sb.Append(SeedAggregate.ToMarkdown(dirs, SeedAggregate.Of(dirs)));
        }
        return sb.ToString();
    }

    /// <summary>
    /// The settings of <paramref name="options"/> that differ from its preset's (<c>--set</c> overrides), as
    /// <c>name=value</c> (seed and directory left out: they are reported apart); null when the preset is not a named one.
    /// </summary>
    public static IReadOnlyList<string>? Overrides(RecipeOptions options)
    {
        RecipeOptions preset;
        try { preset = RecipeOptions.FromPreset(options.Preset); }
        catch (Quest.Core.QuestInputException) { return null; }
        var mine = System.Text.Json.JsonSerializer.SerializeToNode(options with { OutDir = "", Seed = 0 }, Quest.Recipe.Recipe.Json)!.AsObject();
        var theirs = System.Text.Json.JsonSerializer.SerializeToNode(preset with { OutDir = "", Seed = 0 }, Quest.Recipe.Recipe.Json)!.AsObject();
        return [.. mine.Where(kv => kv.Value?.ToJsonString() != theirs[kv.Key]?.ToJsonString()).Select(kv => $"{kv.Key}={kv.Value?.ToJsonString()}")];
    }

    private static string DescribeOverrides(RecipeOptions options) => Overrides(options) switch
    {
        null => $"'{options.Preset}' is not a named preset: every setting is in recipe.json",
        [] => "no overrides",
        var list => "overrides " + string.Join(", ", list),
    };

    /// <summary>
    /// Where and with what the run ran, a line each: its settings (preset, seed, overrides), then per invocation the start,
    /// commit and stages, the machine, the versions and the command. Shared by the Markdown card and the HTML report.
    /// </summary>
    public static IReadOnlyList<string> ProvenanceLines(RunData run) => ProvenanceLines(run, Quest.Recipe.Provenance.Read(run.Paths));

    private static IReadOnlyList<string> ProvenanceLines(RunData run, IReadOnlyList<Quest.Recipe.Provenance> inv)
    {
        var lines = new List<string> { $"settings: preset {run.Options.Preset}, seed {run.Options.Seed}, {DescribeOverrides(run.Options)}" };
        if (inv.Count == 0) lines.Add("no provenance.jsonl: the run predates it (commit and machine unknown)");
        foreach (var (p, i) in inv.Select((p, i) => (p, i)))
        {
            lines.Add($"invocation {i + 1}, started {p.StartedAt.UtcDateTime:yyyy-MM-dd HH:mm} UTC: commit {p.Commit ?? "unknown"}, {(p.Stages is null ? "all stages" : "stages " + string.Join(",", p.Stages))}");
            lines.Add($"  machine: {p.Machine}; TorchSharp {p.TorchSharp}, {p.Libtorch}, {p.TorchThreads} torch threads");
            if (p.Runtime.Count > 0) lines.Add($"  libtorch readied: {string.Join("; ", p.Runtime)}");
            lines.Add($"  command: {p.Command}");
        }
        return lines;
    }

    private static void Provenance(StringBuilder sb, RunData run, IReadOnlyList<Quest.Recipe.Provenance> invocations)
    {
        sb.AppendLine("## Provenance").AppendLine();
        foreach (var line in ProvenanceLines(run, invocations)) sb.AppendLine(line.StartsWith("  ", StringComparison.Ordinal) ? "  - " + line.TrimStart() : "- " + line);
        sb.AppendLine();
    }

    private static void Stages(StringBuilder sb, RunData run, IReadOnlyList<Quest.Recipe.Provenance> invocations)
    {
        if (run.Stages.Count == 0) return;
        var inv = invocations.ToList();
        sb.AppendLine("## Wall time per stage").AppendLine();
        sb.AppendLine("| stage | wall | completed (UTC) | invocation |");
        sb.AppendLine("|---|---:|---|---:|");
        foreach (var s in run.Stages)
        {
            var p = Quest.Recipe.Provenance.Of(inv, s);
            sb.AppendLine($"| {s.Stage} | {Duration(s.Seconds)} | {s.CompletedAt.UtcDateTime:yyyy-MM-dd HH:mm} | {(p is null ? "–" : (inv.IndexOf(p) + 1).ToString(CultureInfo.InvariantCulture))} |");
        }
        sb.AppendLine($"| **total** | **{Duration(run.Stages.Sum(s => s.Seconds))}** | | |").AppendLine();
    }

    private static void Results(StringBuilder sb, RecipeSummary s)
    {
        foreach (var (set, title) in new[] { (TestSets.FreshWorld, "Fresh world (the headline: a world no stage read)"), (TestSets.HeldOut, "Held-out split (training world: its pages were read)") })
        {
            var all = s.Eval.Where(r => r.Set == set && r.Group == "all test").ToList();
            if (all.Count == 0) continue;
            sb.AppendLine($"## {title}").AppendLine();
            sb.AppendLine("| model | tasks | mean reward | pass@1 | answered | valid turns | no run |");
            sb.AppendLine("|---|---:|---:|---:|---:|---:|---:|");
            foreach (var r in all)
                sb.AppendLine(Inv($"| {r.Model} | {r.Tasks} | {r.MeanReward:0.000} | {r.PassAt1:0.0}% | {r.AnsweredPct:0.0}% | {r.ProtocolValidPct:0.0}% | {r.PolicyErrors} |"));
            sb.AppendLine();
            var cs = s.Ablation.Where(a => a.Set == set).ToList();
            if (cs.Count > 0)
            {
                sb.AppendLine("Each stage against the one before it (paired over the same tasks, bootstrap 95% interval; * = above 0):").AppendLine();
                sb.AppendLine("| stage | tasks | Δ mean reward | 95% interval |");
                sb.AppendLine("|---|---:|---:|---|");
                foreach (var c in cs) sb.AppendLine(Inv($"| {c.From} → {c.To} | {c.Tasks} | {c.MeanDiff:+0.000;-0.000;0.000} | [{c.Lo:+0.000;-0.000;0.000}, {c.Hi:+0.000;-0.000;0.000}]{(c.Lo > 0 ? " *" : "")} |"));
                sb.AppendLine();
            }
            foreach (var key in new[] { "family", "complexity" })
            {
                var rows = s.Eval.Where(r => r.Set == set && r.Group.StartsWith(key + ":", StringComparison.Ordinal)).ToList();
                if (rows.Count == 0) continue;
                var models = rows.Select(r => r.Model).Distinct().ToList();
                sb.AppendLine($"| {key} | {string.Join(" | ", models)} |");
                sb.AppendLine($"|---|{string.Concat(models.Select(_ => "---:|"))}");
                foreach (var g in rows.GroupBy(r => r.Group[(key.Length + 1)..]).OrderBy(g => g.Key, StringComparer.Ordinal))
                    sb.AppendLine($"| {g.Key} ({g.First().Tasks}) | {string.Join(" | ", models.Select(m => g.FirstOrDefault(r => r.Model == m) is { } r ? Inv($"{r.MeanReward:0.000}") : "–"))} |");
                sb.AppendLine();
            }
        }
        if (s.RecallGaps.Count > 0)
        {
            sb.AppendLine("## What recall buys (held-out split minus fresh world)").AppendLine();
            sb.AppendLine("| model | held-out | fresh | gap | 95% interval |");
            sb.AppendLine("|---|---:|---:|---:|---|");
            foreach (var g in s.RecallGaps) sb.AppendLine(Inv($"| {g.Model} | {g.HeldOut:0.000} | {g.Fresh:0.000} | {g.Gap:+0.000;-0.000;0.000} | [{g.Lo:+0.000;-0.000;0.000}, {g.Hi:+0.000;-0.000;0.000}] |"));
            sb.AppendLine();
        }
    }

    private static void Curves(StringBuilder sb, RunData run)
    {
        var lines = new List<string>();
        foreach (var stage in new[] { "copy", "pretrain", "sft" })
        {
            var steps = run.Training(stage);
            if (steps.Count == 0) continue;
            var evals = steps.Where(x => x.EvalLoss is not null).Select(x => Inv($"{x.Step}: {x.EvalLoss:0.000}")).ToList();
            var losses = steps.Select(x => x.Loss).ToList();
            lines.Add(Inv($"| {stage} | {steps.Count} | {Tenth(losses, first: true):0.000} → {Tenth(losses, first: false):0.000} | {(evals.Count == 0 ? "–" : string.Join(", ", evals))} |"));
        }
        var rl = run.Rl();
        if (lines.Count == 0 && rl.Count == 0) return;
        sb.AppendLine("## Training curves").AppendLine();
        if (lines.Count > 0)
        {
            sb.AppendLine("| trainer | steps | train loss, first tenth → last tenth | held-out loss (step: loss) |");
            sb.AppendLine("|---|---:|---|---|");
            foreach (var l in lines) sb.AppendLine(l);
            sb.AppendLine();
        }
        if (rl.Count > 0)
        {
            var r = rl.Select(x => x.RewardMean).ToList();
            sb.AppendLine(Inv($"RL: {rl.Count} steps, train reward {Tenth(r, true):0.000} (first tenth) → {Tenth(r, false):0.000} (last tenth), ")
                + Inv($"zero-variance groups {rl.Average(x => x.ZeroVarianceShare):0%}, {string.Concat(UpdateMeans(rl).Select(kv => Inv($"mean {kv.Key.Replace('_', ' ')} {kv.Value:0.000}, ")))}valid turns {rl[^1].ValidTurnRate:0%} at the end, ")
                + Inv($"rollouts {rl.Sum(x => x.RolloutSeconds):0} s and updates {rl.Sum(x => x.UpdateSeconds):0} s.")).AppendLine();
        }
    }

    /// <summary>The mean of each of the RL update's named measures over the steps that report it.</summary>
    private static IEnumerable<KeyValuePair<string, double>> UpdateMeans(IReadOnlyList<RlStepReport> rl) =>
        rl.SelectMany(x => x.Update.Keys).Distinct().Select(k => KeyValuePair.Create(k, rl.Where(x => x.Update.ContainsKey(k)).Average(x => x.Update[k])));

    private static void Files(StringBuilder sb, RunData run)
    {
        var links = new List<string>();
        foreach (var (dir, set) in new[] { (run.Paths.EvalFresh, "fresh world"), (run.Paths.Eval, "held-out split") })
            foreach (var (model, _) in RecipeEval.Models(run.Paths))
            {
                var f = Path.Combine(dir, model, RolloutRunner.TrajectoriesFile);
                if (File.Exists(f)) links.Add($"[{model} on the {set}]({Path.GetRelativePath(run.Dir, f)})");
            }
        if (File.Exists(run.Paths.TeacherTrajectories)) links.Add($"[teacher]({Path.GetRelativePath(run.Dir, run.Paths.TeacherTrajectories)})");
        if (links.Count == 0) return;
        sb.AppendLine("## Trajectories").AppendLine();
        sb.AppendLine(string.Join(" · ", links) + $" (one JSON trajectory per line; the charts are in [report.html](report.html))").AppendLine();
    }

    /// <summary>The mean of the first (or last) tenth of <paramref name="values"/> (at least one value).</summary>
    public static double Tenth(IReadOnlyList<double> values, bool first)
    {
        if (values.Count == 0) return double.NaN;
        int n = Math.Max(1, values.Count / 10);
        return (first ? values.Take(n) : values.Skip(values.Count - n)).Average();
    }

    private static string Duration(double seconds) =>
        seconds >= 60 ? Inv($"{(int)(seconds / 60)} min {seconds % 60:00} s") : Inv($"{seconds:0.0} s");

    private static string Inv(FormattableString s) => s.ToString(CultureInfo.InvariantCulture);
}
