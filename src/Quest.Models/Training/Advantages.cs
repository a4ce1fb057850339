namespace Quest.Models.Training;

/// <summary>
/// How the rewards of a batch of rollouts become per-rollout advantages: the seam where RL algorithms differ first.
/// A new estimator is one class and one name in <see cref="AdvantageEstimators.Create"/>.
/// </summary>
public interface IAdvantageEstimator
{
    /// <summary>The name the options use (<c>grpo</c>, <c>rloo</c>, <c>reinforce</c>, <c>scst</c>).</summary>
    string Name { get; }

    /// <summary>
    /// Advantages of rollouts with <paramref name="rewards"/> in groups <paramref name="groupIds"/> (a group: the rollouts of
    /// one prompt). <see cref="GroupAdvantages.ZeroVarianceGroups"/> counts groups whose rewards were all equal, whatever
    /// the estimator does with them.
    /// </summary>
    GroupAdvantages Compute(IReadOnlyList<double> rewards, IReadOnlyList<string> groupIds);

    /// <summary>
    /// Whether the estimator takes each group's greedy rollout (the argmax policy on the same task, the policy the
    /// evaluation runs) as its baseline: the RL stage then rolls one greedy episode per task out beside the group, in the
    /// same decode batch, and passes its reward to <see cref="Compute(IReadOnlyList{double}, IReadOnlyList{string}, IReadOnlyDictionary{string, double})"/>.
    /// </summary>
    bool NeedsGreedyRollout => false;

    /// <summary>As <see cref="Compute(IReadOnlyList{double}, IReadOnlyList{string})"/>, given each group's greedy rollout
    /// reward by group id (<paramref name="greedyRewards"/>); estimators that do not need it ignore it.</summary>
    GroupAdvantages Compute(IReadOnlyList<double> rewards, IReadOnlyList<string> groupIds, IReadOnlyDictionary<string, double> greedyRewards) =>
        Compute(rewards, groupIds);
}

/// <summary>The estimators by name.</summary>
public static class AdvantageEstimators
{
    /// <summary>The names <see cref="Create"/> knows.</summary>
    public static readonly IReadOnlyList<string> Names = ["grpo", "rloo", "reinforce", "scst"];

    /// <summary>
    /// An estimator by name: <c>grpo</c> (r − group mean, divided by the group's σ when <paramref name="scaleByStd"/>:
    /// QUEST's, or Dr. GRPO's without σ), <c>rloo</c> (r − the mean of the group's other rollouts), <c>reinforce</c>
    /// (r − the mean over the whole batch: a group whose rollouts all succeed still pushes towards what they did), <c>scst</c>
    /// (r − the reward of the task's greedy rollout: self-critical, <see cref="GreedyBaselineAdvantage"/>).
    /// </summary>
    public static IAdvantageEstimator Create(string name, bool scaleByStd = false) => name.Trim().ToLowerInvariant() switch
    {
        "grpo" => new GroupMeanAdvantage(scaleByStd),
        "rloo" => new LeaveOneOutAdvantage(),
        "reinforce" => new BatchMeanAdvantage(),
        "scst" => new GreedyBaselineAdvantage(),
        _ => throw new Quest.Core.QuestInputException(null, null, null, $"advantage estimator '{name}'", string.Join(", ", Names)),
    };

    /// <summary>Indices of each group, in first-seen order.</summary>
    internal static IEnumerable<int[]> Groups(IReadOnlyList<string> groupIds) =>
        Enumerable.Range(0, groupIds.Count).GroupBy(i => groupIds[i]).Select(g => g.ToArray());

    internal static bool Flat(IReadOnlyList<double> rewards, int[] idx) => idx.Max(i => rewards[i]) - idx.Min(i => rewards[i]) < 1e-9;

    internal static void CheckLengths(IReadOnlyList<double> rewards, IReadOnlyList<string> groupIds)
    {
        if (rewards.Count != groupIds.Count) throw new ArgumentException("one group id per reward");
    }
}

/// <summary>GRPO's advantage: r − group mean, divided by the group's standard deviation (+1e-6) when asked. Sums to zero per group; a flat group gets 0.</summary>
public sealed class GroupMeanAdvantage(bool scaleByStd) : IAdvantageEstimator
{
    /// <inheritdoc/>
    public string Name => "grpo";

