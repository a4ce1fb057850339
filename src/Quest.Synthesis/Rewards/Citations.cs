using System.Text.Json;
using System.Text.RegularExpressions;
using Microsoft.Extensions.AI;

using Quest.Core;

namespace Quest.Synthesis.Rewards;

/// <summary>Support label of one (claim, source) pair, as in QUEST's validate prompt.</summary>
public enum SupportLabel
{
    /// <summary>The page states the claim's facts (in full or in part, rounding allowed).</summary>
    Supported,
    /// <summary>The page does not state them.</summary>
    Unsupported,
    /// <summary>The page could not be read; left out of the valid rate.</summary>
    Unknown,
}

/// <summary>A checked pair.</summary>
/// <param name="Claim">The pair.</param>
/// <param name="Label">Support label.</param>
/// <param name="Overlap">Evidence overlap (share of the claim's content words found on the page), or -1 from a judge.</param>
public sealed record CheckedClaim(CitedClaim Claim, SupportLabel Label, double Overlap);

/// <summary>Result of the inline-citation check of one answer.</summary>
public sealed record CitationReport
{
    /// <summary>Whether the answer has any inline citation marker (a markdown link to http(s) or a bracket number).</summary>
    public bool HasInlineCitations { get; init; }
    /// <summary>Every checked pair.</summary>
    public IReadOnlyList<CheckedClaim> Pairs { get; init; } = [];
    /// <summary>Supported pairs.</summary>
    public int Supported => Pairs.Count(p => p.Label == SupportLabel.Supported);
    /// <summary>Unsupported pairs.</summary>
    public int Unsupported => Pairs.Count(p => p.Label == SupportLabel.Unsupported);
    /// <summary>Pairs whose page could not be read.</summary>
    public int Unknown => Pairs.Count(p => p.Label == SupportLabel.Unknown);
    /// <summary>QUEST's valid rate: supported / (supported + unsupported); 0 when nothing was decidable or nothing was cited.</summary>
    public double ValidRate => Supported + Unsupported == 0 ? 0 : (double)Supported / (Supported + Unsupported);
}

/// <summary>Decides whether a cited page supports a claim.</summary>
public interface ISupportChecker
{
    /// <summary>Labels every pair (pairs citing the same url are checked against one fetch of the page).</summary>
    Task<IReadOnlyList<CheckedClaim>> CheckAsync(IReadOnlyList<CitedClaim> pairs, CancellationToken ct = default);
}

/// <summary>
/// Programmatic support check by evidence overlap: a claim is supported when at least <see cref="Threshold"/> of its
/// content words (lower-cased words and numbers, stop words removed) occur in the cited page's text. A page that
/// cannot be read gives <see cref="SupportLabel.Unknown"/>.
/// </summary>
public sealed class OverlapSupportChecker(Func<string, CancellationToken, Task<string?>> pageText, double threshold = 0.7) : ISupportChecker
{
    /// <summary>Minimum share of the claim's content words found on the page.</summary>
    public double Threshold { get; } = threshold;

    /// <inheritdoc />
    public async Task<IReadOnlyList<CheckedClaim>> CheckAsync(IReadOnlyList<CitedClaim> pairs, CancellationToken ct = default)
    {
        var pages = new Dictionary<string, HashSet<string>?>();
        var result = new List<CheckedClaim>();
        foreach (var p in pairs)
        {
            if (!pages.TryGetValue(p.Url, out var words))
            {
                var text = await pageText(p.Url, ct).ConfigureAwait(false);
                pages[p.Url] = words = text is null ? null : TextOverlap.Words(text).ToHashSet();
            }
            if (words is null) { result.Add(new CheckedClaim(p, SupportLabel.Unknown, 0)); continue; }
            var overlap = TextOverlap.Coverage(p.Claim, words);
            result.Add(new CheckedClaim(p, overlap >= Threshold ? SupportLabel.Supported : SupportLabel.Unsupported, overlap));
        }
        return result;
    }
}

/// <summary>
/// Support check by an LLM judge (QUEST's validate step): one call per url with the page text (cut to 100 KB) and the
/// numbered statements; the judge answers a JSON list of labels.
/// </summary>
public sealed class JudgeSupportChecker(IChatClient judge, Func<string, CancellationToken, Task<string?>> pageText) : ISupportChecker
{
    /// <inheritdoc />
    public async Task<IReadOnlyList<CheckedClaim>> CheckAsync(IReadOnlyList<CitedClaim> pairs, CancellationToken ct = default)
    {
        var labels = new Dictionary<CitedClaim, SupportLabel>();
        foreach (var group in pairs.GroupBy(p => p.Url))
        {
            var text = await pageText(group.Key, ct).ConfigureAwait(false);
            var items = group.ToList();
            if (text is null) { foreach (var c in items) labels[c] = SupportLabel.Unknown; continue; }
            if (text.Length > 100_000) text = text[..100_000];
            var prompt = "You verify inline citations. For each numbered statement, decide whether the reference page supports it "
                + "(its facts are stated in full or in part; rounding allowed). Answer only a JSON array of labels, one per statement, "
                + "each \"supported\", \"unsupported\" or \"unknown\".\n\nReference page (" + group.Key + "):\n" + text + "\n\nStatements:\n"
                + string.Join("\n", items.Select((c, i) => $"{i + 1}. {c.Claim}"));
            List<string>? parsed = null;
            try
            {
                var resp = await judge.GetResponseAsync(prompt, new ChatOptions { Temperature = 0 }, ct).ConfigureAwait(false);
                var s = resp.Text; int a = s.IndexOf('['), b = s.LastIndexOf(']');
                if (a >= 0 && b > a) parsed = JsonSerializer.Deserialize<List<string>>(s[a..(b + 1)]);
            }
            catch (Exception ex) when (ex is JsonException or InvalidOperationException or HttpRequestException) { parsed = null; }
            for (int i = 0; i < items.Count; i++)
            {
                var l = parsed is not null && i < parsed.Count ? parsed[i].Trim().ToLowerInvariant() : "unknown";
                labels[items[i]] = l == "supported" ? SupportLabel.Supported : l == "unsupported" ? SupportLabel.Unsupported : SupportLabel.Unknown;
            }
        }
        return pairs.Select(p => new CheckedClaim(p, labels[p], -1)).ToList();
    }
}

/// <summary>Word-overlap helpers shared by the support checker and the verifiers.</summary>
public static partial class TextOverlap
{
    /// <summary>Content words of a text (<see cref="TextNormalizer.ContentWords"/>: the rubric <c>cites</c> check's rule too).</summary>
    public static IEnumerable<string> Words(string text) => TextNormalizer.ContentWords(text);

    /// <summary>Share of the distinct content words of <paramref name="claim"/> found in <paramref name="pageWords"/> (1 for an empty claim).</summary>
    public static double Coverage(string claim, IReadOnlySet<string> pageWords)
    {
        var w = Words(claim).Distinct().ToList();
        return w.Count == 0 ? 1 : (double)w.Count(pageWords.Contains) / w.Count;
    }
}
