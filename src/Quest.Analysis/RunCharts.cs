using Plotly.NET;
using Quest.Interactive;
using Quest.Recipe;

namespace Quest.Analysis;

/// <summary>The charts of a run (Plotly.NET charts that draw offline; see <see cref="PlotlyJs"/>).</summary>
public static class RunCharts
{
    /// <summary>The stage ablation: each model's mean test reward with its bootstrap 95% interval.</summary>
    public static GenericChart Ablation(RunData run)
    {
        var r = RunAnalysis.Rewards(run);
        return Charts.Bar(r.Select(x => x.Model), r.Select(x => x.Mean), "test reward", $"Stage ablation: mean reward on {r.FirstOrDefault()?.Tasks ?? 0} test tasks (95% interval)")
            .WithYErrorBars(r.Select(x => x.Hi - x.Mean), r.Select(x => x.Mean - x.Lo))
            .WithAxisTitles("model", "mean reward");
    }

    /// <summary>
    /// What each stage added over the one before it (untrained → MT → SFT → RL), one bar group per test set: the mean
    /// paired difference over the same tasks with its bootstrap 95% interval. A stage helped where the whole interval
    /// is above the zero line.
    /// </summary>
    public static GenericChart StageGains(RunData run)
    {
        var order = run.Models.ToList();   // untrained, mt, sft, rl: a stage is a model against the one before it
        var steps = (run.Summary?.Ablation ?? []).Where(a => order.IndexOf(a.From) >= 0 && order.IndexOf(a.To) == order.IndexOf(a.From) + 1).ToList();
        var charts = steps.GroupBy(a => a.Set).Select(g =>
        {
            var list = g.ToList();
            return Charts.Bar(list.Select(a => $"{a.From} → {a.To}"), list.Select(a => a.MeanDiff), SetName(g.Key))
                .WithYErrorBars(list.Select(a => a.Hi - a.MeanDiff), list.Select(a => a.MeanDiff - a.Lo));
        });
        return Charts.Combine(charts).WithBarMode(StyleParam.BarMode.Group)
            .WithTitle("What each stage added: paired mean difference, 95% interval (helped where the interval clears 0)")
            .WithAxisTitles("stage", "reward difference");
    }

    private static string SetName(string set) => set == Quest.Eval.TestSets.FreshWorld ? "fresh world" : set == Quest.Eval.TestSets.HeldOut ? "held-out split" : set;

    /// <summary>Mean test reward by <c>family</c> or <c>complexity</c>, one bar per model.</summary>
    public static GenericChart By(RunData run, string key)
    {
        var by = RunAnalysis.By(run, key);
        var groups = by.Keys.Select(k => k.Group).Distinct().Order(StringComparer.Ordinal).ToList();
        return Charts.Bars(groups, [.. run.Models.Select(m => (m, groups.Select(g => by.GetValueOrDefault((g, m)))))])
            .WithTitle($"Test reward by {key}").WithAxisTitles(key, "mean reward");
    }

    /// <summary>pass@k curves per model (needs eval samples &gt; 1 for more than pass@1).</summary>
    public static GenericChart PassAtK(IReadOnlyDictionary<string, IReadOnlyList<(int K, double Pass)>> curves, string? title = null)
    {
        // pass@k lies in [0, 1]: the y axis starts at 0 and ends just above the highest curve (not plotly's −1..1 around all-zero curves)
        var top = curves.Values.SelectMany(c => c).Select(x => x.Pass).DefaultIfEmpty(0).Max();
        return Charts.Combine(curves.Select(kv => Charts.Line(kv.Value.Select(x => x.K), kv.Value.Select(x => x.Pass), kv.Key, markers: true)))
            .WithTitle(title ?? "pass@k on the test split (a task passes at reward 1)").WithAxisTitles("k", "pass@k")
            .WithYRange(0, Math.Min(1, Math.Max(0.05, top * 1.15)));
    }

    /// <summary>How test episodes ended, stacked per model.</summary>
    public static GenericChart Terminations(RunData run)
    {
        var t = RunAnalysis.Terminations(run);
        var kinds = t.Values.SelectMany(d => d.Keys).Distinct().Order(StringComparer.Ordinal).ToList();
        return Charts.Bars(t.Keys.ToList(), [.. kinds.Select(k => (k, t.Values.Select(d => (double)d.GetValueOrDefault(k))))])
            .WithBarMode(StyleParam.BarMode.Stack).WithTitle("How test episodes ended").WithAxisTitles("model", "episodes");
    }

    /// <summary>Invalid-turn causes (the most frequent <paramref name="top"/>), one bar group per model.</summary>
    public static GenericChart InvalidTurnCauses(RunData run, int top = 8)
    {
        var c = RunAnalysis.InvalidTurnCauses(run);
        var causes = c.Values.SelectMany(d => d).GroupBy(kv => kv.Key).OrderByDescending(g => g.Sum(kv => kv.Value)).Take(top).Select(g => g.Key).ToList();
        return Charts.Bars(causes, [.. c.Select(kv => (kv.Key, causes.Select(k => (double)kv.Value.GetValueOrDefault(k))))])
            .WithTitle("Why turns were invalid (test split)").WithAxisTitles(null, "turns").WithHeight(480);
    }

