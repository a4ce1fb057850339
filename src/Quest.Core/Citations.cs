using System.Text.RegularExpressions;

namespace Quest.Core;

/// <summary>A (claim, source) pair taken from an answer's inline citations.</summary>
/// <param name="Claim">The sentence (bullet, table cell) the citation is attached to, with citation markers removed.</param>
/// <param name="Url">The cited source.</param>
public sealed record CitedClaim(string Claim, string Url);

/// <summary>What an answer cites.</summary>
/// <param name="Urls">
/// Cited URLs in order of appearance, once each (by <see cref="UrlKeys.Key"/>): markdown links, bare URLs and the
/// reference-list URLs of <c>[n]</c> markers in the body; when the body has no marker at all, the reference list's URLs.
/// </param>
/// <param name="References">The reference list: number → URL (or the reference's text when it has no URL).</param>
/// <param name="Pairs">The inline citations as (claim, url) pairs, in order, once each (a reference list alone gives none).</param>
public sealed record CitationSet(IReadOnlyList<string> Urls, IReadOnlyDictionary<int, string> References, IReadOnlyList<CitedClaim> Pairs);

/// <summary>
/// The kit's one citation grammar, used by the rubric <c>cites</c> check, report criteria and the citation reward, so
/// they always agree about what an answer cites.
/// <list type="bullet">
/// <item>Inline citations: markdown links <c>[text](http…)</c>, bare URLs (<c>http…</c>, <c>www.…</c>), and bracket
/// numbers <c>[n]</c>, <c>[1, 3]</c>, <c>[2-4]</c> resolved through the reference list.</item>
/// <item>Reference list: <c>[n] … url</c> or <c>[n]: url</c> lines anywhere, and <c>[n] text</c>, <c>n. …</c>,
/// <c>n) …</c> lines under a heading that is only "References", "Sources", "Bibliography", "Citations" or "Works cited".</item>
/// <item>A claim is the sentence, bullet or table cell a citation sits in, with the markers removed.</item>
/// </list>
/// </summary>
public static partial class Citations
{
    [GeneratedRegex(@"\[([^\]\n]+)\]\((https?://[^)\s]+)\)")] private static partial Regex MdLink();
    [GeneratedRegex(@"(?:https?://|www\.)[^\s<>""'\]\)]+", RegexOptions.IgnoreCase)] private static partial Regex BareUrl();
    [GeneratedRegex(@"\[(\d+(?:\s*[,;\-–]\s*\d+)*)\](?!\()")] private static partial Regex Marker();
    [GeneratedRegex(@"^\s*\[(\d+)\]:?\s*(.*)$")] private static partial Regex RefLineBracket();
    [GeneratedRegex(@"^\s*(\d+)[.)]\s+(.*)$")] private static partial Regex RefLineNumbered();
    [GeneratedRegex(@"^(references|sources|bibliography|citations|works cited)$", RegexOptions.IgnoreCase)] private static partial Regex RefHeading();
    [GeneratedRegex(@"(?<=[.!?])\s+(?=[A-Z0-9""'(])|(?<=\]\(https?://[^)\s]+\)|\[\d+(?:\s*[,;\-–]\s*\d+)*\])\s+(?=[A-Z""'])")] private static partial Regex SentenceSplit();

    /// <summary>Everything an answer cites (<see cref="CitationSet"/>).</summary>
    public static CitationSet Parse(string answer)
    {
        var refs = ReferenceList(answer);
        var urls = new List<string>();
        var pairs = new List<CitedClaim>();
        var seenPairs = new HashSet<(string, string)>();
        bool anyMarker = false;
        foreach (var line in BodyLines(answer, refs))
        foreach (var cell in line.Split('|'))
        foreach (var unit in SentenceSplit().Split(cell))
        {
            var cited = new List<string>();
            foreach (Match m in MdLink().Matches(unit)) cited.Add(m.Groups[2].Value);
            foreach (Match m in BareUrl().Matches(MdLink().Replace(unit, " "))) cited.Add(CleanUrl(m.Value));
            foreach (Match m in Marker().Matches(unit))
            {
                anyMarker = true;
                foreach (var n in Numbers(m.Groups[1].Value))
                    if (refs.TryGetValue(n, out var r) && LooksLikeUrl(r)) cited.Add(r);
            }
            if (cited.Count == 0) continue;
            urls.AddRange(cited);
            var claim = CleanClaim(unit);
            if (claim.Length == 0) continue;
            foreach (var u in cited)
                if (seenPairs.Add((claim, u))) pairs.Add(new CitedClaim(claim, u));
        }
        // a bare reference list with no marker in the body still names its sources (but makes no inline pair)
        if (!anyMarker) urls.AddRange(refs.Values.Where(LooksLikeUrl));
        var seen = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        return new CitationSet(urls.Where(u => seen.Add(UrlKeys.Key(u))).ToList(), refs, pairs);
    }

