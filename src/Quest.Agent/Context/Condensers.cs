using Polly;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Microsoft.Extensions.AI;
using Quest.Core;

namespace Quest.Agent.Context;

/// <summary>The outcome of one condensation attempt.</summary>
/// <param name="State">The merged new state, or null when the attempt failed.</param>
/// <param name="Error">Why it failed, or null.</param>
/// <param name="RawReply">The condenser's raw text (LLM reply), for the record.</param>
public sealed record CondenseResult(ResearchState? State, string? Error = null, string? RawReply = null)
{
    /// <summary>True when a state came back.</summary>
    public bool Success => State is not null;
}

/// <summary>Builds a new research state from the events since the last reset and the previous state.</summary>
public interface IStateCondenser
{
    /// <summary>A short name for logs ("llm", "rules").</summary>
    string Name { get; }

    /// <summary>Condenses <paramref name="events"/> (user and assistant turns, no system prompt) over <paramref name="prevState"/>.</summary>
    Task<CondenseResult> CondenseAsync(IReadOnlyList<ChatTurn> events, ResearchState? prevState, CancellationToken cancellationToken = default);
}

/// <summary>QUEST's condenser prompts.</summary>
public static class CondenserPrompts
{
    /// <summary>The condenser's system prompt: schema and merge rules (QUEST <c>MEMORY_SYSTEM_PROMPT</c>).</summary>
    public const string System = """
You are the memory condenser of a deep research agent. You read the agent's recent events (its reasoning, tool calls and tool responses) together with the previous research state (prev_state), and you output the updated research state as a single JSON object. Output only the JSON object.

Schema (follow it strictly; no extra keys; write empty lists as []):
{
  "version": "dr_state",
  "search_queries": [{"q": "<exact query>", "intent": "<why it was issued>"}],
  "visited_sources": [{"url": "<exact url>", "note": "<what the page gave>"}],
  "information_state": {
    "trusted": [{"id": "T1", "claim": "...", "sources": ["<url>"], "reason": "..."}],
    "untrusted": [{"id": "U1", "claim": "...", "sources": ["..."], "reason": "..."}],
    "uncertain": [{"id": "C1", "claim": "...", "sources": ["..."], "reason": "...", "need": "visit <exact URL> | search <exact query>"}]
  }
}

Rules:
1. Merge with prev_state. Never delete entries, except exact duplicates or a claim that moves between buckets.
2. Dedupe search_queries by exact q and visited_sources by exact url.
3. Dedupe claims across buckets with priority trusted > untrusted > uncertain.
4. For every visit response, extract at least one concrete fact.
5. Put a claim in trusted only when a visited page explicitly supports it; search snippets alone are not enough.
6. Every uncertain claim has a need that is a concrete next action, such as "visit <exact URL>" or "search <exact query>".
7. Every claim has at least one source: a URL, or a label such as "tool_search_snippet" or "user_statement".
8. Reuse existing claim ids; number new ones per bucket (T1, T2, …; U1, …; C1, …).
""";

    /// <summary>The user prompt (QUEST's template, exact).</summary>
    public static string User(IReadOnlyList<ChatTurn> events, ResearchState? prevState)
    {
        var ev = new JsonArray(events.Select(e => (JsonNode)new JsonObject { ["role"] = e.Role, ["content"] = e.Content }).ToArray());
        var evJson = ev.ToJsonString(ResearchState.Indented);
        var prev = prevState is null ? "null" : prevState.ToJson();
        return "You are given the following inputs for state summarization.\n\nevents:\n" + evJson + "\n\nprev_state:\n" + prev +
               "\n\nIMPORTANT: If no state changes are warranted, return prev_state unchanged.";
    }
}

/// <summary>
/// The condenser as QUEST runs it: an LLM (any <see cref="IChatClient"/>) given the events and prev_state; its reply is
/// parsed (direct, fenced, first-{-to-last-}) and merged over prev_state so no entry is lost.
/// </summary>
public sealed class LlmCondenser : IStateCondenser
{
    private readonly IChatClient _client;
    private readonly ChatOptions? _options;
    private readonly int _retries;

    /// <summary>Creates the condenser.</summary>
    /// <param name="client">The model that writes the state.</param>
    /// <param name="options">Sampling options (QUEST: temperature 1).</param>
    /// <param name="retries">Extra attempts after a call fails (QUEST: 2). A reply that does not parse is not retried.</param>
    public LlmCondenser(IChatClient client, ChatOptions? options = null, int retries = 2)
    {
        _client = client ?? throw new ArgumentNullException(nameof(client));
        _options = options ?? new ChatOptions { Temperature = 1.0f };
        _retries = retries;
    }

