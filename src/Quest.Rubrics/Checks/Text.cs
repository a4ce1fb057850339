using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;

using Quest.Core;

namespace Quest.Rubrics;

/// <summary>An answer with lazily computed, cached views (normalized tokens, numbers, citations), shared by all leaves of a scoring run.</summary>
public sealed class AnswerView
{
    private IReadOnlyList<string>? _tokens;
    private string? _normalized;
    private IReadOnlyList<Quantity>? _numbers;
    private CitationSet? _citations;

    /// <summary>Wraps an answer.</summary>
    public AnswerView(string text) => Text = text ?? "";
    /// <summary>The raw answer.</summary>
    public string Text { get; }
    /// <summary>Normalized tokens.</summary>
    public IReadOnlyList<string> Tokens => _tokens ??= TextNormalizer.Tokens(Text);
    /// <summary>Normalized text.</summary>
    public string Normalized => _normalized ??= string.Join(' ', Tokens);
    /// <summary>Numbers with their scale words and units, in order of appearance.</summary>
    public IReadOnlyList<Quantity> Numbers => _numbers ??= Quantity.FindAll(Text);
    /// <summary>URLs and [n] references the answer cites.</summary>
    public CitationSet Citations => _citations ??= Rubrics.Citations.Parse(Text);
}

/// <summary>The sources an answer cites.</summary>
/// <param name="Urls">Cited URLs in order: inline URLs in the body and the URLs of references cited as [n].</param>
/// <param name="References">The reference list: number → URL (or the reference text when it has no URL).</param>
public sealed record CitationSet(IReadOnlyList<string> Urls, IReadOnlyDictionary<int, string> References);

/// <summary>Citation parsing: inline URLs, <c>[n]</c> markers and a reference list (<c>[n] … URL</c> lines).</summary>
public static partial class Citations
{
    [GeneratedRegex(@"(?:https?://|www\.)[^\s<>""'\]\)]+", RegexOptions.IgnoreCase)]
    private static partial Regex UrlRx();
    [GeneratedRegex(@"^\s*(?:\[(\d+)\]|(\d+)\.)\s*:?\s*(.+)$")]
    private static partial Regex RefLineRx();
    [GeneratedRegex(@"\[(\d+(?:\s*[,–-]\s*\d+)*)\]")]
    private static partial Regex MarkerRx();

    /// <summary>Finds what an answer cites. A reference line counts only when some URL or marker points at it.</summary>
    public static CitationSet Parse(string answer)
    {
        var refs = new Dictionary<int, string>();
        var body = new List<string>();
        bool inRefSection = false;
        foreach (var rawLine in answer.Split('\n'))
        {
            var line = rawLine.TrimEnd('\r');
            var trimmed = line.Trim().TrimStart('#', '*', ' ').TrimEnd('*', ':', ' ');
            if (trimmed.Equals("references", StringComparison.OrdinalIgnoreCase) || trimmed.Equals("sources", StringComparison.OrdinalIgnoreCase)
                || trimmed.Equals("bibliography", StringComparison.OrdinalIgnoreCase))
            { inRefSection = true; continue; }
            var m = RefLineRx().Match(line);
            // "[n] …" lines are references anywhere; "n. …" lines only inside a References section (else they are list items).
            if (m.Success && (m.Groups[1].Success || inRefSection))
            {
                int n = int.Parse(m.Groups[1].Success ? m.Groups[1].Value : m.Groups[2].Value);
                var url = UrlRx().Match(m.Groups[3].Value);
                refs.TryAdd(n, url.Success ? CleanUrl(url.Value) : m.Groups[3].Value.Trim());
                continue;
            }
            body.Add(line);
        }
        var urls = new List<string>();
        var text = string.Join('\n', body);
        foreach (Match u in UrlRx().Matches(text)) urls.Add(CleanUrl(u.Value));
        foreach (Match mk in MarkerRx().Matches(text))
            foreach (var n in ExpandMarker(mk.Groups[1].Value))
                if (refs.TryGetValue(n, out var r) && LooksLikeUrl(r)) urls.Add(r);
        // A bare reference list with no markers in the body still cites its URLs.
        if (!MarkerRx().IsMatch(text)) urls.AddRange(refs.Values.Where(LooksLikeUrl));
        var seen = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        return new CitationSet(urls.Where(u => seen.Add(CanonicalUrl(u))).ToList(), refs);
    }

    private static IEnumerable<int> ExpandMarker(string s)
    {
        foreach (var part in s.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
        {
            var range = part.Split(['-', '–'], StringSplitOptions.TrimEntries);
            if (range.Length == 2 && int.TryParse(range[0], out var a) && int.TryParse(range[1], out var b) && b >= a && b - a < 100)
                for (int i = a; i <= b; i++) yield return i;
            else if (int.TryParse(part, out var n)) yield return n;
        }
    }

    private static bool LooksLikeUrl(string s) => s.StartsWith("http", StringComparison.OrdinalIgnoreCase) || s.StartsWith("www.", StringComparison.OrdinalIgnoreCase);
    private static string CleanUrl(string u) => u.TrimEnd('.', ',', ';', ':', '!', '?');

    /// <summary>URL key for comparisons: the kit's one URL rule (<see cref="UrlKeys.Key"/>, which the corpus uses too).</summary>
    public static string CanonicalUrl(string url) => UrlKeys.Key(url);
}
