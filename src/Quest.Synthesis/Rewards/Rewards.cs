using System.Text.Json;
using System.Text.RegularExpressions;
using Microsoft.Extensions.AI;
using Quest.Core;
using Quest.Rubrics;
using Quest.Synthesis.Export;

namespace Quest.Synthesis.Rewards;

/// <summary>Scores a final answer text against a task (the rubric tree for objective tasks, the criteria for reports).</summary>
public interface IAnswerScorer
{
    /// <summary>Score in [0, 1] of <paramref name="answer"/> (the text inside the last <c>&lt;answer&gt;</c>).</summary>
    Task<double> ScoreAsync(SynthTask task, string answer, CancellationToken ct = default);
}

/// <summary>What a reward function returns: the total and its parts, for logging and notebooks.</summary>
public sealed record RewardResult
{
    /// <summary>The reward.</summary>
    public double Total { get; init; }
    /// <summary>Base (correctness) score in [0,1].</summary>
    public double Base { get; init; }
    /// <summary>Whether the citation part applied (the task needs citations).</summary>
    public bool CitationApplied { get; init; }
    /// <summary>Citation valid rate (0 when there was no inline citation).</summary>
    public double ValidRate { get; init; }
    /// <summary>The extracted final answer, or null when the trajectory has none.</summary>
    public string? Answer { get; init; }
    /// <summary>The citation check, when it ran.</summary>
    public CitationReport? Citations { get; init; }
}

/// <summary>A reward function over (task, trajectory): plain, swappable (e.g. from a notebook cell).</summary>
public delegate Task<RewardResult> RewardFunction(SynthTask task, IReadOnlyList<ChatTurn> trajectory, CancellationToken ct);

/// <summary>
/// QUEST's reward formulas as plain functions (see QUEST-NOTES §6.4), with one deliberate difference: the objective base
/// score is computed on the final <c>&lt;answer&gt;</c> text only, never on tool outputs.
/// </summary>
public static class Reward
{
    /// <summary>QUEST's inline-citation maximum (INLINE_CITATION_MAX_SCORE_DEFAULT).</summary>
    public const double CitationWeight = 0.25;

    /// <summary>The shortest trajectory that answers <paramref name="answer"/>: the question, then one answer turn (to score an answer text as a reward would).</summary>
    public static IReadOnlyList<ChatTurn> AnswerOnly(SynthTask task, string answer) =>
        [ChatTurn.User(task.Question), ChatTurn.Assistant(Protocol.AnswerTurn(null, answer))];

    /// <summary>
    /// The final answer of a trajectory: the last <c>&lt;answer&gt;…&lt;/answer&gt;</c> in the assistant turns (tool responses
    /// are ignored so page text cannot smuggle in an answer); null when there is none.
    /// </summary>
    public static string? FinalAnswer(IReadOnlyList<ChatTurn> trajectory)
    {
        for (int i = trajectory.Count - 1; i >= 0; i--)
        {
            if (trajectory[i].Role != Roles.Assistant) continue;
            var a = Protocol.ExtractLastAnswer(trajectory[i].Content);
            if (a is not null) return a;
        }
        return null;
    }

    /// <summary>
    /// Combination: <c>total = 0.75·base + 0.25·valid_rate·clamp(base,0,1)</c> when citations apply, else <c>base</c>.
    /// A wrong answer (base 0) earns no citation credit; no inline citation means valid_rate 0.
    /// </summary>
    public static double Combine(double baseScore, double validRate, bool citationApplied)
    {
        if (!citationApplied) return baseScore;
        var b = Math.Clamp(baseScore, 0, 1);
        return baseScore * (1 - CitationWeight) + CitationWeight * Math.Clamp(validRate, 0, 1) * b;
    }

    /// <summary>QUEST's discretisation of the pairwise ratio A/(A+B): ≥0.5→1, ≥0.475→0.75, ≥0.45→0.5, ≥0.425→0.25, else 0.</summary>
    public static double Discretise(double raw) => raw switch
    {
        >= 0.5 => 1.0,
        >= 0.475 => 0.75,
        >= 0.45 => 0.5,
        >= 0.425 => 0.25,
        _ => 0.0,
    };

