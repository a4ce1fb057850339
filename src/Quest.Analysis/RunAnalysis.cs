using System.Globalization;
using System.Text.RegularExpressions;
using Quest.Eval;
using Quest.Agent;
using Quest.Recipe;
using Quest.Rubrics;
using Quest.Synthesis;
using Quest.Synthesis.Verification;
using Quest.World;

namespace Quest.Analysis;

/// <summary>A model's mean reward on the test split with a bootstrap 95% interval (over tasks).</summary>
/// <param name="Model">Stage model.</param>
/// <param name="Tasks">Test tasks.</param>
/// <param name="Mean">Mean reward.</param>
/// <param name="Lo">Lower end of the interval.</param>
/// <param name="Hi">Upper end.</param>
public sealed record ModelReward(string Model, int Tasks, double Mean, double Lo, double Hi);

/// <summary>How often a kind of rubric leaf failed, per model, over the answers given on the test split.</summary>
/// <param name="Leaf">Leaf kind: family and check type, e.g. <c>multihop · mentions</c>.</param>
/// <param name="Model">Stage model.</param>
/// <param name="Checked">Leaves of this kind scored.</param>
/// <param name="Failed">Of those, failed.</param>
public sealed record LeafFailure(string Leaf, string Model, int Checked, int Failed)
{
    /// <summary>Failed share in percent.</summary>
    public double FailedPct => Checked == 0 ? 0 : 100.0 * Failed / Checked;
}

/// <summary>
/// What a run says, computed from its eval rollouts: rewards with intervals, groups, pass@k, terminations, the causes
/// of invalid turns, which rubric leaves fail, context use per turn, a win and a loss, and two runs side by side.
/// </summary>
public static partial class RunAnalysis
{
    /// <summary>Each model's mean test reward with a bootstrap 95% interval over tasks (per-task mean over samples).</summary>
    public static IReadOnlyList<ModelReward> Rewards(RunData run) =>
        [.. run.Models.Select(m =>
        {
            var per = run.Test(m).GroupBy(t => t.TaskId).Select(g => g.Average(t => t.Reward ?? 0)).ToList();
            var (lo, hi) = Evaluation.Bootstrap(per, seed: run.Options.Seed);
            return new ModelReward(m, per.Count, per.Count == 0 ? 0 : per.Average(), lo, hi);
        })];

    /// <summary>Mean test reward per model and group value (<c>family</c> or <c>complexity</c>): (group, model) → mean.</summary>
    public static IReadOnlyDictionary<(string Group, string Model), double> By(RunData run, string key)
    {
        Func<EpisodeRow, string> f = key switch
        {
            "family" => r => r.Family, "complexity" => r => r.Complexity,
            _ => throw new ArgumentException($"group by '{key}': family or complexity", nameof(key)),
        };
        return run.Episodes().Where(r => r.Split == "test").GroupBy(r => (f(r), r.Model))
            .ToDictionary(g => g.Key, g => g.Average(r => r.Reward));
    }

    /// <summary>
    /// pass@k for k = 1…n (n = the fewest samples per task), the unbiased estimator 1 − C(n−c, k)/C(n, k) averaged over
    /// tasks, where c samples of a task reached <paramref name="threshold"/>. Greedy evals (one sample) give pass@1 only.
    /// </summary>
    public static IReadOnlyList<(int K, double Pass)> PassAtK(IEnumerable<Trajectory> trajectories, double threshold = 1.0)
    {
        var groups = trajectories.GroupBy(t => t.TaskId).Select(g => (N: g.Count(), C: g.Count(t => (t.Reward ?? 0) >= threshold - 1e-9))).ToList();
        if (groups.Count == 0) return [];
        int n = groups.Min(g => g.N);
        return [.. Enumerable.Range(1, n).Select(k => (k, groups.Average(g => PassAt(g.N, g.C, k))))];
    }

    /// <summary>The unbiased pass@k of one task with <paramref name="n"/> samples, <paramref name="c"/> of them correct.</summary>
    public static double PassAt(int n, int c, int k) => Evaluation.PassAt(n, c, k);

    /// <summary>How episodes ended, per model (test split): model → termination → count.</summary>
    public static IReadOnlyDictionary<string, IReadOnlyDictionary<string, int>> Terminations(RunData run) =>
        run.Models.ToDictionary(m => m, m => (IReadOnlyDictionary<string, int>)run.Test(m).GroupBy(t => t.Termination)
            .OrderBy(g => g.Key, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.Count()));

    /// <summary>
    /// Why turns were invalid, per model: each turn that was neither a tool call nor an answer, labelled by its kind and
    /// first problem (numbers replaced by N, so "3 &lt;tool_call&gt; blocks" groups with "2 …"). Model → cause → count.
    /// </summary>
    public static IReadOnlyDictionary<string, IReadOnlyDictionary<string, int>> InvalidTurnCauses(RunData run) =>
        run.Models.ToDictionary(m => m, m => (IReadOnlyDictionary<string, int>)run.Test(m).SelectMany(t => t.Turns)
            .Where(x => x.Kind is not ("answer" or "tool_call"))
            .GroupBy(Cause).OrderByDescending(g => g.Count()).ThenBy(g => g.Key, StringComparer.Ordinal)
            .ToDictionary(g => g.Key, g => g.Count()));

    /// <summary>The label of an invalid turn.</summary>
    public static string Cause(TurnRecord turn)
    {
        var kind = turn.Kind.Replace('_', ' ');
        var first = turn.Problems.FirstOrDefault();
        return first is null ? kind + (turn.Kind == "invalid" ? ": neither a tool call nor an answer" : "") : $"{kind}: {Numbers().Replace(first, "N")}";
    }

