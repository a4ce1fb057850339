using Microsoft.Extensions.AI;

namespace Quest.Testing;

/// <summary>
/// The one scripted chat client of the test projects that cannot reference the agent room (whose
/// <c>ScriptedChatClient</c> plays whole agent scripts): it answers with <c>replies</c> in order, records every call,
/// throws <see cref="HttpRequestException"/> for a reply of <c>THROW</c> (an endpoint down), and past the end either
/// repeats the last reply (<see cref="RepeatLast"/>) or throws.
/// </summary>
public sealed class ScriptedReplies(params string[] replies) : IChatClient
{
    private int _next;

    /// <summary>Past the last reply, repeat it instead of throwing.</summary>
    public bool RepeatLast { get; init; }

    /// <summary>The messages of every call, in order.</summary>
    public List<IList<ChatMessage>> Calls { get; } = [];

    /// <summary>Every call's messages joined into one text (system, user, …).</summary>
    public List<string> Prompts => [.. Calls.Select(c => string.Join("\n", c.Select(m => m.Text)))];

    /// <summary>The text of every call's last message.</summary>
    public List<string> LastMessages => [.. Calls.Select(c => c[^1].Text)];

    /// <inheritdoc />
    public Task<ChatResponse> GetResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default)
    {
        string reply;
        lock (Calls)
        {
            Calls.Add(messages.ToList());
            if (_next < replies.Length) reply = replies[_next++];
            else if (RepeatLast && replies.Length > 0) reply = replies[^1];
            else throw new HttpRequestException($"no more scripted replies (had {replies.Length})");
        }
        if (reply == "THROW") throw new HttpRequestException("endpoint down");
        return Task.FromResult(new ChatResponse(new ChatMessage(ChatRole.Assistant, reply)));
    }

    /// <inheritdoc />
    public IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default) =>
        throw new NotSupportedException("scripted replies are not streamed");

    /// <inheritdoc />
    public object? GetService(Type serviceType, object? serviceKey = null) => null;

    /// <inheritdoc />
    public void Dispose() { }
}
