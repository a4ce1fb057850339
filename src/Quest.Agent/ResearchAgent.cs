using System.Diagnostics;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.Extensions.AI;
using Quest.Agent.Context;
using Quest.Agent.Policies;
using Quest.Core;

namespace Quest.Agent;

/// <summary>Agent settings. Defaults follow QUEST's inference scripts where they apply to a laptop.</summary>
public sealed record AgentOptions
{
    /// <summary>Model calls per episode (<c>MAX_LLM_CALL_PER_RUN</c>); at the limit the agent asks once for a final answer.</summary>
    public int MaxTurns { get; init; } = 100;
    /// <summary>Max tokens per model call (<c>LLM_MAX_TOKENS</c>).</summary>
    public int MaxTokensPerTurn { get; init; } = 10000;
    /// <summary>Context limit in tokens (QUEST: 256K); past it the agent asks once for a final answer.</summary>
    public int MaxContextTokens { get; init; } = 256 * 1024;
    /// <summary>Invalid turns in a row that end the episode (QUEST RL: 3).</summary>
    public int MaxInvalidTurns { get; init; } = 3;
    /// <summary>Wall-clock budget per episode (QUEST: <c>MAX_RUNTIME_MINUTES</c>); null = none.</summary>
    public TimeSpan? Timeout { get; init; }
    /// <summary>Budget per tool call.</summary>
    public TimeSpan ToolTimeout { get; init; } = TimeSpan.FromMinutes(5);
    /// <summary>
    /// Model replies longer than this many characters are cut (the rest is dropped and the turn notes it): a runaway
    /// 1 MB reply would otherwise keep parsing, token counting and the next prompt busy far past the episode's timeout.
    /// Default 64K characters (QUEST's 10,000-token turns are about 40K).
    /// </summary>
    public int MaxReplyChars { get; init; } = 65_536;
    /// <summary>A tool argument string longer than this many characters is refused with a tool error (a search query of 1 MB is not a query).</summary>
    public int MaxToolArgumentChars { get; init; } = 4_096;
    /// <summary>Tool responses longer than this are truncated in the middle (QUEST RL: 12000); 0 = never.</summary>
    public int MaxToolResponseChars { get; init; } = 12000;
    /// <summary>Sampling temperature (QUEST scripts: 1.0).</summary>
    public float? Temperature { get; init; } = 1.0f;
    /// <summary>Nucleus sampling (QUEST: 0.95).</summary>
    public float? TopP { get; init; } = 0.95f;
    /// <summary>Presence penalty (QUEST: 1.1).</summary>
    public float? PresencePenalty { get; init; } = 1.1f;
    /// <summary>Stop sequences sent with every call (QUEST: <see cref="Protocol.StopSequences"/>).</summary>
    public IReadOnlyList<string> StopSequences { get; init; } = Protocol.StopSequences;
    /// <summary>The date written into the system prompt; null = today (UTC).</summary>
    public DateOnly? Date { get; init; }
    /// <summary>Extra system-prompt paragraph (e.g. citation rules), or null.</summary>
    public string? ExtraInstructions { get; init; }
    /// <summary>
    /// A system-prompt template used verbatim instead of the kit's prompt, with the date appended
    /// (<see cref="SystemPrompt.FromTemplate"/>; <c>--system-prompt FILE</c>): the exact prompt a model was trained with.
    /// Null: the kit's prompt (<see cref="SystemPrompt.Build"/>).
    /// </summary>
    public string? SystemPromptTemplate { get; init; }
    /// <summary>Context manager settings.</summary>
    public ContextOptions Context { get; init; } = new();
    /// <summary>
    /// Per-session budget of generated tokens (QUEST RL: 12288). When a session has generated this many, the context
    /// manager runs even below its threshold and the episode rolls over into a new session; null = no budget.
    /// </summary>
    public int? MaxSessionResponseTokens { get; init; }
    /// <summary>Model name sent in requests (endpoint clients may ignore it), or null.</summary>
    public string? ModelId { get; init; }

    /// <summary>Settings sized for tiny local models and notebooks: 20 turns, 512 tokens per turn, 8K context, 2K threshold.</summary>
    public static AgentOptions Tiny => new() { MaxTurns = 20, MaxTokensPerTurn = 512, MaxContextTokens = 8192, Context = new ContextOptions { Threshold = 2048 } };
}

