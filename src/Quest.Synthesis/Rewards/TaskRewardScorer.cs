using System.Text.Json;
using Quest.Agent;
using Quest.Agent.Rollout;
using Quest.Core;
using Quest.Synthesis.Teacher;

namespace Quest.Synthesis.Rewards;

/// <summary>
/// The one scoring of an agent episode on a synthesized task, used by <c>quest eval</c>, <c>quest rollout</c>, the
/// recipe's eval and RL alike, so a task scores the same whichever runs it: an episode that ended on invalid turns
/// (or was cancelled) gets 0 and no report, as in QUEST RL; any other is scored by the task's reward function on its
/// whole transcript (the rubric or report criteria on the final answer, plus the citation term where the task needs
/// citations: <see cref="Reward.ComputeAsync"/>).
/// </summary>
public sealed class TaskRewardScorer : IEpisodeScorer
{
    private readonly IReadOnlyDictionary<string, SynthTask> _tasks;
    private readonly RewardFunction _reward;

    /// <summary>A scorer for <paramref name="tasks"/> (by id) with <paramref name="reward"/> (e.g. <c>new Synthesizer(graph).Verifier.Reward</c>).</summary>
    public TaskRewardScorer(IEnumerable<SynthTask> tasks, RewardFunction reward)
    {
        _tasks = tasks.ToDictionary(t => t.Id);
        _reward = reward;
    }

    /// <summary>An episode's reward under its task (null when it ended on invalid turns or was cancelled: reward 0, no report).</summary>
    public static async Task<RewardResult?> RewardAsync(SynthTask task, Trajectory trajectory, RewardFunction reward, CancellationToken ct) =>
        trajectory.Termination is Termination.InvalidTurns or Termination.Cancelled ? null
            : await reward(task, OracleTeacher.Transcript(trajectory), ct).ConfigureAwait(false);

    /// <inheritdoc/>
    public async Task<EpisodeScore?> ScoreAsync(RolloutTask task, Trajectory trajectory, CancellationToken cancellationToken = default)
    {
        if (!_tasks.TryGetValue(task.Id, out var t)) return null;
        var r = await RewardAsync(t, trajectory, _reward, cancellationToken).ConfigureAwait(false);
        return r is null ? new EpisodeScore(0, null) : new EpisodeScore(r.Total, JsonSerializer.SerializeToNode(r, JsonFiles.Indented));
    }
}