    /// <summary>Which rubric leaves fail most: a heat map of failed share (%) by leaf kind and model.</summary>
    public static GenericChart LeafFailures(IReadOnlyList<LeafFailure> failures)
    {
        var leaves = failures.Select(f => f.Leaf).Distinct().ToList();
        var models = failures.Select(f => f.Model).Distinct().ToList();
        var z = new double[leaves.Count, models.Count];
        for (int i = 0; i < leaves.Count; i++)
            for (int j = 0; j < models.Count; j++)
                z[i, j] = failures.FirstOrDefault(f => f.Leaf == leaves[i] && f.Model == models[j])?.FailedPct ?? double.NaN;
        return Charts.Heatmap(z, models, leaves, "Rubric leaves failed (% of answers checked)", ColorScales.Reds).WithHeight(140 + 28 * leaves.Count);
    }

    /// <summary>Mean context tokens per turn index, one line per model.</summary>
    public static GenericChart ContextTokens(RunData run) =>
        Charts.Combine(RunAnalysis.ContextTokensPerTurn(run).Select(kv => Charts.Line(kv.Value.Select(x => x.Turn), kv.Value.Select(x => x.Tokens), kv.Key, markers: true)))
            .WithTitle("Context the model saw, per turn (test split)").WithAxisTitles("turn", "context tokens");

    /// <summary>Training loss curves of the copy phase, mid-training and SFT (train and eval loss), or of the trainers named.</summary>
    public static GenericChart Training(RunData run, params string[] trainers)
    {
        var charts = new List<GenericChart>();
        foreach (var s in trainers.Length > 0 ? trainers : ["copy", "pretrain", "sft"])
        {
            var steps = run.Training(s);
            if (steps.Count == 0) continue;
            charts.Add(Charts.Line(steps.Select(x => x.Step), steps.Select(x => x.Loss), s));
            var ev = steps.Where(x => x.EvalLoss is not null).ToList();
            if (ev.Count > 0) charts.Add(Charts.Line(ev.Select(x => x.Step), ev.Select(x => x.EvalLoss!.Value), s + " eval", markers: true));
        }
        return Charts.Combine(charts).WithTitle("Training loss" + (trainers.Length > 0 ? ": " + string.Join(", ", trainers) : ""))
            .WithAxisTitles("step (per stage)", "cross-entropy").WithLogY();
    }

    /// <summary>The RL stage per step: reward, valid-turn rate and zero-variance share.</summary>
    public static GenericChart Rl(IReadOnlyList<RlStepReport> steps) =>
        Charts.Lines(steps.Select(s => s.Step), ("reward", steps.Select(s => s.RewardMean)), ("valid turns", steps.Select(s => s.ValidTurnRate)),
            ("zero-variance groups", steps.Select(s => s.ZeroVarianceShare)), ("groups with reward", steps.Select(s => s.GroupsWithReward)))
        .WithTitle("RL (GRPO) per step").WithAxisTitles("step", "share / reward");

    /// <summary>
    /// Several runs (seeds, presets, commits) overlaid: a trainer's loss per step (<paramref name="trainer"/>: <c>copy</c>,
    /// <c>pretrain</c>, <c>sft</c>) or, with <c>rl</c>, the RL train reward per step, each a moving average over
    /// <paramref name="window"/> steps so the runs can be told apart.
    /// </summary>
    public static GenericChart Overlay(IReadOnlyList<RunData> runs, string trainer, int window = 25)
    {
        bool rl = trainer == "rl";
        var charts = new List<GenericChart>();
        foreach (var run in runs)
        {
            var ys = rl ? run.Rl().Select(x => x.RewardMean).ToList() : run.Training(trainer).Select(x => x.Loss).ToList();
            if (ys.Count == 0) continue;
            charts.Add(Charts.Line(Enumerable.Range(1, ys.Count), MovingAverage(ys, window), run.Name));
        }
        var chart = Charts.Combine(charts).WithTitle(rl ? $"RL train reward per step ({window}-step mean), one line per run" : $"{trainer} loss per step ({window}-step mean), one line per run")
            .WithAxisTitles("step", rl ? "mean reward" : "cross-entropy");
        return rl ? chart : chart.WithLogY();
    }

    /// <summary>The trailing mean of each value and the <paramref name="window"/> − 1 before it (fewer at the start).</summary>
    public static IReadOnlyList<double> MovingAverage(IReadOnlyList<double> values, int window)
    {
        if (window < 1) throw new ArgumentOutOfRangeException(nameof(window), window, "at least 1");
        var result = new double[values.Count];
        double sum = 0;
        for (int i = 0; i < values.Count; i++)
        {
            sum += values[i];
            if (i >= window) sum -= values[i - window];
            result[i] = sum / Math.Min(i + 1, window);
        }
        return result;
    }
}