    /// <inheritdoc/>
    public string Name => "llm";

    /// <inheritdoc/>
    public async Task<CondenseResult> CondenseAsync(IReadOnlyList<ChatTurn> events, ResearchState? prevState, CancellationToken cancellationToken = default)
    {
        var msgs = new List<ChatMessage>
        {
            new(ChatRole.System, CondenserPrompts.System),
            new(ChatRole.User, CondenserPrompts.User(events, prevState)),
        };
        string? reply = null; string? err = null;
        // Polly's retry, no delay: a failed condenser call is tried again right away (_retries more times).
        var builder = new Polly.ResiliencePipelineBuilder();
        if (_retries > 0) builder.AddRetry(new Polly.Retry.RetryStrategyOptions
        {
            MaxRetryAttempts = _retries, Delay = TimeSpan.Zero,
            ShouldHandle = args => ValueTask.FromResult(args.Outcome.Exception is { } e && !(e is OperationCanceledException && cancellationToken.IsCancellationRequested)),
        });
        var pipeline = builder.Build();
        try
        {
            var r = await pipeline.ExecuteAsync(async token => await _client.GetResponseAsync(msgs, _options?.Clone(), token).ConfigureAwait(false), cancellationToken).ConfigureAwait(false);
            reply = r.Text;
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested) { throw; }
        catch (Exception ex) { err = $"condenser call failed: {ex.Message}"; }
        if (reply is null) return new CondenseResult(null, err ?? "condenser call failed");
        if (!ResearchState.TryParse(reply, out var state, out var perr)) return new CondenseResult(null, perr, reply);
        return new CondenseResult(ResearchState.Merge(prevState, state!), null, reply);
    }
}

/// <summary>
/// An offline condenser that needs no model: it reads the tool calls and tool responses of the events and builds
/// the same <c>dr_state</c>. Searches become <c>search_queries</c> (intent from the preceding reasoning) and
/// uncertain claims from result snippets (need: <c>visit &lt;link&gt;</c>); visits become <c>visited_sources</c> and
/// trusted claims from the page summary/evidence; failed visits become untrusted notes. Deterministic.
/// </summary>
public sealed class RuleBasedCondenser : IStateCondenser
{
    /// <summary>Most snippet claims taken per search response.</summary>
    public int MaxSnippetsPerSearch { get; init; } = 3;
    /// <summary>Longest claim text kept (characters).</summary>
    public int MaxClaimChars { get; init; } = 300;

    /// <inheritdoc/>
    public string Name => "rules";

    private static readonly Regex EntryRx = new(@"Title:\s*(?<title>[^\n]*)\n\s*Link:\s*(?<link>\S+)(?<rest>.*?)(?=\n\s*\n|\n\s*(?:\d+\.\s*)?(?:\[\d+\]\s*)?Title:|\z)", RegexOptions.Singleline | RegexOptions.Compiled);
    private static readonly Regex SnippetRx = new(@"(?:Snipptes|Snippets|Snippet|Content):\s*(?<s>[^\n]+)", RegexOptions.Compiled);
    private static readonly Regex VisitRx = new(@"The useful information in (?<url>\S+) for user goal (?<goal>.*?) as follows:\s*(?:Evidence in page:\s*(?<ev>.*?))?(?:Summary:\s*(?<sum>.*?))?(?=\n=======\n|\z)", RegexOptions.Singleline | RegexOptions.Compiled);

    /// <inheritdoc/>
    public Task<CondenseResult> CondenseAsync(IReadOnlyList<ChatTurn> events, ResearchState? prevState, CancellationToken cancellationToken = default)
    {
        var s = prevState?.Clone() ?? ResearchState.Empty();
        ToolCall? pending = null; string? pendingThink = null;
        foreach (var e in events)
        {
            if (e.Role == Roles.Assistant)
            {
                var p = ResponseParser.Parse(e.Content);
                pending = p.ToolCall; pendingThink = p.Think;
                if (pending is null) continue;
                if (pending.Name == "search" || pending.Name == "google_scholar")
                {
                    foreach (var q in StringsOf(pending.Arguments["query"]))
                        if (!s.SearchQueries.Any(x => x.Q == q))
                            s.SearchQueries.Add(new SearchQueryEntry { Q = q, Intent = Intent(pendingThink, q) });
                }
            }
            else if (e.IsToolResponse && pending is not null)
            {
                var body = Protocol.ToolResponseBody(e.Content);
                if (pending.Name == "search" || pending.Name == "google_scholar") AddSnippets(s, body);
                else if (pending.Name == "visit") AddVisit(s, pending, body);
                pending = null;
            }
        }
        s.Normalize();
        var merged = ResearchState.Merge(prevState, s);
        return Task.FromResult(new CondenseResult(merged));
    }