/// <summary>What the agent reports while it runs (for live transcripts).</summary>
/// <param name="Kind">"assistant", "tool_response", "corrective", "final_request", "condensation", "end".</param>
/// <param name="Round">Round (1-based).</param>
/// <param name="Session">Session index.</param>
/// <param name="Text">The message text, or a summary.</param>
/// <param name="Parsed">The parsed turn for "assistant" events.</param>
public sealed record AgentEvent(string Kind, int Round, int Session, string Text, ParsedTurn? Parsed = null);

/// <summary>Who is running an episode: ids for the trajectory and for endpoint affinity.</summary>
/// <param name="TaskId">Task id (default: a hash of the question).</param>
/// <param name="Sample">Sample index.</param>
/// <param name="GoldAnswer">The gold answer for the record, or null.</param>
public sealed record EpisodeInfo(string? TaskId = null, int Sample = 0, string? GoldAnswer = null);

/// <summary>
/// The research agent: QUEST's ReAct loop over plain-text turns. Each round calls the policy, keeps the last tool
/// call, runs it, returns the result as a user <c>&lt;tool_response&gt;</c> turn, then lets the context manager
/// compress the history at its threshold. Ends with a named <see cref="Termination"/>; never throws for model,
/// tool or endpoint faults (only for programming errors).
/// </summary>
public sealed class ResearchAgent
{
    /// <summary>The user message after a turn with neither a valid tool call nor an answer (QUEST RL wording).</summary>
    public const string InvalidResponseMessage =
        "[System] Invalid response. Please either: 1) call a tool using <tool_call>{\"name\": <function-name>, \"arguments\": <args-json-object>}</tool_call>, " +
        "or 2) provide your final answer in <answer>...</answer>.";

    /// <summary>The user message when the turn budget is spent.</summary>
    public const string MaxTurnsMessage =
        "You have now reached the maximum number of turns you can take. You should stop making tool calls and, based on all the information above, " +
        "think again and provide what you consider the most likely answer in the following format:<think>your final thinking</think>\n<answer>your answer</answer>";

    /// <summary>The user message when the context limit is passed (QUEST wording).</summary>
    public const string MaxContextMessage =
        "You have now reached the maximum context length you can handle. You should stop making tool calls and, based on all the information above, " +
        "think again and provide what you consider the most likely answer in the following format:<think>your final thinking</think>\n<answer>your answer</answer>";

    /// <summary>Default goal for a visit call without one (QUEST).</summary>
    public const string DefaultVisitGoal = "Extract relevant information";

    private readonly IChatClient _policy;
    private readonly Dictionary<string, ITool> _tools;
    private readonly IStateCondenser _condenser;

    /// <summary>Creates an agent.</summary>
    /// <param name="policy">The model (endpoint client, scripted, local).</param>
    /// <param name="tools">Tools listed in the prompt and callable.</param>
    /// <param name="options">Limits, sampling, context settings.</param>
    /// <param name="tokenCounter">Counter for the chat-formatted history (default cl100k, else approximate).</param>
    /// <param name="condenser">Condenser for the condenser strategy (default rule-based).</param>
    public ResearchAgent(IChatClient policy, IEnumerable<ITool> tools, AgentOptions? options = null, ITokenCounter? tokenCounter = null, IStateCondenser? condenser = null)
    {
        _policy = policy ?? throw new ArgumentNullException(nameof(policy));
        Tools = (tools ?? throw new ArgumentNullException(nameof(tools))).ToList();
        _tools = new Dictionary<string, ITool>(StringComparer.Ordinal);
        foreach (var t in Tools)
            if (!_tools.TryAdd(t.Name, t)) throw new ArgumentException($"two tools are named '{t.Name}'", nameof(tools));
        Options = options ?? new AgentOptions();
        if (Options.MaxTurns < 1) throw new ArgumentOutOfRangeException(nameof(options), "MaxTurns must be at least 1");
        TokenCounter = tokenCounter ?? TokenCounters.Default;
        _condenser = condenser ?? new RuleBasedCondenser();
    }

    /// <summary>Settings.</summary>
    public AgentOptions Options { get; }
    /// <summary>The tools.</summary>
    public IReadOnlyList<ITool> Tools { get; }
    /// <summary>The token counter.</summary>
    public ITokenCounter TokenCounter { get; }

    /// <summary>The system prompt this agent sends.</summary>
    public string BuildSystemPrompt() => Options.SystemPromptTemplate is { } template
        ? SystemPrompt.FromTemplate(template, Options.Date ?? DateOnly.FromDateTime(DateTime.UtcNow))
        : SystemPrompt.Build(Tools, Options.Date ?? DateOnly.FromDateTime(DateTime.UtcNow), Options.ExtraInstructions);

