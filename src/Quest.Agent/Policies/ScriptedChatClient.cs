using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using System.Text.Json;
using Microsoft.Extensions.AI;
using Quest.Agent.Context;
using Quest.Core;

namespace Quest.Agent.Policies;

/// <summary>
/// How a policy tells episodes apart: the agent puts its episode id into
/// <c>ChatOptions.AdditionalProperties[Key]</c>. Endpoint pools keep one endpoint per episode (KV-cache reuse) and
/// scripted policies keep one script position per episode. Clients strip it before anything goes on the wire.
/// </summary>
public static class EpisodeAffinity
{
    /// <summary>The property name.</summary>
    public const string Key = "quest.episode";

    /// <summary>The episode id in <paramref name="options"/>, or null.</summary>
    public static string? Get(ChatOptions? options) =>
        options?.AdditionalProperties is { } p && p.TryGetValue(Key, out var v) ? v?.ToString() : null;

    /// <summary>A copy of <paramref name="options"/> without the episode id.</summary>
    public static ChatOptions? Strip(ChatOptions? options)
    {
        if (options?.AdditionalProperties is null || !options.AdditionalProperties.ContainsKey(Key)) return options;
        var o = options.Clone();
        o.AdditionalProperties = new AdditionalPropertiesDictionary(options.AdditionalProperties.Where(kv => kv.Key != Key));
        if (o.AdditionalProperties.Count == 0) o.AdditionalProperties = null;
        return o;
    }
}

/// <summary>One script: the turns a scripted policy plays for a question (or for any question when <see cref="Question"/> is null).</summary>
/// <param name="Question">The question this script answers (exact match after trimming), or null for the default script.</param>
/// <param name="Turns">The assistant turns in order. A turn <c>!error MESSAGE</c> throws; <c>!delay MS</c> + newline + text waits first.</param>
public sealed record Script(string? Question, IReadOnlyList<string> Turns);

/// <summary>What a scripted policy saw on one call (for tests that check what the agent sent).</summary>
/// <param name="Messages">The messages.</param>
/// <param name="Options">The options (episode id still in).</param>
public sealed record ScriptedRequest(IReadOnlyList<ChatMessage> Messages, ChatOptions? Options);

/// <summary>
/// A policy that replays scripted turns: one script position per episode, so parallel episodes each get their own
/// replay. For tests, notebooks and <c>--policy scripted:FILE</c>. Running past the end of a script throws (the
/// agent records policy_error).
/// </summary>
public sealed class ScriptedChatClient : IChatClient
{
    private readonly List<Script> _scripts;
    private readonly Func<IReadOnlyList<ChatMessage>, int, string?>? _responder;
    private readonly ConcurrentDictionary<string, int> _positions = new();
    private readonly ConcurrentQueue<ScriptedRequest> _requests = new();

    /// <summary>One script for every question.</summary>
    public ScriptedChatClient(IEnumerable<string> turns) : this([new Script(null, turns.ToList())]) { }

    /// <summary>Several scripts, chosen by question.</summary>
    public ScriptedChatClient(IEnumerable<Script> scripts) => _scripts = scripts.ToList();

    /// <summary>A responder function: (messages, call index within the episode) → turn text (null = script exhausted).</summary>
    public ScriptedChatClient(Func<IReadOnlyList<ChatMessage>, int, string?> responder) { _scripts = []; _responder = responder; }

    /// <summary>Every request received, in order.</summary>
    public IReadOnlyList<ScriptedRequest> Requests => _requests.ToArray();