    private void AddSnippets(ResearchState s, string body)
    {
        if (body.StartsWith(ToolText.ErrorPrefix, StringComparison.Ordinal)) return;
        int taken = 0;
        foreach (Match m in EntryRx.Matches(body))
        {
            if (taken >= MaxSnippetsPerSearch) break;
            var link = m.Groups["link"].Value.Trim();
            var title = m.Groups["title"].Value.Trim();
            var sm = SnippetRx.Match(m.Groups["rest"].Value);
            var text = sm.Success ? sm.Groups["s"].Value.Trim() : title;
            if (text.Length == 0) continue;
            if (s.VisitedSources.Any(v => v.Url == link)) continue; // already read the page itself
            s.InformationState.Uncertain.Add(new Claim
            {
                Text = Cut($"{title}: {text}"),
                Sources = [link],
                Reason = "tool_search_snippet: seen only in a search result",
                Need = "visit " + link,
            });
            taken++;
        }
    }

    private void AddVisit(ResearchState s, ToolCall call, string body)
    {
        var matches = VisitRx.Matches(body);
        if (matches.Count == 0)
        {
            foreach (var url in StringsOf(call.Arguments["url"]))
            {
                bool failed = body.StartsWith(ToolText.ErrorPrefix, StringComparison.Ordinal) || IsFailure(body);
                Upsert(s, url, failed ? "not accessible" : Cut(FirstSentence(body)));
                if (!failed && body.Trim().Length > 0)
                    AddTrusted(s, Cut(FirstSentence(body)), url);
            }
            return;
        }
        foreach (Match m in matches)
        {
            var url = m.Groups["url"].Value.Trim();
            var sum = m.Groups["sum"].Success ? m.Groups["sum"].Value.Trim() : "";
            var ev = m.Groups["ev"].Success ? m.Groups["ev"].Value.Trim() : "";
            if (IsFailure(sum) || IsFailure(ev)) { Upsert(s, url, "not accessible"); continue; }
            var fact = FirstSentence(sum.Length > 0 ? sum : ev);
            if (fact.Length == 0) { Upsert(s, url, "no relevant information"); continue; }
            Upsert(s, url, Cut(fact));
            AddTrusted(s, Cut(fact), url);
        }
    }

    private static bool IsFailure(string t) =>
        t.Contains("could not be accessed", StringComparison.OrdinalIgnoreCase) || t.Contains("could not be processed", StringComparison.OrdinalIgnoreCase);

    private static void AddTrusted(ResearchState s, string fact, string url)
    {
        var key = ResearchState.ClaimKey(fact);
        // A page read settles snippet claims from that page: move them out of uncertain.
        s.InformationState.Uncertain.RemoveAll(c => c.Sources.Contains(url));
        if (s.AllClaims().Any(c => ResearchState.ClaimKey(c.Text) == key)) return;
        s.InformationState.Trusted.Add(new Claim { Text = fact, Sources = [url], Reason = "stated on the visited page" });
    }

    private static void Upsert(ResearchState s, string url, string note)
    {
        var v = s.VisitedSources.FirstOrDefault(x => x.Url == url);
        if (v is null) s.VisitedSources.Add(new VisitedSource { Url = url, Note = note });
        else if (v.Note.Length == 0) v.Note = note;
    }

    private static string Intent(string? think, string q)
    {
        if (string.IsNullOrWhiteSpace(think)) return "find information about " + q;
        var t = FirstSentence(think);
        return t.Length > 160 ? t[..160].TrimEnd() + "…" : t;
    }

    private string Cut(string t) => t.Length <= MaxClaimChars ? t : t[..MaxClaimChars].TrimEnd() + "…";

    private static string FirstSentence(string text)
    {
        var t = Regex.Replace(text.Trim(), @"\s+", " ");
        var m = Regex.Match(t, @"^(.{20,}?[.!?])(\s|$)");
        return m.Success ? m.Groups[1].Value : t;
    }


    internal static IEnumerable<string> StringsOf(JsonNode? node)
    {
        if (node is JsonValue v && v.TryGetValue<string>(out var s)) { if (!string.IsNullOrWhiteSpace(s)) yield return s.Trim(); }
        else if (node is JsonArray a)
            foreach (var x in a)
                if (x is JsonValue xv && xv.TryGetValue<string>(out var xs) && !string.IsNullOrWhiteSpace(xs)) yield return xs.Trim();
    }
}
