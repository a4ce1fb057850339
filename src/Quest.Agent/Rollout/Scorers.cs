using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

using Quest.Core;

namespace Quest.Agent.Rollout;

/// <summary>A reward and its report.</summary>
/// <param name="Reward">Reward in [0,1].</param>
/// <param name="Report">Details (rubric report JSON, or match details).</param>
public sealed record EpisodeScore(double Reward, JsonNode? Report);

/// <summary>Scores a finished episode. Return null when the scorer has nothing to say for this task.</summary>
public interface IEpisodeScorer
{
    /// <summary>Scores <paramref name="trajectory"/> of <paramref name="task"/>.</summary>
    Task<EpisodeScore?> ScoreAsync(RolloutTask task, Trajectory trajectory, CancellationToken cancellationToken = default);
}

/// <summary>
/// Exact-match reward on the gold answer and its aliases after normalisation (case, accents, punctuation, articles,
/// whitespace; numbers compared as numbers). 0 when there is no prediction; null when the task has no answer.
/// </summary>
public sealed class AnswerMatchScorer : IEpisodeScorer
{
    /// <inheritdoc/>
    public Task<EpisodeScore?> ScoreAsync(RolloutTask task, Trajectory trajectory, CancellationToken cancellationToken = default)
    {
        if (string.IsNullOrWhiteSpace(task.Answer)) return Task.FromResult<EpisodeScore?>(null);
        var golds = new[] { task.Answer! }.Concat(task.Aliases).ToList();
        var pred = trajectory.Prediction;
        string? matched = pred is null ? null : golds.FirstOrDefault(g => Matches(pred, g));
        var report = new JsonObject
        {
            ["scorer"] = "answer_match",
            ["prediction"] = pred,
            ["gold"] = new JsonArray(golds.Select(g => (JsonNode?)JsonValue.Create(g)).ToArray()),
            ["matched"] = matched,
        };
        return Task.FromResult<EpisodeScore?>(new EpisodeScore(matched is null ? 0 : 1, report));
    }

    /// <summary>Whether <paramref name="prediction"/> matches <paramref name="gold"/> after normalisation.</summary>
    public static bool Matches(string prediction, string gold)
    {
        var p = Normalize(prediction); var g = Normalize(gold);
        if (p.Length == 0 || g.Length == 0) return false;
        if (p == g) return true;
        if (double.TryParse(p.Replace(" ", ""), NumberStyles.Float, CultureInfo.InvariantCulture, out var pn) &&
            double.TryParse(g.Replace(" ", ""), NumberStyles.Float, CultureInfo.InvariantCulture, out var gn))
            return Math.Abs(pn - gn) <= 1e-9 * Math.Max(1, Math.Abs(gn));
        return false;
    }

    /// <summary>The kit's text rule (<see cref="TextNormalizer.Normalize"/>): lower case, no accents, no punctuation, no articles.</summary>
    public static string Normalize(string s) => TextNormalizer.Normalize(s);
}

/// <summary>Tries scorers in order and returns the first non-null score (e.g. rubric first, then answer match).</summary>
public sealed class FirstScorer(params IEpisodeScorer[] scorers) : IEpisodeScorer
{
    /// <inheritdoc/>
    public async Task<EpisodeScore?> ScoreAsync(RolloutTask task, Trajectory trajectory, CancellationToken cancellationToken = default)
    {
        foreach (var s in scorers)
            if (await s.ScoreAsync(task, trajectory, cancellationToken).ConfigureAwait(false) is { } r) return r;
        return null;
    }
}

/// <summary>A scorer from a delegate.</summary>
public sealed class DelegateScorer(Func<RolloutTask, Trajectory, CancellationToken, Task<EpisodeScore?>> score) : IEpisodeScorer
{
    /// <inheritdoc/>
    public Task<EpisodeScore?> ScoreAsync(RolloutTask task, Trajectory trajectory, CancellationToken cancellationToken = default) => score(task, trajectory, cancellationToken);
}