    /// <summary>The inline (claim, url) pairs of an answer (<see cref="CitationSet.Pairs"/>).</summary>
    public static IReadOnlyList<CitedClaim> Extract(string answer) => Parse(answer).Pairs;

    /// <summary>
    /// The answer's prose: markdown links reduced to their anchor text and bare URLs removed. Rubric text checks read
    /// this, so a name (or number) that appears only inside a cited address is not something the answer states: before,
    /// a report that cited <c>…/wiki/Vel_Orasko</c> "mentioned" Vel Orasko without naming him.
    /// </summary>
    public static string Prose(string answer) => BareUrl().Replace(MdLink().Replace(answer, "$1"), " ");

    /// <summary>
    /// QUEST's test before its "no inline citation" penalty: the answer has a markdown link to http(s) or a bracket
    /// number (a bare URL or a reference list alone does not count).
    /// </summary>
    public static bool HasInlineMarkers(string answer) => MdLink().IsMatch(answer) || Marker().IsMatch(string.Join('\n', BodyLines(answer, ReferenceList(answer))));

    /// <summary>The reference list: number → URL, or the reference's text when it has no URL.</summary>
    public static IReadOnlyDictionary<int, string> ReferenceList(string answer)
    {
        var refs = new Dictionary<int, string>();
        bool inRefs = false;
        foreach (var raw in answer.Split('\n'))
        {
            var line = raw.TrimEnd('\r');
            if (IsRefHeading(line)) { inRefs = true; continue; }
            var m = RefLineBracket().Match(line);
            if (!m.Success && inRefs) m = RefLineNumbered().Match(line);
            if (!m.Success) continue;
            var url = BareUrl().Match(m.Groups[2].Value);
            if (url.Success) refs.TryAdd(int.Parse(m.Groups[1].Value), CleanUrl(url.Value));
            else if (inRefs && m.Groups[2].Value.Trim() is { Length: > 0 } text) refs.TryAdd(int.Parse(m.Groups[1].Value), text);
        }
        return refs;
    }

    /// <summary>The claim text with citation markers removed (link text kept unless it is just "source" or a number).</summary>
    public static string CleanClaim(string unit)
    {
        var s = MdLink().Replace(unit, m =>
        {
            var t = m.Groups[1].Value.Trim();
            return Regex.IsMatch(t, @"^(\d+|source|src|link|ref|here|page)$", RegexOptions.IgnoreCase) ? "" : t;
        });
        s = BareUrl().Replace(s, "");
        s = Marker().Replace(s, "");
        s = Regex.Replace(s, @"^\s*([-*+]|\d+[.)])\s+", "");
        s = s.Replace("**", "").Replace("`", "");
        s = Regex.Replace(s, @"\s+", " ").Trim();
        s = Regex.Replace(s, @"\s+([.,;:!?])", "$1");
        return s.Trim(' ', '#', '|');
    }

    /// <summary>URL key for comparisons: the kit's one URL rule (<see cref="UrlKeys.Key"/>).</summary>
    public static string CanonicalUrl(string url) => UrlKeys.Key(url);

    /// <summary>Lines that are not the reference list (its heading, the lines after it, and <c>[n] url</c> lines anywhere).</summary>
    private static IEnumerable<string> BodyLines(string answer, IReadOnlyDictionary<int, string> refs)
    {
        bool inRefs = false;
        foreach (var raw in answer.Split('\n'))
        {
            var line = raw.TrimEnd('\r');
            if (IsRefHeading(line)) { inRefs = true; continue; }
            if (inRefs) continue;
            var rl = RefLineBracket().Match(line);
            if (rl.Success && refs.TryGetValue(int.Parse(rl.Groups[1].Value), out var r) && line.Contains(r, StringComparison.Ordinal)) continue;
            yield return line;
        }
    }

    private static bool IsRefHeading(string line) => RefHeading().IsMatch(line.Trim().TrimStart('#', '*', ' ').TrimEnd('*', ':', ' '));

    private static bool LooksLikeUrl(string s) => s.StartsWith("http", StringComparison.OrdinalIgnoreCase) || s.StartsWith("www.", StringComparison.OrdinalIgnoreCase);

    private static string CleanUrl(string u) => u.TrimEnd('.', ',', ';', ':', '!', '?');

    private static IEnumerable<int> Numbers(string spec)
    {
        foreach (var part in Regex.Split(spec, @"\s*[,;]\s*"))
        {
            var r = Regex.Match(part, @"^(\d+)\s*[\-–]\s*(\d+)$");
            if (r.Success)
            {
                int a = int.Parse(r.Groups[1].Value), b = int.Parse(r.Groups[2].Value);
                for (int i = a; i <= Math.Min(b, a + 50); i++) yield return i;
            }
            else if (int.TryParse(part.Trim(), out var n)) yield return n;
        }
    }
}
