using System.Globalization;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.AI;
using Quest.Agent;
using Quest.Agent.Context;
using Quest.Agent.Rollout;
using Quest.Core;
using Quest.Synthesis;
using Quest.Synthesis.Rewards;
using Quest.Synthesis.Teacher;

namespace Quest.Eval;

/// <summary>Settings of an evaluation (<c>quest eval</c>, the recipe's eval stage).</summary>
public sealed record EvalOptions
{
    /// <summary>Rollouts per task (k of avg@k and pass@k).</summary>
    public int Samples { get; init; } = 1;
    /// <summary>Model calls per episode.</summary>
    public int MaxTurns { get; init; } = 6;
    /// <summary>Tokens the model may write per turn.</summary>
    public int MaxNewTokens { get; init; } = 128;
    /// <summary>Sampling temperature (0: greedy; with <see cref="Samples"/> &gt; 1 use 1).</summary>
    public double Temperature { get; init; }
    /// <summary>Episodes run at once (a local model decodes them together).</summary>
    public int Parallel { get; init; } = 32;
    /// <summary>Date in the agent's system prompt.</summary>
    public DateOnly Date { get; init; } = new(2026, 1, 1);
    /// <summary>Sampler seed of a local model (null: nondeterministic).</summary>
    public long? Seed { get; init; } = 1;
    /// <summary>A system-prompt template used verbatim (the date appended), or null for the kit's prompt (<see cref="AgentOptions.SystemPromptTemplate"/>).</summary>
    public string? SystemPromptTemplate { get; init; }
}

/// <summary>The two test sets of a recipe run (<see cref="EvalRow.Set"/>, <see cref="StageComparison.Set"/>).</summary>
public static class TestSets
{
    /// <summary>The training world's held-out split: its seed entities are held out, but their pages were in mid-training.</summary>
    public const string HeldOut = "held_out";
    /// <summary>Tasks over a world generated with a seed no stage of the run used: nothing in it was ever read in training.</summary>
    public const string FreshWorld = "fresh_world";
}

/// <summary>One row of an eval table: a model on a group of tasks (all, one family, or one complexity class).</summary>
public sealed record EvalRow
{
    /// <summary>The test set (<see cref="TestSets"/>; <c>held_out</c> for a plain task file).</summary>
    public string Set { get; init; } = TestSets.HeldOut;
    /// <summary>Model name (<c>untrained</c>, <c>mt</c>, <c>sft</c>, <c>rl</c>, or a policy spec).</summary>
    public string Model { get; init; } = "";
    /// <summary><c>all</c>, <c>family:NAME</c>, <c>complexity:C1</c>, or <c>train (seen)</c>.</summary>
    public string Group { get; init; } = "";
    /// <summary>Tasks.</summary>
    public int Tasks { get; init; }
    /// <summary>Episodes (tasks × samples).</summary>
    public int N { get; init; }
    /// <summary>Mean reward over episodes (avg@k).</summary>
    public double MeanReward { get; init; }
    /// <summary>Share of tasks with at least one episode at full reward (pass@k with k = the samples per task, %).</summary>
    public double PassAtK { get; init; }
    /// <summary>pass@1 by the unbiased estimator (per task: the share of its samples at full reward), %; equals <see cref="PassAtK"/> when greedy.</summary>
    public double PassAt1 { get; init; }
    /// <summary>Share of episodes with a final answer (%).</summary>
    public double AnsweredPct { get; init; }
    /// <summary>Share of model turns that were a well-formed tool call or an answer (%).</summary>
    public double ProtocolValidPct { get; init; }
    /// <summary>Mean model calls per episode.</summary>
    public double MeanTurns { get; init; }
    /// <summary>Mean context sessions per episode.</summary>
    public double MeanSessions { get; init; }
    /// <summary>Episodes per termination.</summary>
    public Dictionary<string, int> Terminations { get; init; } = [];
    /// <summary>Copy probe: share of episodes whose first search query is made of words of the question (%).</summary>
    public double FirstQueryCopiedPct { get; init; }
    /// <summary>Copy probe: share of visited URLs that an earlier message of the episode showed (%).</summary>
    public double UrlsFromContextPct { get; init; }
    /// <summary>Copy probe: share of answer strings (lines and items, citations and "Final answer:" removed) found earlier in the episode (%).</summary>
    public double AnswerInContextPct { get; init; }
    /// <summary>Episodes that could not be run (<c>policy_error</c>: the policy did not answer). They measure nothing, so
    /// they are left out of <see cref="N"/> and every mean above; a run with any of them is reported as incomplete.</summary>
    public int PolicyErrors { get; init; }
}