    /// <summary>Runs one episode on <paramref name="question"/>.</summary>
    public async Task<Trajectory> RunAsync(string question, EpisodeInfo? info = null, Action<AgentEvent>? onEvent = null, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(question);
        info ??= new EpisodeInfo();
        var total = Stopwatch.StartNew();
        var traj = new Trajectory
        {
            TaskId = info.TaskId ?? StableId(question),
            Sample = info.Sample,
            EpisodeId = $"{info.TaskId ?? StableId(question)}#{info.Sample}#{Guid.NewGuid():N}",
            Question = question,
            Answer = info.GoldAnswer,
            StartedAt = DateTimeOffset.UtcNow,
            Policy = Options.ModelId ?? _policy.GetService<ChatClientMetadata>()?.DefaultModelId,
        };
        var ctx = new ContextManager(Options.Context, TokenCounter, _condenser);
        var session = new Session { Index = 0, Messages = [ChatTurn.System(BuildSystemPrompt()), ChatTurn.User(question)] };
        traj.Sessions.Add(session);

        using var timeoutCts = new CancellationTokenSource();
        if (Options.Timeout is { } to) timeoutCts.CancelAfter(to);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, timeoutCts.Token);
        var ct = linked.Token;

        int callsLeft = Options.MaxTurns, invalidRun = 0, round = 0;
        void Emit(string kind, string text, ParsedTurn? p = null) => onEvent?.Invoke(new AgentEvent(kind, round, session.Index, text, p));
        void End(string termination, string? error = null)
        {
            traj.Termination = termination;
            traj.Error ??= error;
            traj.Rounds = round;
            traj.ElapsedMs = total.Elapsed.TotalMilliseconds;
            session.EndedBy = "end";
            Emit("end", termination + (error is null ? "" : ": " + error));
        }

        try
        {
            while (true)
            {
                ct.ThrowIfCancellationRequested();
                round++;
                callsLeft--;
                var (parsed, _) = await CallPolicyAsync(traj, session, round, finalRequest: false, ct).ConfigureAwait(false);
                Emit(Roles.Assistant, parsed.Content, parsed);
                bool answered = parsed.Kind == TurnKind.Answer;
                if (answered)
                {
                    traj.Prediction = parsed.Answer;
                    End(Termination.Answer);
                    return traj;
                }

                double toolMs = 0;
                if (parsed.Kind == TurnKind.ToolCall)
                {
                    var sw = Stopwatch.StartNew();
                    var (text, known) = await DispatchAsync(parsed.ToolCall!, ct).ConfigureAwait(false);
                    toolMs = sw.Elapsed.TotalMilliseconds;
                    traj.ToolMs += toolMs;
                    Count(traj.ToolCalls, parsed.ToolCall!.Name);
                    var msg = Protocol.ToolResponse(text);
                    session.Messages.Add(ChatTurn.User(msg));
                    Emit("tool_response", msg);
                    invalidRun = known ? 0 : invalidRun + 1;
                    if (!known) traj.InvalidTurns++;
                }
                else if (parsed.Kind == TurnKind.MalformedToolCall)
                {
                    var msg = Protocol.ToolResponse(parsed.Error ?? "");
                    session.Messages.Add(ChatTurn.User(msg));
                    Emit("tool_response", msg);
                    invalidRun++; traj.InvalidTurns++;
                }
                else
                {
                    var msg = InvalidResponseMessage + (parsed.Problems.Count > 0 ? "\nProblem: " + string.Join("; ", parsed.Problems) + "." : "");
                    session.Messages.Add(ChatTurn.User(msg));
                    Emit("corrective", msg);
                    invalidRun++; traj.InvalidTurns++;
                }
                if (toolMs > 0 && traj.Turns.Count > 0) traj.Turns[^1] = traj.Turns[^1] with { ToolMs = toolMs };

                if (invalidRun >= Options.MaxInvalidTurns)
                {
                    End(Termination.InvalidTurns, $"{invalidRun} invalid turns in a row");
                    return traj;
                }

                // Context check: once per round, after the tool response, only when the turn did not answer.
                int tokens = ctx.Count(session.Messages);
                bool overBudget = Options.MaxSessionResponseTokens is { } budget && ctx.Options.Enabled &&
                                  traj.Turns.Where(x => x.Session == session.Index).Sum(x => x.CompletionTokens) >= budget;
                if (ctx.ShouldCompress(tokens, answered) || overBudget)
                {
                    var r = await ctx.CompressAsync(session.Messages, round, session.Index, ct).ConfigureAwait(false);
                    if (!ctx.ShouldCompress(tokens, answered)) r = r with { Event = r.Event with { Trigger = "session_budget" } };
                    traj.Condensations.Add(r.Event);
                    Emit("condensation", r.Event.Success
                        ? $"{r.Event.Strategy}: {r.Event.TokensBefore} -> {r.Event.TokensAfter} tokens, threshold {r.Event.ThresholdBefore} -> {r.Event.ThresholdAfter}"
                        : $"{r.Event.Strategy} failed: {r.Event.Error}");
                    if (r.Messages is not null)
                    {
                        session.EndedBy = r.Event.Strategy;
                        session = new Session { Index = session.Index + 1, StartState = ctx.State?.Clone(), Messages = r.Messages };
                        traj.Sessions.Add(session);
                        tokens = r.Event.TokensAfter;
                    }
                }

                string? limit = callsLeft <= 0 ? Termination.MaxTurns : tokens > Options.MaxContextTokens ? Termination.MaxContext : null;
                if (limit is not null)
                {
                    var ask = limit == Termination.MaxTurns ? MaxTurnsMessage : MaxContextMessage;
                    session.Messages.Add(ChatTurn.User(ask));
                    Emit("final_request", ask);
                    var (fin, _) = await CallPolicyAsync(traj, session, round + 1, finalRequest: true, ct).ConfigureAwait(false);
                    round++;
                    Emit(Roles.Assistant, fin.Content, fin);
                    traj.Prediction = fin.Answer;
                    End(limit);
                    return traj;
                }
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            End(Termination.Cancelled);
            return traj;
        }
        catch (OperationCanceledException) when (timeoutCts.IsCancellationRequested)
        {
            End(Termination.Timeout, $"no answer after {Options.Timeout!.Value.TotalSeconds:0.#} s");
            return traj;
        }
        catch (PolicyException ex)
        {
            End(Termination.PolicyError, ex.Message);
            return traj;
        }
    }