    /// <summary>Pairwise ratio <c>A/(A+B)</c>; 0.5 when both are 0.</summary>
    public static double PairwiseRatio(double a, double b) => a + b <= 0 ? 0.5 : a / (a + b);

    /// <summary>Runs the citation check of an answer: extract pairs, check each against its page.</summary>
    public static async Task<CitationReport> CheckCitationsAsync(string answer, ISupportChecker checker, CancellationToken ct = default)
    {
        var pairs = Citations.Extract(answer);
        if (pairs.Count == 0) return new CitationReport { HasInlineCitations = false };
        var checkedPairs = await checker.CheckAsync(pairs, ct).ConfigureAwait(false);
        return new CitationReport { HasInlineCitations = true, Pairs = checkedPairs };
    }

    /// <summary>
    /// The default reward: base = <paramref name="scorer"/> on the final answer (0 when there is none or it is empty);
    /// when the task needs citations, the citation part is added by <see cref="Combine"/>.
    /// </summary>
    public static async Task<RewardResult> ComputeAsync(SynthTask task, IReadOnlyList<ChatTurn> trajectory, IAnswerScorer scorer,
        ISupportChecker? citations, CancellationToken ct = default)
    {
        var answer = FinalAnswer(trajectory);
        if (string.IsNullOrWhiteSpace(answer)) return new RewardResult { Answer = answer, CitationApplied = task.NeedCitation };
        var baseScore = await scorer.ScoreAsync(task, answer, ct).ConfigureAwait(false);
        if (!task.NeedCitation || citations is null)
            return new RewardResult { Total = baseScore, Base = baseScore, Answer = answer };
        var report = await CheckCitationsAsync(answer, citations, ct).ConfigureAwait(false);
        return new RewardResult
        {
            Total = Combine(baseScore, report.ValidRate, true), Base = baseScore, CitationApplied = true,
            ValidRate = report.ValidRate, Answer = answer, Citations = report,
        };
    }

    /// <summary>Makes a <see cref="RewardFunction"/> from a scorer and an optional citation checker.</summary>
    public static RewardFunction Create(IAnswerScorer scorer, ISupportChecker? citations) =>
        (task, trajectory, ct) => ComputeAsync(task, trajectory, scorer, citations, ct);
}

/// <summary>Result of scoring one report criterion.</summary>
/// <param name="Criterion">The criterion.</param>
/// <param name="Score">Score in [0,1], or null when it needs a judge and none is configured.</param>
public sealed record CriterionScore(ReportCriterion Criterion, double? Score);

/// <summary>
/// Report-task scoring: weighted criteria inside dimensions, dimension weights on top. Program-checkable criteria
/// (<c>mentions</c>, <c>cites</c>, <c>min_words</c>, <c>sections</c>) run here; <c>judge</c> criteria need an
/// <see cref="IChatClient"/> (0–10 per criterion, divided by 10) and are left out (weights renormalised) without one.
/// </summary>
public static partial class ReportScoring
{
    /// <summary>The four dimensions of DeepResearch Bench style report rubrics.</summary>
    public static readonly IReadOnlyList<string> Dimensions = ["comprehensiveness", "insight", "instruction_following", "readability"];

    private static readonly System.Runtime.CompilerServices.ConditionalWeakTable<ReportCriterion, RubricTree> Trees = new();

    /// <summary>
    /// Runs a program check on an answer through the rubric check registry (<see cref="ReportCriterion.ToCheckSpec"/>):
    /// 1 or 0; null for a judge criterion.
    /// </summary>
    public static double? ProgramCheck(ReportCriterion c, string answer)
    {
        if (c.Check == "judge") return null;
        var tree = Trees.GetValue(c, x => RubricTree.Compile(RubricNode.Leaf("criterion", x.Text, x.ToCheckSpec())));
        // program checks need no judge and no page, so they complete synchronously
        return tree.ScoreAsync(answer).GetAwaiter().GetResult().Score >= 1 ? 1 : 0;
    }