/// <summary>
/// Probes of copying, the skill a small agent lacks first (../shared/RL-NOTES.md): does the first query copy the question,
/// are visited URLs taken from what the episode showed, are the answer's strings in the context. Computed from the
/// transcript alone.
/// </summary>
public static class CopyProbes
{
    private static readonly System.Text.RegularExpressions.Regex Cite = new(@"\[source\]\([^)]*\)|\[\d+\]", System.Text.RegularExpressions.RegexOptions.Compiled);

    /// <summary>(first query copied?, visits from context, visits, answer strings in context, answer strings) of one episode.</summary>
    public static (bool? FirstQueryCopied, int UrlsFromContext, int Urls, int AnswerInContext, int AnswerStrings) Of(Trajectory t)
    {
        var msgs = t.Sessions.SelectMany((s, i) => s.Messages.Skip(i == 0 ? 1 : 2)).ToList();   // question first, no system prompts
        bool? first = null;
        int fromCtx = 0, urls = 0, inCtx = 0, strings = 0;
        var seen = new System.Text.StringBuilder();
        foreach (var m in msgs)
        {
            if (m.Role == Roles.Assistant)
            {
                var context = seen.ToString();
                var p = ResponseParser.Parse(m.Content);
                if (p.ToolCall is { } call)
                {
                    if (call.Name == "search" && first is null)
                    {
                        var words = string.Join(' ', Quest.World.Tools.ToolArgs.StringList(System.Text.Json.JsonSerializer.SerializeToElement(call.Arguments), "query") ?? [])
                            .Split(' ', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
                        first = words.Length > 0 && words.All(w => t.Question.Contains(w, StringComparison.OrdinalIgnoreCase));
                    }
                    if (call.Name == "visit")
                        foreach (var u in Quest.World.Tools.ToolArgs.StringList(System.Text.Json.JsonSerializer.SerializeToElement(call.Arguments), "url") ?? [])
                        {
                            urls++;
                            if (context.Contains(u, StringComparison.OrdinalIgnoreCase)) fromCtx++;
                        }
                }
                if (p.Answer is { } ans)
                    foreach (var item in AnswerStrings(ans))
                    {
                        strings++;
                        if (context.Contains(item, StringComparison.OrdinalIgnoreCase)) inCtx++;
                    }
            }
            seen.Append(m.Content).Append('\n');
        }
        return (first, fromCtx, urls, inCtx, strings);
    }

    /// <summary>The strings an answer asserts: its lines and "; "-separated items, without citations and the "Final answer:" label.</summary>
    public static IEnumerable<string> AnswerStrings(string answer) =>
        answer.Split('\n').SelectMany(l => l.Split(';'))
            .Select(x => Cite.Replace(x, "").Trim().TrimStart('-', '*', ' ').Trim())
            .Select(x => x.StartsWith("Final answer:", StringComparison.OrdinalIgnoreCase) ? x["Final answer:".Length..].Trim() : x)
            .Select(x => x.TrimEnd('.', ',').Trim())
            .Where(x => x.Length >= 3);
}

/// <summary>A later stage against an earlier one on the same tasks: the mean paired reward difference and its bootstrap 95% interval.</summary>
public sealed record StageComparison
{
    /// <summary>The test set compared on (<see cref="TestSets"/>).</summary>
    public string Set { get; init; } = TestSets.HeldOut;
    /// <summary>The earlier stage.</summary>
    public string From { get; init; } = "";
    /// <summary>The later stage.</summary>
    public string To { get; init; } = "";
    /// <summary>Tasks both were evaluated on.</summary>
    public int Tasks { get; init; }
    /// <summary>Mean over tasks of (reward of To − reward of From).</summary>
    public double MeanDiff { get; init; }
    /// <summary>Lower end of the 95% bootstrap interval.</summary>
    public double Lo { get; init; }
    /// <summary>Upper end of the 95% bootstrap interval.</summary>
    public double Hi { get; init; }
    /// <summary>Whether the whole interval is above zero.</summary>
    public bool Significant => Lo > 0;
}

/// <summary>
/// Evaluation of any policy on any task file: rollouts through the real agent loop and tools, each scored by its
/// task's reward; tables by family and complexity class; paired stage comparisons with bootstrap intervals.
/// </summary>
public static class Evaluation
{
    /// <summary>
    /// The agent settings of an evaluation or RL rollout: <paramref name="maxTurns"/> model calls of at most
    /// <paramref name="maxNewTokens"/> tokens, no context manager (the model's own view windows the episode), at most 3
    /// invalid turns.
    /// </summary>
    public static AgentOptions AgentOptionsFor(int maxTurns, int maxNewTokens, double temperature, DateOnly date, string modelId) => new()
    {
        MaxTurns = maxTurns, MaxTokensPerTurn = maxNewTokens, MaxContextTokens = 1 << 20, MaxInvalidTurns = 3,
        Temperature = (float)temperature, TopP = 1f, PresencePenalty = null, Date = date, ModelId = modelId,
        Context = new ContextOptions { Enabled = false },
    };

