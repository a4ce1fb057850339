using Quest.Core;

namespace Quest.Rubrics;

/// <summary>
/// <c>cites</c>: the answer cites a source (an inline URL, or a <c>[n]</c> marker resolved through the answer's reference
/// list) whose page text supports <c>evidence</c>: the fraction of the evidence's content words (stop words dropped) found
/// in the page is at least <c>threshold</c> (default 0.7). Args: <c>evidence</c> (optional: without it any cited URL
/// passes), <c>threshold</c>, <c>source</c> (optional: only matching cited URLs count; a full URL matches by URL key
/// (<see cref="UrlKeys.Key"/>), any other text, e.g. a domain, as a substring).
/// Pages come from <see cref="RubricContext.Sources"/>; without a resolver a leaf with evidence fails, saying so.
/// </summary>
internal sealed class CitesCheck : ILeafCheck
{
    private readonly string? _evidence;
    private readonly HashSet<string> _evidenceTokens;
    private readonly double _threshold;
    private readonly string? _source;

    public CitesCheck(CheckArgs a)
    {
        _evidence = a.GetString("evidence");
        _evidenceTokens = _evidence is null ? [] : ContentTokens(_evidence);
        if (_evidence is not null && _evidenceTokens.Count == 0) throw a.Error("evidence", "evidence has no content words", "a sentence the source must support");
        _threshold = a.GetDouble("threshold") ?? 0.7;
        if (_threshold is <= 0 or > 1) throw a.Error("threshold", $"threshold is {_threshold}", "a fraction in (0, 1]");
        _source = a.GetString("source");
    }

    public string Type => "cites";

    private bool Matches(string url) => _source is null
        || (_source.StartsWith("http", StringComparison.OrdinalIgnoreCase) ? UrlKeys.Key(url) == UrlKeys.Key(_source) : url.Contains(_source, StringComparison.OrdinalIgnoreCase));

    internal static HashSet<string> ContentTokens(string text) =>
        TextNormalizer.Tokens(text).Where(t => !TextNormalizer.StopWords.Contains(t)).ToHashSet(StringComparer.Ordinal);

    public async ValueTask<LeafOutcome> EvaluateAsync(LeafInput input, CancellationToken cancellationToken)
    {
        var urls = input.View.Citations.Urls
            .Where(Matches).ToList();
        if (urls.Count == 0)
            return LeafOutcome.Fail(input.View.Citations.Urls.Count == 0 ? "the answer cites no source" : $"no cited source matches '{_source}'");
        if (_evidence is null) return LeafOutcome.Pass($"cites {string.Join(", ", urls)}");
        if (input.Context.Sources is null)
            return LeafOutcome.Fail($"cites {urls.Count} source(s) but no source resolver is configured (RubricContext.Sources), so the evidence cannot be checked");
        double best = 0; string? bestUrl = null; var unreadable = new List<string>();
        foreach (var url in urls)
        {
            var text = await input.Context.Sources.GetTextAsync(url, cancellationToken).ConfigureAwait(false);
            if (string.IsNullOrWhiteSpace(text)) { unreadable.Add(url); continue; }
            var page = TextNormalizer.Tokens(text).ToHashSet(StringComparer.Ordinal);
            double overlap = (double)_evidenceTokens.Count(page.Contains) / _evidenceTokens.Count;
            if (overlap > best || bestUrl is null) { best = overlap; bestUrl = url; }
            if (overlap >= _threshold)
                return new LeafOutcome(true, $"{url} supports the evidence (overlap {overlap:P0} ≥ {_threshold:P0})",
                    Data: new Dictionary<string, object?> { ["url"] = url, ["overlap"] = overlap });
        }
        var why = bestUrl is null ? "no cited page could be read" : $"best overlap {best:P0} at {bestUrl} < {_threshold:P0}";
        if (unreadable.Count > 0 && bestUrl is not null) why += $"; unreadable: {string.Join(", ", unreadable)}";
        return new LeafOutcome(false, why, Data: new Dictionary<string, object?> { ["url"] = bestUrl, ["overlap"] = best });
    }
}
