using System.Security.Cryptography;
using System.Text;

namespace Quest.World.Corpus;

/// <summary>
/// An in-memory corpus: pages in a fixed order with URL look-up. URL look-up is forgiving the way a browser is:
/// scheme, <c>www.</c>, trailing slash, fragment, case and the spelling of spaces (<c>_</c>, <c>+</c>,
/// <c>%20</c>) do not matter. The order is part of the corpus identity (<see cref="ContentHash"/>).
/// </summary>
public sealed class PageCorpus : IReadOnlyList<Page>, IPageSource
{
    private readonly Page[] _pages;
    private readonly Dictionary<string, int> _byUrl;
    private string? _hash;

    /// <summary>Creates a corpus. Duplicate URLs throw (a corpus needs stable, unique addresses).</summary>
    public PageCorpus(string name, IEnumerable<Page> pages, CorpusInfo? info = null)
    {
        Name = name;
        _pages = pages.ToArray();
        _byUrl = new Dictionary<string, int>(_pages.Length, StringComparer.Ordinal);
        for (int i = 0; i < _pages.Length; i++)
        {
            var key = UrlKey(_pages[i].Url);
            if (!_byUrl.TryAdd(key, i))
                throw new ArgumentException($"duplicate page URL '{_pages[i].Url}' (pages {_byUrl[key]} and {i})");
        }
        Info = info ?? new CorpusInfo { Name = name };
    }

    /// <summary>Corpus name (e.g. <c>world</c>, <c>foldoc</c>).</summary>
    public string Name { get; }

    /// <summary>Where the corpus came from, its license and build options.</summary>
    public CorpusInfo Info { get; }

    /// <summary>Number of pages.</summary>
    public int Count => _pages.Length;

    /// <summary>The page at position <paramref name="index"/>.</summary>
    public Page this[int index] => _pages[index];

    /// <summary>Total number of outgoing links.</summary>
    public long LinkCount => _pages.Sum(p => (long)p.Links.Count);

    /// <summary>Position of the page with this URL, or -1.</summary>
    public int IndexOf(string url) => _byUrl.TryGetValue(UrlKey(url), out var i) ? i : -1;

    /// <summary>The page with this URL, or null.</summary>
    public Page? Find(string url) { int i = IndexOf(url); return i < 0 ? null : _pages[i]; }

    /// <summary>Whether a page with this URL exists.</summary>
    public bool Contains(string url) => IndexOf(url) >= 0;

    /// <summary>Pages that link to <paramref name="url"/> (a linear scan; fine for notebooks and tests).</summary>
    public IEnumerable<Page> Backlinks(string url)
    {
        var key = UrlKey(url);
        return _pages.Where(p => p.Links.Any(l => UrlKey(l) == key));
    }

    /// <summary>SHA-256 over every page's URL, title, text, category and date, in order (hex). Indexes are keyed by it.</summary>
    public string ContentHash => _hash ??= ComputeHash();

    /// <inheritdoc />
    public Task<PageContent?> FetchAsync(string url, CancellationToken cancellationToken = default)
    {
        var p = Find(url);
        return Task.FromResult(p is null ? null : new PageContent(p.Url, p.Title, p.Text));
    }

    /// <summary>A resolver (url → page text or null) for rubric "cites" checks and rewards.</summary>
    public Func<string, CancellationToken, Task<string?>> Resolver =>
        (url, _) => Task.FromResult(Find(url)?.Text);

    /// <inheritdoc />
    public IEnumerator<Page> GetEnumerator() => ((IEnumerable<Page>)_pages).GetEnumerator();
    System.Collections.IEnumerator System.Collections.IEnumerable.GetEnumerator() => _pages.GetEnumerator();

    /// <summary>The normalised look-up key of a URL (<see cref="Quest.Core.UrlKeys.Key"/>: the kit's one URL rule).</summary>
    public static string UrlKey(string url) => Quest.Core.UrlKeys.Key(url);

    private string ComputeHash()
    {
        using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        Span<byte> sep = [0];
        foreach (var p in _pages)
        {
            foreach (var s in new[] { p.Url, p.Title, p.Text, p.Category ?? "", p.Date ?? "" })
            {
                sha.AppendData(Encoding.UTF8.GetBytes(s));
                sha.AppendData(sep);
            }
        }
        return Convert.ToHexStringLower(sha.GetHashAndReset());
    }
}

/// <summary>Text of a fetched page (offline corpus or live web).</summary>
/// <param name="Url">The URL the page was fetched from.</param>
/// <param name="Title">Title, or empty when unknown.</param>
/// <param name="Text">Reader-style text (markdown with inline links).</param>
public sealed record PageContent(string Url, string Title, string Text);

/// <summary>Something that returns a page's text for a URL: an offline corpus or a live-web reader.</summary>
public interface IPageSource
{
    /// <summary>Fetches the page, or returns null when there is no such page. Network failures may throw.</summary>
    Task<PageContent?> FetchAsync(string url, CancellationToken cancellationToken = default);
}

/// <summary>Helpers on <see cref="IPageSource"/>.</summary>
public static class PageSourceExtensions
{
    /// <summary>
    /// The source as a plain resolver delegate (url → page text, or null when unknown or unreachable). This is the
    /// shape the rubric "cites" check and the rewards take; failures become null, never exceptions.
    /// </summary>
    public static Func<string, CancellationToken, Task<string?>> AsResolver(this IPageSource source) =>
        async (url, ct) =>
        {
            try { return (await source.FetchAsync(url, ct).ConfigureAwait(false))?.Text; }
            catch (OperationCanceledException) when (ct.IsCancellationRequested) { throw; }
            catch (Exception) { return null; }
        };
}

/// <summary>What a stored corpus says about itself (<c>manifest.json</c>).</summary>
public sealed record CorpusInfo
{
    /// <summary>Corpus name.</summary>
    public required string Name { get; init; }
    /// <summary>Kind of source: <c>world</c>, <c>foldoc</c>, <c>jargon</c>, <c>jsonl</c>, <c>debian</c>.</summary>
    public string Source { get; init; } = "custom";
    /// <summary>Where the data came from (file path, package name and version).</summary>
    public string? Origin { get; init; }
    /// <summary>License of the content (e.g. <c>GFDL-1.1+</c>, <c>public-domain</c>, <c>generated</c>).</summary>
    public string? License { get; init; }
    /// <summary>Number of pages (filled when stored).</summary>
    public int Pages { get; init; }
    /// <summary>Number of outgoing links (filled when stored).</summary>
    public long Links { get; init; }
    /// <summary>Content hash (filled when stored).</summary>
    public string? ContentHash { get; init; }
    /// <summary>Build options (e.g. world seed and size), as strings.</summary>
    public Dictionary<string, string> Options { get; init; } = [];
    /// <summary>Problems met while importing (skipped records), one line each.</summary>
    public List<string> Warnings { get; init; } = [];
    /// <summary>When the corpus was built (UTC).</summary>
    public DateTime CreatedUtc { get; init; } = DateTime.UtcNow;
}