    /// <summary>
    /// Rolls <paramref name="policy"/> out on every task (<see cref="EvalOptions.Samples"/> times) into
    /// <c>OUT/trajectories.jsonl</c>, resuming finished episodes, and returns the trajectories. A policy that decodes
    /// concurrent episodes together passes its <paramref name="episodeScope"/> (a local model's batcher join).
    /// </summary>
    public static async Task<IReadOnlyList<Trajectory>> RolloutAsync(IChatClient policy, string name, ITokenCounter? tokenCounter, IReadOnlyList<SynthTask> tasks,
        IReadOnlyList<ITool> tools, RewardFunction reward, EvalOptions o, string outDir, Action<RolloutProgress>? progress = null, CancellationToken ct = default,
        Func<IDisposable>? episodeScope = null)
    {
        var scorer = new TaskRewardScorer(tasks, reward);
        var agent = new ResearchAgent(policy, tools, AgentOptionsFor(o.MaxTurns, o.MaxNewTokens, o.Temperature, o.Date, name) with { SystemPromptTemplate = o.SystemPromptTemplate },
            tokenCounter: tokenCounter);
        var runner = new RolloutRunner(agent, scorer);
        var rollout = tasks.Select(t => new RolloutTask { Id = t.Id, Question = t.Question, Answer = t.Answer, Aliases = t.Aliases }).ToList();
        var summary = await runner.RunAsync(rollout, new RolloutOptions
        {
            OutDir = outDir, Resume = true, Samples = o.Samples, Parallelism = Math.Max(1, o.Parallel),
            EpisodeScope = episodeScope,
        }, progress, ct).ConfigureAwait(false);
        if (summary.Cancelled) throw new OperationCanceledException(ct);
        return RolloutRunner.ReadTrajectories(summary.OutFile);
    }

