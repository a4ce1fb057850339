using Quest.Core;
using System.Text.Json;
using System.Text.Json.Serialization;
using System.Text.RegularExpressions;

namespace Quest.Agent.Context;

/// <summary>A search query already issued: <c>{q, intent}</c>.</summary>
public sealed class SearchQueryEntry
{
    /// <summary>The exact query text (dedupe key).</summary>
    [JsonPropertyName("q")] public string Q { get; set; } = "";
    /// <summary>Why it was issued.</summary>
    [JsonPropertyName("intent")] public string Intent { get; set; } = "";
}

/// <summary>A source already visited: <c>{url, note}</c>.</summary>
public sealed class VisitedSource
{
    /// <summary>The exact URL (dedupe key).</summary>
    [JsonPropertyName("url")] public string Url { get; set; } = "";
    /// <summary>What the page gave.</summary>
    [JsonPropertyName("note")] public string Note { get; set; } = "";
}

/// <summary>A claim in one of the three buckets: <c>{id, claim, sources[], reason}</c> plus <c>need</c> for uncertain ones.</summary>
public sealed class Claim
{
    /// <summary>Id: T1…, U1…, C1… per bucket.</summary>
    [JsonPropertyName("id")] public string Id { get; set; } = "";
    /// <summary>The claim text.</summary>
    [JsonPropertyName("claim")] public string Text { get; set; } = "";
    /// <summary>At least one source: a URL or a label such as <c>tool_search_snippet</c> / <c>user_statement</c>.</summary>
    [JsonPropertyName("sources")] public List<string> Sources { get; set; } = [];
    /// <summary>Why the claim sits in its bucket.</summary>
    [JsonPropertyName("reason")] public string Reason { get; set; } = "";
    /// <summary>Uncertain claims only: the concrete next action (<c>visit &lt;url&gt;</c>, <c>search &lt;query&gt;</c>).</summary>
    [JsonPropertyName("need")][JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public string? Need { get; set; }
}

/// <summary>The three claim buckets.</summary>
public sealed class InformationState
{
    /// <summary>Claims explicitly supported by visited pages.</summary>
    [JsonPropertyName("trusted")] public List<Claim> Trusted { get; set; } = [];
    /// <summary>Claims contradicted or from unreliable sources.</summary>
    [JsonPropertyName("untrusted")] public List<Claim> Untrusted { get; set; } = [];
    /// <summary>Claims not yet settled; each has a <see cref="Claim.Need"/>.</summary>
    [JsonPropertyName("uncertain")] public List<Claim> Uncertain { get; set; } = [];
}

/// <summary>
/// QUEST's research state (<c>version: "dr_state"</c>), the memory the condenser carries across context resets.
/// Serialises to exactly QUEST's keys; <see cref="ToJson"/> gives the indent-2 form that goes into the prompt.
/// </summary>
public sealed class ResearchState
{
    /// <summary>The schema tag; always "dr_state".</summary>
    public const string SchemaVersion = "dr_state";

    /// <summary>Always "dr_state".</summary>
    [JsonPropertyName("version")] public string Version { get; set; } = SchemaVersion;
    /// <summary>Queries issued so far.</summary>
    [JsonPropertyName("search_queries")] public List<SearchQueryEntry> SearchQueries { get; set; } = [];
    /// <summary>Sources visited so far.</summary>
    [JsonPropertyName("visited_sources")] public List<VisitedSource> VisitedSources { get; set; } = [];
    /// <summary>The claim buckets.</summary>
    [JsonPropertyName("information_state")] public InformationState InformationState { get; set; } = new();