    private async Task<(ParsedTurn, string)> CallPolicyAsync(Trajectory traj, Session session, int round, bool finalRequest, CancellationToken ct)
    {
        int ctxTokens = TokenCounter.CountTokens(session.Messages);
        traj.MaxContextTokens = Math.Max(traj.MaxContextTokens, ctxTokens);
        var options = new ChatOptions
        {
            Temperature = Options.Temperature,
            TopP = Options.TopP,
            PresencePenalty = Options.PresencePenalty,
            MaxOutputTokens = Options.MaxTokensPerTurn,
            StopSequences = [.. Options.StopSequences],
            ModelId = Options.ModelId,
            AdditionalProperties = new AdditionalPropertiesDictionary { [EpisodeAffinity.Key] = traj.EpisodeId },
        };
        var msgs = session.Messages.Select(ToChatMessage).ToList();
        var sw = Stopwatch.StartNew();
        ChatResponse resp;
        try
        {
            resp = await _policy.GetResponseAsync(msgs, options, ct).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested) { throw; }
        catch (Exception ex)
        {
            traj.PolicyMs += sw.Elapsed.TotalMilliseconds;
            throw new PolicyException(ex is PolicyException ? ex.Message : $"{ex.GetType().Name}: {ex.Message}", ex);
        }
        double ms = sw.Elapsed.TotalMilliseconds;
        traj.PolicyMs += ms;
        var raw = resp.Text ?? "";
        bool cut = Options.MaxReplyChars > 0 && raw.Length > Options.MaxReplyChars;
        if (cut) raw = raw[..Options.MaxReplyChars];
        var parsed = ResponseParser.Parse(raw);
        if (cut) parsed = parsed with { Problems = [.. parsed.Problems, $"reply cut at {Options.MaxReplyChars} characters"] };
        session.Messages.Add(ChatTurn.Assistant(parsed.Content));
        int completion = (int?)resp.Usage?.OutputTokenCount ?? TokenCounter.CountTokens(raw);
        traj.PromptTokens += ctxTokens;
        traj.CompletionTokens += completion;
        traj.Turns.Add(new TurnRecord
        {
            Round = round, Session = session.Index, Kind = KindName(parsed.Kind), Tool = parsed.ToolCall?.Name,
            ContextTokens = ctxTokens, CompletionTokens = completion, PolicyMs = ms, Problems = [.. parsed.Problems], FinalRequest = finalRequest,
        });
        return (parsed, raw);
    }