    /// <inheritdoc/>
    public GroupAdvantages Compute(IReadOnlyList<double> rewards, IReadOnlyList<string> groupIds) => Grpo.Advantages(rewards, groupIds, scaleByStd);
}

/// <summary>RLOO's advantage: r − the mean of the group's other rollouts (n/(n−1) times r − group mean). A flat group gets 0.</summary>
public sealed class LeaveOneOutAdvantage : IAdvantageEstimator
{
    /// <inheritdoc/>
    public string Name => "rloo";

    /// <inheritdoc/>
    public GroupAdvantages Compute(IReadOnlyList<double> rewards, IReadOnlyList<string> groupIds)
    {
        AdvantageEstimators.CheckLengths(rewards, groupIds);
        var adv = new double[rewards.Count];
        int groups = 0, zero = 0;
        foreach (var idx in AdvantageEstimators.Groups(groupIds))
        {
            groups++;
            if (AdvantageEstimators.Flat(rewards, idx)) { zero++; continue; }
            double sum = idx.Sum(i => rewards[i]);
            foreach (var i in idx) adv[i] = rewards[i] - (sum - rewards[i]) / (idx.Length - 1);
        }
        return new GroupAdvantages(adv, groups, zero);
    }
}

/// <summary>
/// REINFORCE with the batch's mean reward as baseline: r − mean over every rollout of the step. Unlike the group
/// estimators, a group whose rollouts all scored alike still carries signal (above or below the batch), which matters
/// when many groups are flat (reported to beat GRPO for small search agents, Search-R1++).
/// </summary>
public sealed class BatchMeanAdvantage : IAdvantageEstimator
{
    /// <inheritdoc/>
    public string Name => "reinforce";

    /// <inheritdoc/>
    public GroupAdvantages Compute(IReadOnlyList<double> rewards, IReadOnlyList<string> groupIds)
    {
        AdvantageEstimators.CheckLengths(rewards, groupIds);
        double mean = rewards.Count == 0 ? 0 : rewards.Average();
        var adv = rewards.Select(r => Math.Abs(r - mean) < 1e-12 ? 0 : r - mean).ToArray();
        var groups = AdvantageEstimators.Groups(groupIds).ToList();
        return new GroupAdvantages(adv, groups.Count, groups.Count(g => AdvantageEstimators.Flat(rewards, g)));
    }
}

/// <summary>
/// Self-critical sequence training's advantage (Rennie et al., 2017): r − the reward the greedy policy earns on the same
/// task. The evaluation decodes greedily, and a group-mean baseline pushes the sampled policy up where it beats its own
/// average, which moves the argmax only as a side effect; against the greedy rollout, a sample is pushed up exactly when
/// it does better than what the evaluation would have done, and down when it does worse. The baseline does not depend on
/// the sample, so the gradient stays unbiased. A group with no signal is one whose every rollout scored what the greedy
/// one did; unlike the group-mean estimators, a group whose rollouts all agree still carries signal when the greedy
/// rollout scored otherwise.
/// </summary>
public sealed class GreedyBaselineAdvantage : IAdvantageEstimator
{
    /// <inheritdoc/>
    public string Name => "scst";

    /// <inheritdoc/>
    public bool NeedsGreedyRollout => true;

    /// <summary>Not defined without the greedy rewards: throws.</summary>
    public GroupAdvantages Compute(IReadOnlyList<double> rewards, IReadOnlyList<string> groupIds) =>
        throw new ArgumentException("scst's baseline is each group's greedy rollout reward: pass them");

    /// <inheritdoc/>
    public GroupAdvantages Compute(IReadOnlyList<double> rewards, IReadOnlyList<string> groupIds, IReadOnlyDictionary<string, double> greedyRewards)
    {
        AdvantageEstimators.CheckLengths(rewards, groupIds);
        var adv = new double[rewards.Count];
        int groups = 0, zero = 0;
        foreach (var idx in AdvantageEstimators.Groups(groupIds))
        {
            groups++;
            var id = groupIds[idx[0]];
            if (!greedyRewards.TryGetValue(id, out var b)) throw new ArgumentException($"no greedy reward for group '{id}'");
            bool signal = false;
            foreach (var i in idx)
            {
                adv[i] = Math.Abs(rewards[i] - b) < 1e-9 ? 0 : rewards[i] - b;
                signal |= adv[i] != 0;
            }
            if (!signal) zero++;
        }
        return new GroupAdvantages(adv, groups, zero);
    }
}