    internal static readonly JsonSerializerOptions Indented = new()
    {
        WriteIndented = true,
        Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
        IndentSize = 2,
    };
    private static readonly JsonSerializerOptions Compact = new() { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    /// <summary>An empty state (QUEST's fallback skeleton).</summary>
    public static ResearchState Empty() => new();

    /// <summary>The state as <c>json.dumps(state, indent=2)</c> writes it into the prompt (<see cref="PyJson"/>), or compact.</summary>
    public string ToJson(bool indented = true) =>
        indented ? PyJson.Dumps(JsonSerializer.SerializeToNode(this, Indented), 2) : JsonSerializer.Serialize(this, Compact);

    /// <summary>A deep copy.</summary>
    public ResearchState Clone() => JsonSerializer.Deserialize<ResearchState>(ToJson(false))!;

    /// <summary>Total number of entries (queries + sources + claims).</summary>
    [JsonIgnore]
    public int EntryCount => SearchQueries.Count + VisitedSources.Count + InformationState.Trusted.Count + InformationState.Untrusted.Count + InformationState.Uncertain.Count;

    private static readonly Regex FenceRx = new(@"```(?:json|JSON)?\s*\n?(.*?)```", RegexOptions.Singleline | RegexOptions.Compiled);

    /// <summary>
    /// Parses a condenser reply in QUEST's order: the whole text as JSON, then a fenced block, then the span from the
    /// first <c>{</c> to the last <c>}</c>. Text starting with <c>[Memory]</c> is rejected. On failure
    /// <paramref name="error"/> says why and the caller changes nothing.
    /// </summary>
    public static bool TryParse(string? text, out ResearchState? state, out string? error)
    {
        state = null; error = null;
        if (string.IsNullOrWhiteSpace(text)) { error = "empty condenser reply"; return false; }
        var t = text.Trim();
        if (t.StartsWith("[Memory]", StringComparison.Ordinal)) { error = "condenser reply is a [Memory] notice, not a state"; return false; }
        var candidates = new List<string> { t };
        var fm = FenceRx.Match(t);
        if (fm.Success) candidates.Add(fm.Groups[1].Value.Trim());
        int a = t.IndexOf('{'), b = t.LastIndexOf('}');
        if (a >= 0 && b > a) candidates.Add(t[a..(b + 1)]);
        string? last = null;
        foreach (var c in candidates)
        {
            try
            {
                using var doc = JsonDocument.Parse(c);
                if (doc.RootElement.ValueKind != JsonValueKind.Object) { last = "the JSON is not an object"; continue; }
                var root = doc.RootElement;
                if (!root.TryGetProperty("search_queries", out _) && !root.TryGetProperty("visited_sources", out _) && !root.TryGetProperty("information_state", out _))
                { last = "the JSON object has none of search_queries, visited_sources, information_state"; continue; }
                var s = root.Deserialize<ResearchState>(JsonFiles.Compact)!;
                s.Normalize();
                state = s;
                return true;
            }
            catch (JsonException ex) { last = $"invalid JSON: {ex.Message}"; }
        }
        error = last ?? "no JSON object found in the condenser reply";
        return false;
    }

    /// <summary>Fixes what a sloppy condenser may leave: null lists, missing version, missing ids, duplicates.</summary>
    public void Normalize()
    {
        Version = SchemaVersion;
        SearchQueries = (SearchQueries ?? []).Where(q => q is not null && !string.IsNullOrWhiteSpace(q.Q)).DistinctBy(q => q.Q).ToList();
        VisitedSources = (VisitedSources ?? []).Where(v => v is not null && !string.IsNullOrWhiteSpace(v.Url)).DistinctBy(v => v.Url).ToList();
        InformationState ??= new();
        var seen = new HashSet<string>();
        InformationState.Trusted = Dedupe(InformationState.Trusted, "T", seen, false);
        InformationState.Untrusted = Dedupe(InformationState.Untrusted, "U", seen, false);
        InformationState.Uncertain = Dedupe(InformationState.Uncertain, "C", seen, true);
    }

    private static List<Claim> Dedupe(List<Claim>? claims, string prefix, HashSet<string> seen, bool uncertain)
    {
        var list = new List<Claim>();
        var ids = new HashSet<string>();
        foreach (var c in claims ?? [])
        {
            if (c is null || string.IsNullOrWhiteSpace(c.Text)) continue;
            if (!seen.Add(ClaimKey(c.Text))) continue; // priority trusted > untrusted > uncertain (call order)
            c.Sources ??= [];
            c.Reason ??= "";
            if (!uncertain) c.Need = null;
            else if (string.IsNullOrWhiteSpace(c.Need)) c.Need = "search " + c.Text;
            if (string.IsNullOrWhiteSpace(c.Id) || !c.Id.StartsWith(prefix, StringComparison.Ordinal) || !ids.Add(c.Id))
            {
                int n = list.Count + 1;
                while (ids.Contains(prefix + n)) n++;
                c.Id = prefix + n;
                ids.Add(c.Id);
            }
            list.Add(c);
        }
        return list;
    }

    internal static string ClaimKey(string text) => Regex.Replace(text.Trim().ToLowerInvariant(), @"\s+", " ");

    /// <summary>
    /// Merges <paramref name="next"/> over <paramref name="prev"/> without losing entries: queries and sources are a
    /// union (by exact <c>q</c> / <c>url</c>); a claim keeps the bucket <paramref name="next"/> gives it, and claims of
    /// <paramref name="prev"/> that <paramref name="next"/> dropped come back in their old bucket. Duplicates across
    /// buckets resolve trusted &gt; untrusted &gt; uncertain.
    /// </summary>
    public static ResearchState Merge(ResearchState? prev, ResearchState next)
    {
        var m = next.Clone();
        if (prev is null) { m.Normalize(); return m; }
        foreach (var q in prev.SearchQueries)
            if (!m.SearchQueries.Any(x => x.Q == q.Q)) m.SearchQueries.Add(new SearchQueryEntry { Q = q.Q, Intent = q.Intent });
        foreach (var v in prev.VisitedSources)
            if (!m.VisitedSources.Any(x => x.Url == v.Url)) m.VisitedSources.Add(new VisitedSource { Url = v.Url, Note = v.Note });
        var present = new HashSet<string>(m.AllClaims().Select(c => ClaimKey(c.Text)));
        void Back(List<Claim> from, List<Claim> to)
        {
            foreach (var c in from)
                if (present.Add(ClaimKey(c.Text)))
                    to.Add(new Claim { Id = "", Text = c.Text, Sources = [.. c.Sources], Reason = c.Reason, Need = c.Need });
        }
        Back(prev.InformationState.Trusted, m.InformationState.Trusted);
        Back(prev.InformationState.Untrusted, m.InformationState.Untrusted);
        Back(prev.InformationState.Uncertain, m.InformationState.Uncertain);
        m.Normalize();
        return m;
    }

    /// <summary>All claims, trusted first.</summary>
    public IEnumerable<Claim> AllClaims() => InformationState.Trusted.Concat(InformationState.Untrusted).Concat(InformationState.Uncertain);
}

/// <summary>The RESEARCH STATE SUMMARY (prev_state) section appended to the first user message.</summary>
public static class StateSection
{
    /// <summary>Where the section starts; everything from here on is removed before a new section is added.</summary>
    public const string Marker = "====================\nRESEARCH STATE SUMMARY";

