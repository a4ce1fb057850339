using System.Collections.Concurrent;
using Microsoft.Extensions.AI;
using Quest.Rubrics;
using Quest.Synthesis.Rewards;

namespace Quest.Synthesis.Verification;

/// <summary>
/// Scores an answer against a task: objective tasks by their rubric tree (the rubric room's <see cref="RubricTree"/>,
/// parsed once per task from the task's JSON), report tasks by their weighted criteria. Cited pages are read through
/// <paramref name="pages"/> (the corpus); judge leaves use <paramref name="judge"/> or fail when none is configured.
/// </summary>
public sealed class TaskScorer(Func<string, CancellationToken, Task<string?>> pages, IChatClient? judge = null) : IAnswerScorer
{
    private readonly ConcurrentDictionary<string, RubricTree> _trees = new();
    private readonly RubricContext _context = new()
    {
        Judge = judge, Sources = SourceResolver.FromDelegate(pages),
        WhenNoJudge = MissingJudgeBehavior.FailLeaf,
    };
    private readonly ReportAnswerScorer _report = new(judge);

    /// <summary>The page resolver.</summary>
    public Func<string, CancellationToken, Task<string?>> Pages { get; } = pages;

    /// <summary>The compiled tree of a task (cached by id).</summary>
    public RubricTree TreeOf(SynthTask task) => _trees.GetOrAdd(task.Id, _ =>
        RubricTree.FromQuestJson(task.Rubric?.ToJsonString() ?? throw new InvalidOperationException($"task {task.Id} has no rubric"), source: task.Id));

    /// <summary>Adds an already compiled tree (saves a parse during synthesis).</summary>
    public void Remember(SynthTask task, RubricTree tree) => _trees[task.Id] = tree;

    /// <summary>The full rubric report of an answer (objective tasks).</summary>
    public Task<RubricReport> ReportAsync(SynthTask task, string answer, CancellationToken ct = default) =>
        TreeOf(task).ScoreAsync(answer, _context with { Task = task.Question }, ct);

    /// <inheritdoc />
    public async Task<double> ScoreAsync(SynthTask task, string answer, CancellationToken ct = default)
    {
        if (task.Type == TaskTypes.OpenEnded) return await _report.ScoreAsync(task, answer, ct).ConfigureAwait(false);
        return (await ReportAsync(task, answer, ct).ConfigureAwait(false)).Score;
    }

    /// <summary>The default reward over this scorer with the overlap citation checker on the same pages.</summary>
    public RewardFunction Reward() => Rewards.Reward.Create(this, new OverlapSupportChecker(Pages));
}