    /// <summary>The rows of one model's trajectories: all tasks, each family, each complexity class (only tasks in <paramref name="tasks"/> count).</summary>
    public static List<EvalRow> Rows(string model, IReadOnlyList<Trajectory> trajectories, IReadOnlyDictionary<string, SynthTask> tasks, string allLabel = "all", string set = TestSets.HeldOut)
    {
        var known = trajectories.Where(t => tasks.ContainsKey(t.TaskId)).ToList();
        var rows = new List<EvalRow> { Row(model, allLabel, known) };
        rows.AddRange(known.GroupBy(t => tasks[t.TaskId].Family).OrderBy(g => g.Key, StringComparer.Ordinal).Select(g => Row(model, "family:" + g.Key, g.ToList())));
        rows.AddRange(known.GroupBy(t => tasks[t.TaskId].Complexity).OrderBy(g => g.Key, StringComparer.Ordinal).Select(g => Row(model, "complexity:" + g.Key, g.ToList())));
        return rows.Select(r => r with { Set = set }).ToList();
    }

    /// <summary>True for an episode that measured nothing: the policy could not be reached or failed (<c>policy_error</c>).</summary>
    public static bool Unmeasured(Trajectory t) => t.Termination == Termination.PolicyError;

    /// <summary>
    /// Throws <see cref="IncompleteEvaluationException"/> when any of <paramref name="trajectories"/> could not be run,
    /// saying how many, the first error and how to retry (the rollout files keep the rest: a rerun resumes and retries them).
    /// </summary>
    public static void EnsureMeasured(string model, IReadOnlyList<Trajectory> trajectories, string retry)
    {
        var failed = trajectories.Where(Unmeasured).ToList();
        if (failed.Count == 0) return;
        throw new IncompleteEvaluationException(
            $"{model}: {failed.Count} of {trajectories.Count} episodes could not be run (policy_error; first: {failed[0].Error ?? "no message"}); they are left out of every mean. {retry}");
    }

    /// <summary>One row over <paramref name="all"/> (episodes that could not be run are counted apart, not scored).</summary>
    public static EvalRow Row(string model, string group, IReadOnlyList<Trajectory> all)
    {
        var ts = all.Where(t => !Unmeasured(t)).ToList();
        int turns = ts.Sum(t => t.Turns.Count);
        int valid = ts.Sum(t => t.Turns.Count(x => x.Kind is "answer" or "tool_call"));
        var byTask = ts.GroupBy(t => t.TaskId).ToList();
        var probes = ts.Select(CopyProbes.Of).ToList();
        return new EvalRow
        {
            Model = model, Group = group, N = ts.Count, Tasks = byTask.Count,
            MeanReward = ts.Count == 0 ? 0 : ts.Average(t => t.Reward ?? 0),
            PassAtK = byTask.Count == 0 ? 0 : 100.0 * byTask.Count(g => g.Any(t => (t.Reward ?? 0) >= 1 - 1e-9)) / byTask.Count,
            PassAt1 = byTask.Count == 0 ? 0 : 100.0 * byTask.Average(g => PassAt(g.Count(), g.Count(t => (t.Reward ?? 0) >= 1 - 1e-9), 1)),
            AnsweredPct = ts.Count == 0 ? 0 : 100.0 * ts.Count(t => !string.IsNullOrWhiteSpace(t.Prediction)) / ts.Count,
            ProtocolValidPct = turns == 0 ? 0 : 100.0 * valid / turns,
            MeanTurns = ts.Count == 0 ? 0 : ts.Average(t => (double)t.Rounds),
            MeanSessions = ts.Count == 0 ? 0 : ts.Average(t => (double)Math.Max(1, t.Sessions.Count)),
            Terminations = ts.GroupBy(t => t.Termination).OrderBy(g => g.Key, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.Count()),
            FirstQueryCopiedPct = Pct(probes.Count(p => p.FirstQueryCopied == true), probes.Count(p => p.FirstQueryCopied is not null)),
            UrlsFromContextPct = Pct(probes.Sum(p => p.UrlsFromContext), probes.Sum(p => p.Urls)),
            AnswerInContextPct = Pct(probes.Sum(p => p.AnswerInContext), probes.Sum(p => p.AnswerStrings)),
            PolicyErrors = all.Count - ts.Count,
        };
        static double Pct(int a, int b) => b == 0 ? 0 : 100.0 * a / b;
    }