    /// <summary>The header, exactly as QUEST writes it.</summary>
    public const string Header = "\n\n====================\nRESEARCH STATE SUMMARY (prev_state)\n====================\n";

    /// <summary>The usage blurb between header and JSON.</summary>
    public const string Blurb =
        "This is the research state carried over from your earlier work on this question (the earlier turns were compressed). " +
        "Check search_queries and visited_sources to avoid repeating work, use trusted facts directly, and follow the need of each uncertain claim.\n";

    /// <summary>The closing note after the JSON.</summary>
    public const string Footer =
        "\n\nIMPORTANT: Continue the research from this state. Do not repeat searches or visits already listed. " +
        "The final answer must exclude any information that remains uncertain or pending.";

    /// <summary>Removes an existing section (from the marker to the end) and trailing whitespace.</summary>
    public static string Remove(string userContent)
    {
        int i = userContent.IndexOf(Marker, StringComparison.Ordinal);
        return i < 0 ? userContent : userContent[..i].TrimEnd();
    }

    /// <summary>The section text for <paramref name="state"/> (starts with two newlines).</summary>
    public static string Format(ResearchState state) => Header + Blurb + state.ToJson() + Footer;

    /// <summary>The first user message with its old section replaced by one for <paramref name="state"/> (none when null).</summary>
    public static string Apply(string userContent, ResearchState? state) =>
        state is null ? Remove(userContent) : Remove(userContent) + Format(state);
}
