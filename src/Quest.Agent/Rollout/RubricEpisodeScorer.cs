using System.Collections.Concurrent;
using System.Text.Json.Nodes;
using Quest.Rubrics;

namespace Quest.Agent.Rollout;

/// <summary>
/// Scores an episode with its task's rubric tree (<see cref="RubricTree.ScoreAsync"/> on the final answer, the
/// last <c>&lt;answer&gt;</c>, as QUEST's reward does). No answer scores 0. Tasks without a rubric return null, so
/// the next scorer (answer match) can take over. Trees are compiled once per task.
/// </summary>
public sealed class RubricEpisodeScorer : IEpisodeScorer
{
    private readonly RubricContext _context;
    private readonly ConcurrentDictionary<string, RubricTree> _trees = new();

    /// <summary>Creates the scorer; <paramref name="context"/> supplies the judge and the page resolver for cites leaves.</summary>
    public RubricEpisodeScorer(RubricContext? context = null) => _context = context ?? RubricContext.Empty;

    /// <summary>Compiles a task's rubric JSON (QUEST's formats or the rubric room's schema as JSON).</summary>
    public static RubricTree Compile(RolloutTask task) =>
        RubricTree.FromQuestJson(task.Rubric!.ToJsonString(), null, $"task {task.Id} rubric");

    /// <inheritdoc/>
    public async Task<EpisodeScore?> ScoreAsync(RolloutTask task, Trajectory trajectory, CancellationToken cancellationToken = default)
    {
        if (task.Rubric is null) return null;
        var tree = _trees.GetOrAdd(task.Id, _ => Compile(task));
        if (string.IsNullOrWhiteSpace(trajectory.Prediction))
            return new EpisodeScore(0, new JsonObject { ["scorer"] = "rubric", ["tree"] = tree.Name, ["final_score"] = 0, ["note"] = "no answer" });
        var ctx = _context.Task is null ? _context with { Task = task.Question } : _context;
        var report = await tree.ScoreAsync(trajectory.Prediction!, ctx, cancellationToken).ConfigureAwait(false);
        var json = JsonNode.Parse(report.ToJson(details: true, indented: false));
        var wrapped = new JsonObject { ["scorer"] = "rubric", ["final_score"] = report.Score, ["report"] = json };
        return new EpisodeScore(report.Score, wrapped);
    }
}

/// <summary>Ready-made scorer chains.</summary>
public static class RolloutScorers
{
    /// <summary>The rubric tree when the task has one, else exact match on answer and aliases.</summary>
    public static IEpisodeScorer Default(RubricContext? context = null) => new FirstScorer(new RubricEpisodeScorer(context), new AnswerMatchScorer());
}
