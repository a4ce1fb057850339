using System.Text.Json.Serialization;
using Quest.Core;

namespace Quest.Agent.Context;

/// <summary>QUEST's context strategies (<c>MEMORY_STRATEGY</c>).</summary>
public enum ContextStrategy
{
    /// <summary>Condense the events into the research state and reset the history to [system, question + state].</summary>
    Condenser,
    /// <summary>Forget everything: reset to [system, question] with no state.</summary>
    DiscardAll,
    /// <summary>Keep all assistant turns and only the latest tool response.</summary>
    HideToolResult,
}

/// <summary>Context-manager settings (QUEST §2).</summary>
public sealed record ContextOptions
{
    /// <summary>Whether the context manager runs at all (<c>MEMORY_ENABLED</c>).</summary>
    public bool Enabled { get; init; } = true;
    /// <summary>Which strategy runs at the threshold.</summary>
    public ContextStrategy Strategy { get; init; } = ContextStrategy.Condenser;
    /// <summary>Base threshold in tokens of the chat-formatted history (<c>MEMORY_THRESHOLD</c>; QUEST default 16000, scripts 80000).</summary>
    public int Threshold { get; init; } = 16000;
    /// <summary>Adaptive growth (inference): when the compressed context is still over the threshold, multiply it by U(min,max). False = RL's fixed threshold.</summary>
    public bool AdaptiveThreshold { get; init; } = true;
    /// <summary>Lower bound of the growth factor.</summary>
    public double GrowthMin { get; init; } = 1.2;
    /// <summary>Upper bound of the growth factor.</summary>
    public double GrowthMax { get; init; } = 1.5;
    /// <summary>Seed of the growth-factor draws (reproducible runs).</summary>
    public int Seed { get; init; } = 0;

    /// <summary>Parses a strategy name: condenser, discard_all, hide_tool_result.</summary>
    public static ContextStrategy ParseStrategy(string name) => name.Trim().ToLowerInvariant().Replace('-', '_') switch
    {
        "condenser" or "condense" => ContextStrategy.Condenser,
        "discard_all" or "discardall" => ContextStrategy.DiscardAll,
        "hide_tool_result" or "hidetoolresult" => ContextStrategy.HideToolResult,
        _ => throw new ArgumentException($"unknown context strategy '{name}' (expected condenser, discard_all or hide_tool_result)", nameof(name)),
    };

    /// <summary>QUEST's name of a strategy.</summary>
    public static string NameOf(ContextStrategy s) => s switch
    {
        ContextStrategy.Condenser => "condenser",
        ContextStrategy.DiscardAll => "discard_all",
        _ => "hide_tool_result",
    };
}

/// <summary>One run of the context manager, successful or not.</summary>
public sealed record CondensationEvent
{
    /// <summary>The round after which it ran (1-based).</summary>
    [JsonPropertyName("round")] public int Round { get; init; }
    /// <summary>The session that ended (0-based); the next session is <c>Session+1</c> on success.</summary>
    [JsonPropertyName("session")] public int Session { get; init; }
    /// <summary>"condenser", "discard_all" or "hide_tool_result".</summary>
    [JsonPropertyName("strategy")] public string Strategy { get; init; } = "";
    /// <summary>Which condenser ran ("llm", "rules"), or null for other strategies.</summary>
    [JsonPropertyName("condenser")] public string? Condenser { get; init; }
    /// <summary>Whether the history was changed.</summary>
    [JsonPropertyName("success")] public bool Success { get; init; }
    /// <summary>Why it failed (parse error, call error), or null.</summary>
    [JsonPropertyName("error")] public string? Error { get; init; }
    /// <summary>Context tokens before.</summary>
    [JsonPropertyName("tokens_before")] public int TokensBefore { get; init; }
    /// <summary>Context tokens after (equal to before on failure).</summary>
    [JsonPropertyName("tokens_after")] public int TokensAfter { get; init; }
    /// <summary>Threshold in force when it triggered.</summary>
    [JsonPropertyName("threshold_before")] public int ThresholdBefore { get; init; }
    /// <summary>Threshold after adaptation.</summary>
    [JsonPropertyName("threshold_after")] public int ThresholdAfter { get; init; }
    /// <summary>Messages before / after.</summary>
    [JsonPropertyName("messages_before")] public int MessagesBefore { get; init; }
    /// <summary>Messages after.</summary>
    [JsonPropertyName("messages_after")] public int MessagesAfter { get; init; }
    /// <summary>What fired it: "threshold" (context at or over the threshold) or "session_budget" (the session's response-token budget ran out, as in QUEST RL).</summary>
    [JsonPropertyName("trigger")] public string Trigger { get; init; } = "threshold";
    /// <summary>Wall time of the condensation in milliseconds.</summary>
    [JsonPropertyName("elapsed_ms")] public double ElapsedMs { get; init; }
}

/// <summary>The result of <see cref="ContextManager.CompressAsync"/>.</summary>
/// <param name="Messages">The new history, or null when nothing changed.</param>
/// <param name="Event">What happened.</param>
public sealed record CompressResult(List<ChatTurn>? Messages, CondensationEvent Event);

