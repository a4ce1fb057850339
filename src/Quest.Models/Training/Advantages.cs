namespace Quest.Models.Training;

/// <summary>
/// How the rewards of a batch of rollouts become per-rollout advantages: the seam where RL algorithms differ first.
/// A new estimator is one class and one name in <see cref="AdvantageEstimators.Create"/>.
/// </summary>
public interface IAdvantageEstimator
{
    /// <summary>The name the options use (<c>grpo</c>, <c>rloo</c>, <c>reinforce</c>).</summary>
    string Name { get; }

    /// <summary>
    /// Advantages of rollouts with <paramref name="rewards"/> in groups <paramref name="groupIds"/> (a group: the rollouts of
    /// one prompt). <see cref="GroupAdvantages.ZeroVarianceGroups"/> counts groups whose rewards were all equal, whatever
    /// the estimator does with them.
    /// </summary>
    GroupAdvantages Compute(IReadOnlyList<double> rewards, IReadOnlyList<string> groupIds);
}

/// <summary>The estimators by name.</summary>
public static class AdvantageEstimators
{
    /// <summary>The names <see cref="Create"/> knows.</summary>
    public static readonly IReadOnlyList<string> Names = ["grpo", "rloo", "reinforce"];

    /// <summary>
    /// An estimator by name: <c>grpo</c> (r − group mean, divided by the group's σ when <paramref name="scaleByStd"/>:
    /// QUEST's, or Dr. GRPO's without σ), <c>rloo</c> (r − the mean of the group's other rollouts), <c>reinforce</c>
    /// (r − the mean over the whole batch: a group whose rollouts all succeed still pushes towards what they did).
    /// </summary>
    public static IAdvantageEstimator Create(string name, bool scaleByStd = false) => name.Trim().ToLowerInvariant() switch
    {
        "grpo" => new GroupMeanAdvantage(scaleByStd),
        "rloo" => new LeaveOneOutAdvantage(),
        "reinforce" => new BatchMeanAdvantage(),
        _ => throw new Quest.Core.QuestInputException(null, null, null, $"advantage estimator '{name}'", string.Join(", ", Names)),
    };

    /// <summary>Indices of each group, in first-seen order.</summary>
    internal static IEnumerable<int[]> Groups(IReadOnlyList<string> groupIds) =>
        Enumerable.Range(0, groupIds.Count).GroupBy(i => groupIds[i]).Select(g => g.ToArray());

    internal static bool Flat(IReadOnlyList<double> rewards, int[] idx) => idx.Max(i => rewards[i]) - idx.Min(i => rewards[i]) < 1e-9;

    /// <summary>Whether a group's <paramref name="rewards"/> are all equal (no signal: zero advantage for every rollout).</summary>
    public static bool Flat(IReadOnlyList<double> rewards) => Flat(rewards, [.. Enumerable.Range(0, rewards.Count)]);

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
