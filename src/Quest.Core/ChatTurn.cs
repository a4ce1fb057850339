using System.Text.Json.Serialization;

namespace Quest.Core;

/// <summary>The three roles of QUEST's plain-text protocol (there is no <c>tool</c> role: tool results are user turns).</summary>
public static class Roles
{
    /// <summary>The system prompt.</summary>
    public const string System = "system";
    /// <summary>The question, tool responses and corrective messages.</summary>
    public const string User = "user";
    /// <summary>The policy's turns.</summary>
    public const string Assistant = "assistant";
}

/// <summary>
/// One chat message as QUEST stores it, <c>{role, content}</c>: the kit's one message record, for the agent's
/// transcripts, the chat template the models render and the exports (ShareGPT, verl) alike.
/// </summary>
/// <param name="Role">"system", "user" or "assistant" (see <see cref="Roles"/>).</param>
/// <param name="Content">The message text.</param>
public sealed record ChatTurn(
    [property: JsonPropertyName("role")] string Role,
    [property: JsonPropertyName("content")] string Content)
{
    /// <summary>A system message.</summary>
    public static ChatTurn System(string content) => new(Roles.System, content);
    /// <summary>A user message.</summary>
    public static ChatTurn User(string content) => new(Roles.User, content);
    /// <summary>An assistant message.</summary>
    public static ChatTurn Assistant(string content) => new(Roles.Assistant, content);

    /// <summary>True for a user turn that carries a tool result.</summary>
    [JsonIgnore]
    public bool IsToolResponse => Role == Roles.User && Content.TrimStart().StartsWith(Protocol.ToolResponseOpen, StringComparison.Ordinal);
}