/// <summary>
/// QUEST's context manager: counts the chat-formatted history, and at the (adaptive) threshold runs one of the three
/// strategies. Holds the current research state and threshold for one episode; create one per episode.
/// </summary>
public sealed class ContextManager
{
    private readonly Random _rng;

    /// <summary>Creates a manager for one episode.</summary>
    /// <param name="options">Strategy and thresholds.</param>
    /// <param name="counter">Token counter over the chat-formatted history (default <see cref="TokenCounters.Default"/>).</param>
    /// <param name="condenser">The condenser for <see cref="ContextStrategy.Condenser"/> (default: <see cref="RuleBasedCondenser"/>).</param>
    public ContextManager(ContextOptions? options = null, ITokenCounter? counter = null, IStateCondenser? condenser = null)
    {
        Options = options ?? new ContextOptions();
        if (Options.Threshold <= 0) throw new ArgumentOutOfRangeException(nameof(options), "Threshold must be positive");
        if (Options.GrowthMin < 1 || Options.GrowthMax < Options.GrowthMin) throw new ArgumentOutOfRangeException(nameof(options), "need 1 <= GrowthMin <= GrowthMax");
        Counter = counter ?? TokenCounters.Default;
        Condenser = condenser ?? new RuleBasedCondenser();
        Threshold = Options.Threshold;
        _rng = new Random(Options.Seed);
    }

    /// <summary>Settings.</summary>
    public ContextOptions Options { get; }
    /// <summary>The token counter.</summary>
    public ITokenCounter Counter { get; }
    /// <summary>The condenser.</summary>
    public IStateCondenser Condenser { get; }
    /// <summary>The current (dynamic) threshold.</summary>
    public int Threshold { get; private set; }
    /// <summary>The current research state (null before the first condensation, and after discard_all).</summary>
    public ResearchState? State { get; private set; }

    /// <summary>Tokens of the chat-formatted history.</summary>
    public int Count(IEnumerable<ChatTurn> messages) => Counter.CountTokens(messages);

    /// <summary>Whether the check fires: enabled, the turn did not answer, and the count is at or above the threshold.</summary>
    public bool ShouldCompress(int tokens, bool turnAnswered) => Options.Enabled && !turnAnswered && tokens >= Threshold;

    /// <summary>
    /// Runs the strategy on <paramref name="messages"/> (the current session: system, first user, then turns).
    /// On failure the history is left as it is and the event says why.
    /// </summary>
    public async Task<CompressResult> CompressAsync(IReadOnlyList<ChatTurn> messages, int round, int session, CancellationToken cancellationToken = default)
    {
        if (messages.Count < 2 || messages[0].Role != Roles.System || messages[1].Role != Roles.User)
            throw new ArgumentException("history must start with [system, user]", nameof(messages));
        var sw = System.Diagnostics.Stopwatch.StartNew();
        int before = Count(messages), thBefore = Threshold;
        var sys = messages[0];
        var question = StateSection.Remove(messages[1].Content);
        List<ChatTurn>? next = null; string? error = null; string? condenserName = null;

        switch (Options.Strategy)
        {
            case ContextStrategy.Condenser:
            {
                condenserName = Condenser.Name;
                var events = messages.Skip(1).Where(m => m.Role is Roles.User or Roles.Assistant).ToList();
                CondenseResult r;
                try { r = await Condenser.CondenseAsync(events, State, cancellationToken).ConfigureAwait(false); }
                catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested) { throw; }
                catch (Exception ex) { r = new CondenseResult(null, $"condenser threw {ex.GetType().Name}: {ex.Message}"); }
                if (r.Success)
                {
                    State = r.State;
                    next = [sys, ChatTurn.User(question + StateSection.Format(State!))];
                }
                else error = r.Error ?? "condensation failed";
                break;
            }
            case ContextStrategy.DiscardAll:
                State = null;
                next = [sys, ChatTurn.User(question)];
                break;
            case ContextStrategy.HideToolResult:
            {
                int lastTool = -1;
                for (int i = messages.Count - 1; i >= 2; i--) if (messages[i].IsToolResponse) { lastTool = i; break; }
                next = [sys, ChatTurn.User(question)];
                for (int i = 2; i < messages.Count; i++)
                    if (!messages[i].IsToolResponse || i == lastTool) next.Add(messages[i]);
                break;
            }
        }

        int after = before;
        if (next is not null)
        {
            after = Count(next);
            if (Options.Strategy == ContextStrategy.DiscardAll || !Options.AdaptiveThreshold) Threshold = Options.Threshold;
            else if (after >= Threshold) Threshold = (int)Math.Round(Threshold * (Options.GrowthMin + _rng.NextDouble() * (Options.GrowthMax - Options.GrowthMin)));
            else Threshold = Options.Threshold;
        }
        var ev = new CondensationEvent
        {
            Round = round, Session = session, Strategy = ContextOptions.NameOf(Options.Strategy), Condenser = condenserName,
            Success = next is not null, Error = error, TokensBefore = before, TokensAfter = after,
            ThresholdBefore = thBefore, ThresholdAfter = Threshold, MessagesBefore = messages.Count,
            MessagesAfter = next?.Count ?? messages.Count, ElapsedMs = sw.Elapsed.TotalMilliseconds,
        };
        return new CompressResult(next, ev);
    }
}