    /// <summary>
    /// Loads scripts from a file. <c>.jsonl</c>: one script per line, <c>{"question": …, "turns": [...]}</c>
    /// (question optional). <c>.json</c>: an array of turn strings, or an array of script objects. Any other
    /// extension: plain text, turns separated by lines holding only <c>---</c>.
    /// </summary>
    public static ScriptedChatClient FromFile(string path)
    {
        if (!File.Exists(path)) throw new QuestInputException(path, null, null, "script file not found", "a .jsonl, .json or .txt script");
        var ext = Path.GetExtension(path).ToLowerInvariant();
        var scripts = new List<Script>();
        if (ext == ".jsonl")
        {
            var lines = File.ReadAllLines(path);
            for (int i = 0; i < lines.Length; i++)
            {
                if (string.IsNullOrWhiteSpace(lines[i])) continue;
                try { scripts.Add(ParseScript(JsonDocument.Parse(lines[i]).RootElement)); }
                catch (Exception ex) when (ex is JsonException or FormatException or InvalidOperationException)
                { throw new QuestInputException(path, i + 1, null, ex.Message, "{\"question\": …, \"turns\": [\"…\"]}", ex); }
            }
        }
        else if (ext == ".json")
        {
            try
            {
                var root = JsonDocument.Parse(File.ReadAllText(path)).RootElement;
                if (root.ValueKind == JsonValueKind.Array && root.EnumerateArray().All(e => e.ValueKind == JsonValueKind.String))
                    scripts.Add(new Script(null, root.EnumerateArray().Select(e => e.GetString()!).ToList()));
                else if (root.ValueKind == JsonValueKind.Array) scripts.AddRange(root.EnumerateArray().Select(ParseScript));
                else scripts.Add(ParseScript(root));
            }
            catch (Exception ex) when (ex is JsonException or FormatException or InvalidOperationException)
            { throw new QuestInputException(path, null, null, ex.Message, "an array of turns or of {question, turns} objects", ex); }
        }
        else
        {
            var text = File.ReadAllText(path).Replace("\r\n", "\n");
            var turns = System.Text.RegularExpressions.Regex.Split(text, @"^---[ \t]*$\n?", System.Text.RegularExpressions.RegexOptions.Multiline)
                .Select(t => t.Trim()).Where(t => t.Length > 0).ToList();
            scripts.Add(new Script(null, turns));
        }
        if (scripts.Count == 0 || scripts.All(s => s.Turns.Count == 0)) throw new QuestInputException(path, null, null, "the script has no turns");
        return new ScriptedChatClient(scripts);
    }

    private static Script ParseScript(JsonElement e)
    {
        if (e.ValueKind != JsonValueKind.Object) throw new FormatException("a script must be a JSON object");
        string? q = e.TryGetProperty("question", out var qe) && qe.ValueKind == JsonValueKind.String ? qe.GetString() : null;
        if (!e.TryGetProperty("turns", out var te) || te.ValueKind != JsonValueKind.Array) throw new FormatException("missing \"turns\" array");
        return new Script(q, te.EnumerateArray().Select(x => x.ValueKind == JsonValueKind.String ? x.GetString()! : throw new FormatException("turns must be strings")).ToList());
    }

    /// <inheritdoc/>
    public async Task<ChatResponse> GetResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default)
    {
        var list = messages.ToList();
        _requests.Enqueue(new ScriptedRequest(list, options));
        var question = StateSection.Remove(list.FirstOrDefault(m => m.Role == ChatRole.User)?.Text ?? "").Trim();
        var key = EpisodeAffinity.Get(options) ?? question;
        int index = _positions.AddOrUpdate(key, 0, (_, v) => v + 1);
        string? turn;
        if (_responder is not null) turn = _responder(list, index);
        else
        {
            var script = _scripts.FirstOrDefault(s => s.Question is not null && s.Question.Trim() == question)
                         ?? _scripts.FirstOrDefault(s => s.Question is null)
                         ?? throw new InvalidOperationException($"no script for the question '{Short(question)}'");
            turn = index < script.Turns.Count ? script.Turns[index] : null;
        }
        if (turn is null) throw new InvalidOperationException($"script exhausted after {index} turns");
        if (turn.StartsWith("!delay ", StringComparison.Ordinal))
        {
            int nl = turn.IndexOf('\n');
            var ms = int.Parse(nl < 0 ? turn[7..] : turn[7..nl], System.Globalization.CultureInfo.InvariantCulture);
            await Task.Delay(ms, cancellationToken).ConfigureAwait(false);
            turn = nl < 0 ? "" : turn[(nl + 1)..];
        }
        if (turn.StartsWith("!error", StringComparison.Ordinal)) throw new HttpRequestException(turn.Length > 7 ? turn[7..] : "scripted error");
        // Honour stop sequences like a real server: cut at the first one and drop it.
        if (options?.StopSequences is { Count: > 0 } stops)
        {
            int cut = stops.Select(s => turn.IndexOf(s, StringComparison.Ordinal)).Where(i => i >= 0).DefaultIfEmpty(-1).Min();
            if (cut >= 0) turn = turn[..cut];
        }
        return new ChatResponse(new ChatMessage(ChatRole.Assistant, turn)) { ModelId = "scripted", FinishReason = ChatFinishReason.Stop };
    }

    /// <inheritdoc/>
    public async IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var r = await GetResponseAsync(messages, options, cancellationToken).ConfigureAwait(false);
        foreach (var u in r.ToChatResponseUpdates()) yield return u;
    }

    /// <inheritdoc/>
    public object? GetService(Type serviceType, object? serviceKey = null) =>
        serviceType == typeof(ChatClientMetadata) ? new ChatClientMetadata("scripted", null, "scripted") : serviceType.IsInstanceOfType(this) ? this : null;

    /// <inheritdoc/>
    public void Dispose() { }

    private static string Short(string s) => s.Length <= 60 ? s : s[..60] + "…";
}