    /// <summary>Runs a parsed tool call the way QUEST's <c>custom_call_tool</c> does. Returns the text and whether the tool exists.</summary>
    public async Task<(string Text, bool KnownTool)> DispatchAsync(ToolCall call, CancellationToken cancellationToken = default)
    {
        if (!_tools.TryGetValue(call.Name, out var tool))
            return (ToolText.Error($"Unknown tool: {call.Name}. Available tools: {string.Join(", ", _tools.Keys)}"), false);
        if (LongestString(call.Arguments) is { } longest && Options.MaxToolArgumentChars > 0 && longest.Length > Options.MaxToolArgumentChars)
            return (ToolText.Error($"Argument '{longest.Key}' of '{call.Name}' is {longest.Length:N0} characters long; at most {Options.MaxToolArgumentChars:N0} are accepted."), true);
        var args = (JsonObject)call.Arguments.DeepClone();
        if (call.Code is not null && !args.ContainsKey("code")) args["code"] = call.Code;
        if (call.Name == "visit" && IsEmpty(args["goal"])) args["goal"] = DefaultVisitGoal;
        if (tool.Parameters["required"] is JsonArray req)
            foreach (var r in req)
            {
                var key = r?.GetValue<string>();
                if (key is null) continue;
                if (IsEmpty(args[key]))
                    return (ToolText.Error($"Missing or empty argument '{key}' for tool '{call.Name}'."), true);
            }
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        cts.CancelAfter(Options.ToolTimeout);
        string text;
        try
        {
            text = await tool.CallAsync(args, cts.Token).ConfigureAwait(false) ?? "";
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested) { throw; }
        catch (OperationCanceledException) { text = ToolText.Error($"{call.Name} timed out after {Options.ToolTimeout.TotalSeconds:0.#} s."); }
        catch (Exception ex) { text = ToolText.Error($"{call.Name} failed: {ex.GetType().Name}: {ex.Message}"); }
        if (Options.MaxToolResponseChars > 0) text = ToolText.TruncateMiddle(text, Options.MaxToolResponseChars);
        return (text, true);
    }

    private static (string Key, int Length)? LongestString(JsonObject args)
    {
        (string, int)? best = null;
        void Walk(string key, JsonNode? n)
        {
            switch (n)
            {
                case JsonObject o: foreach (var (k, v) in o) Walk(k, v); break;
                case JsonArray a: foreach (var v in a) Walk(key, v); break;
                case JsonValue v when v.TryGetValue<string>(out var s) && (best is null || s.Length > best.Value.Item2): best = (key, s.Length); break;
            }
        }
        foreach (var (k, v) in args) Walk(k, v);
        return best;
    }

    private static bool IsEmpty(JsonNode? n) => n switch
    {
        null => true,
        JsonValue v when v.TryGetValue<string>(out var s) => string.IsNullOrWhiteSpace(s),
        JsonArray a => a.Count == 0 || a.All(x => x is null || (x is JsonValue xv && xv.TryGetValue<string>(out var xs) && string.IsNullOrWhiteSpace(xs))),
        _ => false,
    };

    internal static ChatMessage ToChatMessage(ChatTurn t) => new(t.Role switch
    {
        Roles.System => ChatRole.System,
        Roles.Assistant => ChatRole.Assistant,
        _ => ChatRole.User,
    }, t.Content);

    private static string KindName(TurnKind k) => k switch
    {
        TurnKind.Answer => "answer",
        TurnKind.ToolCall => "tool_call",
        TurnKind.MalformedToolCall => "malformed_tool_call",
        _ => "invalid",
    };

    private static void Count(Dictionary<string, int> d, string key) => d[key] = d.TryGetValue(key, out var n) ? n + 1 : 1;

    /// <summary>A short stable id for a question (first 12 hex digits of its SHA-256).</summary>
    public static string StableId(string text) =>
        Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(text)))[..12].ToLowerInvariant();
}

/// <summary>The policy could not produce a turn (after its own retries).</summary>
public sealed class PolicyException : Exception
{
    /// <summary>Creates the error.</summary>
    public PolicyException(string message, Exception? inner = null) : base(message, inner) { }
}