    /// <summary>Whole-word, case-insensitive mention test (the rubric's <c>exact</c> check anywhere: normalised word sequence).</summary>
    public static bool Mentions(string text, string name) =>
        TextNormalizer.ContainsSequence(TextNormalizer.Tokens(text), TextNormalizer.Tokens(name));

    /// <summary>Scores every criterion (judge criteria through <paramref name="judge"/> when given).</summary>
    public static async Task<IReadOnlyList<CriterionScore>> ScoreCriteriaAsync(SynthTask task, string answer, IChatClient? judge, CancellationToken ct = default)
    {
        var list = new List<CriterionScore>();
        foreach (var c in task.Criteria ?? [])
        {
            var s = ProgramCheck(c, answer);
            if (s is null && judge is not null) s = await JudgeAsync(judge, task.Question, c, answer, ct).ConfigureAwait(false) / 10.0;
            list.Add(new CriterionScore(c, s));
        }
        return list;
    }

    /// <summary>Weighted score: Σ_d W_d · mean_w(criteria of d) / Σ_d W_d over dimensions with at least one scored criterion.</summary>
    public static double Weighted(IReadOnlyList<CriterionScore> scores, IReadOnlyDictionary<string, double>? dimensionWeights)
    {
        double num = 0, den = 0;
        foreach (var g in scores.Where(s => s.Score is not null).GroupBy(s => s.Criterion.Dimension))
        {
            double w = dimensionWeights is not null && dimensionWeights.TryGetValue(g.Key, out var dw) ? dw : 1;
            double cw = g.Sum(s => s.Criterion.Weight);
            if (cw <= 0 || w <= 0) continue;
            num += w * g.Sum(s => s.Criterion.Weight * s.Score!.Value) / cw;
            den += w;
        }
        return den == 0 ? 0 : num / den;
    }

    /// <summary>
    /// Pairwise comparison as in QUEST's open-ended reward: the judge scores candidate and reference 0–10 on every
    /// criterion; A and B are the weighted totals; returns <c>raw = A/(A+B)</c> and, when <paramref name="discretise"/>,
    /// <see cref="Reward.Discretise"/> of it.
    /// </summary>
    public static async Task<double> PairwiseAsync(SynthTask task, string candidate, string reference, IChatClient judge, bool discretise = true, CancellationToken ct = default)
    {
        var a = new List<CriterionScore>(); var b = new List<CriterionScore>();
        foreach (var c in task.Criteria ?? [])
        {
            a.Add(new CriterionScore(c, await JudgeAsync(judge, task.Question, c, candidate, ct).ConfigureAwait(false)));
            b.Add(new CriterionScore(c, await JudgeAsync(judge, task.Question, c, reference, ct).ConfigureAwait(false)));
        }
        var raw = Reward.PairwiseRatio(Weighted(a, task.DimensionWeights), Weighted(b, task.DimensionWeights));
        return discretise ? Reward.Discretise(raw) : raw;
    }

    private static async Task<double> JudgeAsync(IChatClient judge, string question, ReportCriterion c, string answer, CancellationToken ct)
    {
        var prompt = $"Task: {question}\n\nCriterion ({c.Dimension}): {c.Text}\n\nReport:\n{answer}\n\n"
            + "Score how well the report meets the criterion from 0 to 10. Answer with the number only.";
        var resp = await judge.GetResponseAsync(prompt, new ChatOptions { Temperature = 0 }, ct).ConfigureAwait(false);
        var m = Regex.Match(resp.Text ?? "", @"\d+(\.\d+)?");
        return m.Success ? Math.Clamp(double.Parse(m.Value, System.Globalization.CultureInfo.InvariantCulture), 0, 10) : 0;
    }
}

/// <summary>Scores report tasks by their weighted criteria (program checks; judge criteria when a judge is set).</summary>
public sealed class ReportAnswerScorer(IChatClient? judge = null) : IAnswerScorer
{
    /// <inheritdoc />
    public async Task<double> ScoreAsync(SynthTask task, string answer, CancellationToken ct = default) =>
        ReportScoring.Weighted(await ReportScoring.ScoreCriteriaAsync(task, answer, judge, ct).ConfigureAwait(false), task.DimensionWeights);
}
