using System.Text.RegularExpressions;
using Quest.Synthesis.Export;
using Quest.Synthesis.Families;
using Quest.Synthesis.Rewards;

using Quest.Core;

namespace Quest.Synthesis.Verification;

/// <summary>Rejection reasons counted in a synthesis run's summary.</summary>
public static class Rejections
{
    /// <summary>The answer (or an alias, or a list item) appears in the question.</summary>
    public const string AnswerLeak = "answer-leak";
    /// <summary>Same question (normalised) as an accepted task.</summary>
    public const string Duplicate = "duplicate";
    /// <summary>The reference answer's reward is below 1.0.</summary>
    public const string ReferenceBelowOne = "reference-below-1";
    /// <summary>Some negative answer scored 1.0.</summary>
    public const string NegativePassed = "negative-scored-1";
    /// <summary>The family proposed no negatives.</summary>
    public const string NoNegatives = "no-negatives";
    /// <summary>A training task's answer is a test task's answer (or the other way round).</summary>
    public const string SplitLeak = "split-answer-leak";
    /// <summary>The rubric or task is malformed (the rubric room rejected it).</summary>
    public const string Malformed = "malformed";
}

/// <summary>The verdict on one candidate.</summary>
/// <param name="Accepted">Whether it passed every check.</param>
/// <param name="Reason">Rejection reason (see <see cref="Rejections"/>), null when accepted.</param>
/// <param name="Task">The task with scored negatives (when accepted).</param>
/// <param name="ReferenceScore">Reward of the reference answer.</param>
public sealed record Verdict(bool Accepted, string? Reason, SynthTask Task, double ReferenceScore);

/// <summary>
/// Empirical verification (what QUEST lacks): a candidate is accepted only if the reward of its reference answer is
/// 1.0 and every negative scores below 1.0, it does not leak its answer in the question, and it is not a duplicate.
/// </summary>
public sealed partial class TaskVerifier(TaskScorer scorer)
{
    private readonly HashSet<string> _questions = [];

    /// <summary>The scorer.</summary>
    public TaskScorer Scorer { get; } = scorer;

    /// <summary>Forgets the accepted questions (the duplicate check's memory); each synthesis run starts with this.</summary>
    public void ResetDuplicates() => _questions.Clear();

    /// <summary>Marks questions as taken (e.g. the tasks of an existing file, so a new run does not repeat them).</summary>
    public void AddKnownQuestions(IEnumerable<string> questions) { foreach (var q in questions) _questions.Add(Normalize(q)); }

    /// <summary>The reward function used for reference and negatives (rubric + citation part where the task needs it).</summary>
    public RewardFunction Reward { get; init; } = scorer.Reward();

    /// <summary>Checks one candidate; remembers accepted questions for the duplicate check.</summary>
    public async Task<Verdict> VerifyAsync(TaskCandidate c, CancellationToken ct = default)
    {
        var t = c.Task;
        if (Leaks(t)) return new Verdict(false, Rejections.AnswerLeak, t, double.NaN);
        var key = Normalize(t.Question);
        if (_questions.Contains(key)) return new Verdict(false, Rejections.Duplicate, t, double.NaN);
        if (c.Negatives.Count == 0) return new Verdict(false, Rejections.NoNegatives, t, double.NaN);
        if (c.Tree is not null) Scorer.Remember(t, c.Tree);
        double refScore = await ScoreAnswerAsync(t, t.Reference.AnswerText, ct).ConfigureAwait(false);
        if (refScore < 1.0 - 1e-9) return new Verdict(false, Rejections.ReferenceBelowOne, t, refScore);
        var scored = new List<NegativeAnswer>();
        foreach (var n in c.Negatives)
        {
            var s = await ScoreAnswerAsync(t, n.Answer, ct).ConfigureAwait(false);
            if (s >= 1.0 - 1e-9) return new Verdict(false, Rejections.NegativePassed, t, refScore);
            scored.Add(n with { Score = Math.Round(s, 4) });
        }
        _questions.Add(key);
        return new Verdict(true, null, t with { Negatives = scored }, refScore);
    }

    /// <summary>The reward of an answer text, as if it were the final <c>&lt;answer&gt;</c> of a trajectory.</summary>
    public async Task<double> ScoreAnswerAsync(SynthTask task, string answer, CancellationToken ct = default)
    {
        return (await Reward(task, Quest.Synthesis.Rewards.Reward.AnswerOnly(task, answer), ct).ConfigureAwait(false)).Total;
    }

    /// <summary>True when the answer, an alias or a list item appears in the question as whole words.</summary>
    public static bool Leaks(SynthTask t)
    {
        if (t.Type == TaskTypes.OpenEnded) return false;
        var names = new List<string> { t.Answer };
        names.AddRange(t.Aliases);
        if (t.Family is "list" or "citation") names.AddRange(t.Answer.Split("; "));
        return names.Where(n => n.Trim().Length >= 2).Any(n => ReportScoring.Mentions(t.Question, n.Trim()));
    }

    /// <summary>The duplicate-question key: the kit's text rule (<see cref="TextNormalizer.Normalize"/>).</summary>
    public static string Normalize(string s) => TextNormalizer.Normalize(s);
}
