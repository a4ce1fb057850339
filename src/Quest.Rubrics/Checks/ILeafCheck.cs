using Quest.Core;
using Microsoft.Extensions.AI;

namespace Quest.Rubrics;

/// <summary>A compiled leaf check. Cheap checks complete synchronously (their <see cref="ValueTask{T}"/> is already done).</summary>
public interface ILeafCheck
{
    /// <summary>The check type name.</summary>
    string Type { get; }
    /// <summary>True when the check calls the LLM judge (so scoring needs <see cref="RubricContext.Judge"/>).</summary>
    bool NeedsJudge => false;
    /// <summary>Evaluates the check on one answer.</summary>
    ValueTask<LeafOutcome> EvaluateAsync(LeafInput input, CancellationToken cancellationToken);
}

/// <summary>The result of one leaf check.</summary>
/// <param name="Passed">Leaf score 1 (true) or 0 (false).</param>
/// <param name="Evidence">Short human-readable evidence (what matched, what was missing, errors).</param>
/// <param name="Reasoning">The judge's reasoning, when a judge decided.</param>
/// <param name="Data">Structured evidence, e.g. <c>coverage</c> for list checks or <c>votes</c> for the judge.</param>
/// <param name="JudgeCalls">Number of LLM calls spent.</param>
public sealed record LeafOutcome(bool Passed, string? Evidence = null, string? Reasoning = null,
    IReadOnlyDictionary<string, object?>? Data = null, int JudgeCalls = 0)
{
    /// <summary>A pass with evidence.</summary>
    public static LeafOutcome Pass(string? evidence = null) => new(true, evidence);
    /// <summary>A failure with evidence.</summary>
    public static LeafOutcome Fail(string? evidence = null) => new(false, evidence);
}

/// <summary>Everything a check sees: the answer (with cached normalisations), the task, the leaf, its arguments and the context.</summary>
public sealed class LeafInput
{
    internal LeafInput(AnswerView answer, RubricNode node, CheckArgs args, RubricContext context, string? task)
    {
        View = answer; Node = node; Args = args; Context = context; Task = task;
    }

    /// <summary>The answer text being scored.</summary>
    public string Answer => View.Text;
    /// <summary>The answer with cached normalisations (shared by all leaves of one scoring run).</summary>
    public AnswerView View { get; }
    /// <summary>The task description (context override, else the tree's task), or null.</summary>
    public string? Task { get; }
    /// <summary>The leaf.</summary>
    public RubricNode Node { get; }
    /// <summary>The check's arguments (custom checks read their YAML parameters here).</summary>
    public CheckArgs Args { get; }
    /// <summary>Judge, source resolver and options.</summary>
    public RubricContext Context { get; }
}

/// <summary>What to do when a tree has judge leaves and <see cref="RubricContext.Judge"/> is null.</summary>
public enum MissingJudgeBehavior
{
    /// <summary>Throw <see cref="RubricJudgeMissingException"/> before any check runs (default).</summary>
    Throw,
    /// <summary>Judge leaves fail with the evidence "no judge configured"; other leaves are scored normally.</summary>
    FailLeaf,
}

/// <summary>Thrown when a tree needs an LLM judge and none is configured.</summary>
public sealed class RubricJudgeMissingException(string message) : InvalidOperationException(message);

/// <summary>Options for <c>judge</c> leaves.</summary>
public sealed record JudgeOptions
{
    /// <summary>Trials per claim (QUEST: 3, stopping early once a side has a majority, i.e. after two agreeing votes).</summary>
    public int Votes { get; init; } = 3;
    /// <summary>Sampling temperature sent to the judge (null: the client's default).</summary>
    public float? Temperature { get; init; }
    /// <summary>Source page text beyond this many characters is cut in the middle.</summary>
    public int MaxSourceChars { get; init; } = 100_000;
    /// <summary>Ask for a JSON reply through <c>ChatOptions.ResponseFormat</c> (QUEST requests structured output). Off by
    /// default because some OpenAI-compatible servers reject it; replies are parsed leniently either way.</summary>
    public bool RequestJson { get; init; }
    /// <summary>Extra chat options (model id, max tokens …); cloned per call.</summary>
    public ChatOptions? ChatOptions { get; init; }
}

/// <summary>Turns a URL into page text (the World room provides one over its corpora). Null means unavailable.</summary>
public interface ISourceResolver
{
    /// <summary>Returns the page text for <paramref name="url"/>, or null when it cannot be read.</summary>
    Task<string?> GetTextAsync(string url, CancellationToken cancellationToken);
}

/// <summary>Ready-made <see cref="ISourceResolver"/>s.</summary>
public static class SourceResolver
{
    /// <summary>Wraps a delegate.</summary>
    public static ISourceResolver FromDelegate(Func<string, CancellationToken, Task<string?>> resolve) => new DelegateResolver(resolve);
    /// <summary>Wraps a synchronous delegate.</summary>
    public static ISourceResolver FromDelegate(Func<string, string?> resolve) => new DelegateResolver((u, _) => Task.FromResult(resolve(u)));
    /// <summary>A fixed url → text map; URLs are compared without scheme, "www." and trailing slash.</summary>
    public static ISourceResolver FromDictionary(IReadOnlyDictionary<string, string> pages)
    {
        var map = pages.ToDictionary(p => UrlKeys.Key(p.Key), p => p.Value, StringComparer.OrdinalIgnoreCase);
        return new DelegateResolver((u, _) => Task.FromResult(map.TryGetValue(UrlKeys.Key(u), out var t) ? t : null));
    }

    private sealed class DelegateResolver(Func<string, CancellationToken, Task<string?>> f) : ISourceResolver
    {
        public Task<string?> GetTextAsync(string url, CancellationToken cancellationToken) => f(url, cancellationToken);
    }
}

/// <summary>Per-scoring-run context: the judge, the source resolver and options. Reuse one for many answers.</summary>
public sealed record RubricContext
{
    /// <summary>An empty context: no judge, no sources.</summary>
    public static RubricContext Empty { get; } = new();
    /// <summary>Overrides the tree's task description for judge prompts.</summary>
    public string? Task { get; init; }
    /// <summary>The LLM judge for <c>judge</c> leaves.</summary>
    public IChatClient? Judge { get; init; }
    /// <summary>Judge voting and prompt options.</summary>
    public JudgeOptions JudgeOptions { get; init; } = new();
    /// <summary>Page texts for <c>cites</c> leaves and judge sources.</summary>
    public ISourceResolver? Sources { get; init; }
    /// <summary>What happens when judge leaves exist but <see cref="Judge"/> is null.</summary>
    public MissingJudgeBehavior WhenNoJudge { get; init; } = MissingJudgeBehavior.Throw;
    /// <summary>
    /// How many leaf checks may run at once (default 1: strictly in tree order, as QUEST). Above 1, a leaf starts as soon
    /// as every leaf that can skip it has finished, so precondition skipping and the report are exactly the same as in
    /// the sequential order; only independent checks (typically judge calls) overlap.
    /// </summary>
    public int MaxConcurrency { get; init; } = 1;
    /// <summary>Free-form values for custom checks.</summary>
    public IReadOnlyDictionary<string, object?> Items { get; init; } = new Dictionary<string, object?>();
}