    /// <summary>
    /// Paired comparison of two models on the tasks both were run on: per task the mean reward over its samples, the
    /// mean difference (to − from), and a percentile bootstrap 95% interval over tasks (<paramref name="reps"/> resamples).
    /// </summary>
    public static StageComparison Compare(string from, IReadOnlyList<Trajectory> a, string to, IReadOnlyList<Trajectory> b, IReadOnlyCollection<string> taskIds, int reps = 2000, int seed = 0, string set = TestSets.HeldOut)
    {
        var ra = PerTaskRewards(a.Where(t => taskIds.Contains(t.TaskId)));
        var rb = PerTaskRewards(b.Where(t => taskIds.Contains(t.TaskId)));
        var diffs = ra.Keys.Where(rb.ContainsKey).Order(StringComparer.Ordinal).Select(k => rb[k] - ra[k]).ToArray();
        var (lo, hi) = Bootstrap(diffs, reps, seed);
        return new StageComparison { Set = set, From = from, To = to, Tasks = diffs.Length, MeanDiff = diffs.Length == 0 ? 0 : diffs.Average(), Lo = lo, Hi = hi };
    }

    /// <summary>Each task's mean reward over its samples (task id → mean), episodes that could not be run left out.</summary>
    public static Dictionary<string, double> PerTaskRewards(IEnumerable<Trajectory> trajectories) =>
        trajectories.Where(t => !Unmeasured(t)).GroupBy(t => t.TaskId).ToDictionary(g => g.Key, g => g.Average(t => t.Reward ?? 0));

    /// <summary>The 2.5th and 97.5th percentiles of bootstrap draws <paramref name="draws"/> (sorted in place): a percentile 95% interval.</summary>
    public static (double Lo, double Hi) Interval95(double[] draws)
    {
        Array.Sort(draws);
        return (draws[(int)Math.Floor(0.025 * (draws.Length - 1))], draws[(int)Math.Ceiling(0.975 * (draws.Length - 1))]);
    }

    /// <summary>The unbiased pass@k of one task with <paramref name="n"/> samples, <paramref name="c"/> of them correct: 1 − C(n−c, k)/C(n, k).</summary>
    public static double PassAt(int n, int c, int k)
    {
        if (k > n) throw new ArgumentOutOfRangeException(nameof(k), $"k {k} > n {n}");
        if (n - c < k) return 1.0;
        double fail = 1.0;
        for (int i = n - c + 1; i <= n; i++) fail *= 1.0 - (double)k / i;
        return 1.0 - fail;
    }

    /// <summary>
    /// What recall buys one model: its mean reward on the held-out split minus its mean on the fresh world, with a 95%
    /// interval from bootstrapping the two task sets independently (they share no task, so the difference is unpaired).
    /// </summary>
    public static RecallGap Gap(string model, IReadOnlyList<Trajectory> heldOut, IReadOnlyList<Trajectory> fresh, int reps = 2000, int seed = 0)
    {
        var a = PerTaskRewards(heldOut).Values.ToArray();
        var b = PerTaskRewards(fresh).Values.ToArray();
        if (a.Length == 0 || b.Length == 0) return new RecallGap { Model = model, HeldOutTasks = a.Length, FreshTasks = b.Length };
        var rng = new Random(seed);
        var diffs = new double[reps];
        for (int r = 0; r < reps; r++)
        {
            double sa = 0, sb = 0;
            for (int i = 0; i < a.Length; i++) sa += a[rng.Next(a.Length)];
            for (int i = 0; i < b.Length; i++) sb += b[rng.Next(b.Length)];
            diffs[r] = sa / a.Length - sb / b.Length;
        }
        var (lo, hi) = Interval95(diffs);
        return new RecallGap
        {
            Model = model, HeldOutTasks = a.Length, FreshTasks = b.Length, HeldOut = a.Average(), Fresh = b.Average(), Gap = a.Average() - b.Average(),
            Lo = lo, Hi = hi,
        };
    }