    [GeneratedRegex(@"\d+")]
    private static partial Regex Numbers();

    /// <summary>
    /// Re-scores every test answer with its task's rubric tree and counts, per leaf kind (family · check type) and
    /// model, how often leaves failed. Episodes without an answer are left out (their leaves were never reached).
    /// </summary>
    public static async Task<IReadOnlyList<LeafFailure>> LeafFailuresAsync(RunData run, CancellationToken ct = default)
    {
        using var sc = WorldEnvironment.Open(run.Paths.World);
        var scorer = new TaskScorer(sc.Graph.PageTextAsync);
        var counts = new Dictionary<(string Leaf, string Model), (int Checked, int Failed)>();
        foreach (var m in run.Models)
            foreach (var t in run.Test(m))
            {
                if (string.IsNullOrWhiteSpace(t.Prediction)) continue;
                var task = run.Tasks[t.TaskId];
                var report = await scorer.ReportAsync(task, t.Prediction!, ct).ConfigureAwait(false);
                foreach (var leaf in report.Leaves.Where(l => l.Checked))
                {
                    var key = ($"{task.Family} · {leaf.Node.Check?.Type ?? "judge"}", m);
                    var (c, f) = counts.GetValueOrDefault(key);
                    counts[key] = (c + 1, f + (leaf.Status == NodeStatus.Failed ? 1 : 0));
                }
            }
        return [.. counts.OrderBy(kv => kv.Key.Leaf, StringComparer.Ordinal).ThenBy(kv => run.Models.ToList().IndexOf(kv.Key.Model))
            .Select(kv => new LeafFailure(kv.Key.Leaf, kv.Key.Model, kv.Value.Checked, kv.Value.Failed))];
    }

    /// <summary>Mean context tokens the model saw at each turn index (1-based), per model, over test episodes that reached it.</summary>
    public static IReadOnlyDictionary<string, IReadOnlyList<(int Turn, double Tokens, int Episodes)>> ContextTokensPerTurn(RunData run) =>
        run.Models.ToDictionary(m => m, m => (IReadOnlyList<(int, double, int)>)[.. run.Test(m).SelectMany(t => t.Turns.Select((x, i) => (Turn: i + 1, x.ContextTokens)))
            .GroupBy(x => x.Turn).OrderBy(g => g.Key).Select(g => (g.Key, g.Average(x => (double)x.ContextTokens), g.Count()))]);

    /// <summary>
    /// A win and a loss of one model on the test split, for reading side by side: its best-rewarded episode, and a
    /// zero-reward episode on a task of the same family when there is one (else its worst). Null when it has no episodes.
    /// </summary>
    public static (Trajectory Win, Trajectory Loss)? WinAndLoss(RunData run, string model)
    {
        var ts = run.Test(model);
        if (ts.Count == 0) return null;
        var win = ts.OrderByDescending(t => t.Reward ?? 0).ThenBy(t => t.TaskId, StringComparer.Ordinal).First();
        var family = run.Tasks[win.TaskId].Family;
        var loss = ts.Where(t => t != win).OrderBy(t => t.Reward ?? 0).ThenBy(t => run.Tasks[t.TaskId].Family == family ? 0 : 1).ThenBy(t => t.TaskId, StringComparer.Ordinal).FirstOrDefault() ?? win;
        return (win, loss);
    }

    /// <summary>Two runs side by side: per model, the test reward of each, valid-turn share of each, and the difference in reward.</summary>
    public static IReadOnlyList<RunComparisonRow> Compare(RunData a, RunData b)
    {
        var ra = Rewards(a).ToDictionary(r => r.Model);
        var rb = Rewards(b).ToDictionary(r => r.Model);
        double Valid(RunData r, string m) { var ts = r.Test(m); int n = ts.Sum(t => t.Turns.Count); return n == 0 ? 0 : 100.0 * ts.Sum(t => t.Turns.Count(x => x.Kind is "answer" or "tool_call")) / n; }
        return [.. RecipeEval.Models(a.Paths).Select(m => m.Name).Where(m => ra.ContainsKey(m) || rb.ContainsKey(m)).Select(m => new RunComparisonRow(m,
            ra.TryGetValue(m, out var x) ? x.Mean : null, rb.TryGetValue(m, out var y) ? y.Mean : null,
            ra.ContainsKey(m) ? Valid(a, m) : null, rb.ContainsKey(m) ? Valid(b, m) : null))];
    }

    /// <summary>Formats a reward interval: <c>0.139 [0.083, 0.177]</c>.</summary>
    public static string Interval(double mean, double lo, double hi) => string.Create(CultureInfo.InvariantCulture, $"{mean:0.000} [{lo:0.000}, {hi:0.000}]");
}

/// <summary>One model in two runs.</summary>
/// <param name="Model">Stage model.</param>
/// <param name="RewardA">Test reward in the first run.</param>
/// <param name="RewardB">Test reward in the second run.</param>
/// <param name="ValidPctA">Valid-turn share in the first run (%).</param>
/// <param name="ValidPctB">Valid-turn share in the second run (%).</param>
public sealed record RunComparisonRow(string Model, double? RewardA, double? RewardB, double? ValidPctA, double? ValidPctB)
{
    /// <summary>B − A.</summary>
    public double? Delta => RewardA is { } a && RewardB is { } b ? b - a : null;
}
