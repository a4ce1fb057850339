using Quest.Core;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using Quest.Agent.Context;

namespace Quest.Agent;

/// <summary>Named endings of an episode. Every trajectory carries exactly one.</summary>
public static class Termination
{
    /// <summary>The model gave an <c>&lt;answer&gt;</c>.</summary>
    public const string Answer = "answer";
    /// <summary>The turn budget ran out; the agent asked once for a final answer.</summary>
    public const string MaxTurns = "max_turns";
    /// <summary>The context limit was passed; the agent asked once for a final answer.</summary>
    public const string MaxContext = "max_context";
    /// <summary>Too many invalid turns in a row (QUEST RL: 3).</summary>
    public const string InvalidTurns = "invalid_turns";
    /// <summary>The episode's wall-clock budget ran out.</summary>
    public const string Timeout = "timeout";
    /// <summary>The policy failed (after its retries): endpoint down, 500s, timeouts.</summary>
    public const string PolicyError = "policy_error";
    /// <summary>The caller cancelled. Runners never record such episodes as finished.</summary>
    public const string Cancelled = "cancelled";

    /// <summary>All names.</summary>
    public static readonly IReadOnlyList<string> All = [Answer, MaxTurns, MaxContext, InvalidTurns, Timeout, PolicyError, Cancelled];
}

/// <summary>One session of an episode: the history from one context reset to the next (RL trains on sessions).</summary>
public sealed record Session
{
    /// <summary>0-based index.</summary>
    [JsonPropertyName("index")] public int Index { get; init; }
    /// <summary>The research state the session started from (null for the first session and after discard_all).</summary>
    [JsonPropertyName("start_state")] public ResearchState? StartState { get; init; }
    /// <summary>Every message of the session, system prompt first.</summary>
    [JsonPropertyName("messages")] public List<ChatTurn> Messages { get; init; } = [];
    /// <summary>Why the session ended: a strategy name, or "end" for the last one.</summary>
    [JsonPropertyName("ended_by")] public string EndedBy { get; set; } = "end";
}

/// <summary>One model turn.</summary>
public sealed record TurnRecord
{
    /// <summary>1-based round.</summary>
    [JsonPropertyName("round")] public int Round { get; init; }
    /// <summary>Session index.</summary>
    [JsonPropertyName("session")] public int Session { get; init; }
    /// <summary>"answer", "tool_call", "malformed_tool_call", "invalid" (see <see cref="TurnKind"/>).</summary>
    [JsonPropertyName("kind")] public string Kind { get; init; } = "";
    /// <summary>The tool called, if any.</summary>
    [JsonPropertyName("tool")] public string? Tool { get; init; }
    /// <summary>Tokens of the history sent to the model (chat-formatted).</summary>
    [JsonPropertyName("context_tokens")] public int ContextTokens { get; init; }
    /// <summary>Tokens the model wrote (usage when the endpoint reports it, else counted).</summary>
    [JsonPropertyName("completion_tokens")] public int CompletionTokens { get; init; }
    /// <summary>Model latency in milliseconds.</summary>
    [JsonPropertyName("policy_ms")] public double PolicyMs { get; init; }
    /// <summary>Tool latency in milliseconds.</summary>
    [JsonPropertyName("tool_ms")] public double ToolMs { get; init; }
    /// <summary>What the parser had to forgive or reject.</summary>
    [JsonPropertyName("problems")] public List<string> Problems { get; init; } = [];
    /// <summary>True for the extra call made after a limit asked for the final answer.</summary>
    [JsonPropertyName("final_request")] public bool FinalRequest { get; init; }
}