    /// <summary>Percentile bootstrap 95% interval of the mean of <paramref name="values"/> (seeded; (0, 0) when empty).</summary>
    public static (double Lo, double Hi) Bootstrap(IReadOnlyList<double> values, int reps = 2000, int seed = 0)
    {
        if (values.Count == 0) return (0, 0);
        var rng = new Random(seed);
        var means = new double[reps];
        for (int r = 0; r < reps; r++)
        {
            double s = 0;
            for (int i = 0; i < values.Count; i++) s += values[rng.Next(values.Count)];
            means[r] = s / values.Count;
        }
        return Interval95(means);
    }

    /// <summary>Rows as a fixed-width table.</summary>
    public static string FormatRows(IEnumerable<EvalRow> rows)
    {
        var sb = new StringBuilder();
        var list = rows.ToList();
        bool failures = list.Any(r => r.PolicyErrors > 0);   // the column appears only when some episode could not be run
        sb.AppendLine($"{"model",-10} {"group",-22} {"tasks",5} {"n",4} {"reward",7} {"pass@k",7} {"answered",9} {"valid",7} {"turns",6} {"q_copy",7} {"url_ctx",7} {"ans_ctx",7}{(failures ? "  no_run" : "")}");
        foreach (var r in list)
            sb.AppendLine(string.Create(CultureInfo.InvariantCulture,
                $"{r.Model,-10} {r.Group,-22} {r.Tasks,5} {r.N,4} {r.MeanReward,7:0.000} {r.PassAtK,6:0.0}% {r.AnsweredPct,8:0.0}% {r.ProtocolValidPct,6:0.0}% {r.MeanTurns,6:0.0} {r.FirstQueryCopiedPct,6:0.0}% {r.UrlsFromContextPct,6:0.0}% {r.AnswerInContextPct,6:0.0}%{(failures ? $" {r.PolicyErrors,7}" : "")}"));
        return sb.ToString();
    }

    /// <summary>Comparisons as a fixed-width table.</summary>
    public static string FormatComparisons(IEnumerable<StageComparison> cs)
    {
        var sb = new StringBuilder();
        sb.AppendLine($"{"from",-10} {"to",-10} {"tasks",5} {"Δreward",8} {"95% CI",20}");
        foreach (var c in cs)
            sb.AppendLine(string.Create(CultureInfo.InvariantCulture, $"{c.From,-10} {c.To,-10} {c.Tasks,5} {c.MeanDiff,8:+0.000;-0.000;0.000} [{c.Lo,7:+0.000;-0.000;0.000}, {c.Hi,7:+0.000;-0.000;0.000}]{(c.Significant ? " *" : "")}"));
        return sb.ToString();
    }
}

/// <summary>An evaluation in which some episodes could not be run: its means cover only the others.</summary>
public sealed class IncompleteEvaluationException(string message) : Exception(message);

/// <summary>What recall buys a model: held-out split minus fresh world (<see cref="Evaluation.Gap"/>).</summary>
public sealed record RecallGap
{
    /// <summary>The model.</summary>
    public string Model { get; init; } = "";
    /// <summary>Tasks of the held-out split it ran.</summary>
    public int HeldOutTasks { get; init; }
    /// <summary>Tasks of the fresh world it ran.</summary>
    public int FreshTasks { get; init; }
    /// <summary>Mean reward on the held-out split.</summary>
    public double HeldOut { get; init; }
    /// <summary>Mean reward on the fresh world.</summary>
    public double Fresh { get; init; }
    /// <summary>HeldOut − Fresh: what knowing the world's pages buys.</summary>
    public double Gap { get; init; }
    /// <summary>Lower end of its 95% bootstrap interval.</summary>
    public double Lo { get; init; }
    /// <summary>Upper end.</summary>
    public double Hi { get; init; }
}