/// <summary>
/// One episode, as written to <c>trajectories.jsonl</c> (one line each). Field names follow QUEST where QUEST has
/// them (<c>question</c>, <c>answer</c> = gold, <c>prediction</c>, <c>termination</c>, <c>num_rounds</c>).
/// </summary>
public sealed class Trajectory
{
    /// <summary>Task id (from the task file; a hash of the question for ad-hoc runs).</summary>
    [JsonPropertyName("task_id")] public string TaskId { get; set; } = "";
    /// <summary>Sample index k for repeated rollouts of one task.</summary>
    [JsonPropertyName("sample")] public int Sample { get; set; }
    /// <summary>Unique id of this episode (used for endpoint affinity).</summary>
    [JsonPropertyName("episode_id")] public string EpisodeId { get; set; } = "";
    /// <summary>The question.</summary>
    [JsonPropertyName("question")] public string Question { get; set; } = "";
    /// <summary>Gold answer, when known.</summary>
    [JsonPropertyName("answer")] public string? Answer { get; set; }
    /// <summary>The model's final answer, or null when it gave none.</summary>
    [JsonPropertyName("prediction")] public string? Prediction { get; set; }
    /// <summary>How the episode ended (<see cref="Termination"/>).</summary>
    [JsonPropertyName("termination")] public string Termination { get; set; } = "";
    /// <summary>Error text for policy_error / timeout, or null.</summary>
    [JsonPropertyName("error")] public string? Error { get; set; }
    /// <summary>Model calls made (QUEST <c>num_rounds</c>).</summary>
    [JsonPropertyName("num_rounds")] public int Rounds { get; set; }
    /// <summary>Every session's messages and starting state.</summary>
    [JsonPropertyName("sessions")] public List<Session> Sessions { get; set; } = [];
    /// <summary>Per-turn records.</summary>
    [JsonPropertyName("turns")] public List<TurnRecord> Turns { get; set; } = [];
    /// <summary>Every context-manager run.</summary>
    [JsonPropertyName("condensations")] public List<CondensationEvent> Condensations { get; set; } = [];
    /// <summary>Calls per tool name (unknown names included).</summary>
    [JsonPropertyName("tool_calls")] public Dictionary<string, int> ToolCalls { get; set; } = [];
    /// <summary>Invalid or malformed turns in total.</summary>
    [JsonPropertyName("invalid_turns")] public int InvalidTurns { get; set; }
    /// <summary>Sum of context tokens sent over all turns.</summary>
    [JsonPropertyName("prompt_tokens")] public long PromptTokens { get; set; }
    /// <summary>Sum of tokens generated.</summary>
    [JsonPropertyName("completion_tokens")] public long CompletionTokens { get; set; }
    /// <summary>Largest context seen.</summary>
    [JsonPropertyName("max_context_tokens")] public int MaxContextTokens { get; set; }
    /// <summary>Start time (UTC).</summary>
    [JsonPropertyName("started_at")] public DateTimeOffset StartedAt { get; set; }
    /// <summary>Wall time in milliseconds.</summary>
    [JsonPropertyName("elapsed_ms")] public double ElapsedMs { get; set; }
    /// <summary>Time in the policy.</summary>
    [JsonPropertyName("policy_ms")] public double PolicyMs { get; set; }
    /// <summary>Time in tools.</summary>
    [JsonPropertyName("tool_ms")] public double ToolMs { get; set; }
    /// <summary>The policy's name (model id or "scripted").</summary>
    [JsonPropertyName("policy")] public string? Policy { get; set; }
    /// <summary>Reward in [0,1] (rubric score, or answer match), set by the rollout runner's scorer.</summary>
    [JsonPropertyName("reward")] public double? Reward { get; set; }
    /// <summary>The scorer's report (rubric report JSON, or the match details).</summary>
    [JsonPropertyName("score")] public JsonNode? Score { get; set; }

    /// <summary>The live history at the end (the last session's messages).</summary>
    [JsonIgnore] public IReadOnlyList<ChatTurn> Messages => Sessions.Count == 0 ? [] : Sessions[^1].Messages;

    /// <summary>All assistant texts and tool responses across sessions, in order (QUEST RL's <c>full_response</c>).</summary>
    public string FullResponse() => string.Join("\n", Sessions.SelectMany(s => s.Messages.Skip(2)).Select(m => m.Content));
}
