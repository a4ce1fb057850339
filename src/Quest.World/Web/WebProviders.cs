using System.Net;
using Polly;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Quest.World.Corpus;
using Quest.World.Search;
using Quest.World.Tools;

namespace Quest.World.Web;

/// <summary>Timeouts and retries of live-web calls.</summary>
public sealed record WebOptions
{
    /// <summary>Time limit of one HTTP attempt.</summary>
    public TimeSpan Timeout { get; init; } = TimeSpan.FromSeconds(50);
    /// <summary>Attempts per call (QUEST: 5 for search, 3 for the reader).</summary>
    public int Attempts { get; init; } = 3;
    /// <summary>Delay before the first retry; doubles each time, capped at <see cref="MaxBackoff"/>.</summary>
    public TimeSpan Backoff { get; init; } = TimeSpan.FromSeconds(1);
    /// <summary>Cap of the retry delay.</summary>
    public TimeSpan MaxBackoff { get; init; } = TimeSpan.FromSeconds(30);
    /// <summary>Optional SQLite cache (successful results only).</summary>
    public WebCache? Cache { get; init; }

    /// <summary>
    /// The retry pipeline (Microsoft.Extensions.Http.Resilience's HTTP strategies on Polly): per-attempt timeout, and
    /// exponential retries (no jitter, capped at <see cref="MaxBackoff"/>) on transient HTTP outcomes (5xx, 408, 429,
    /// network errors, attempt timeouts), honouring <c>Retry-After</c>. Everything else is an answer.
    /// </summary>
    /// <remarks>Built from the current values on every use: a cached pipeline would be copied by <c>with</c> and keep
    /// the old timeouts (a record's clone copies its fields).</remarks>
    internal Polly.ResiliencePipeline<HttpResponseMessage> Pipeline => BuildPipeline();

    private Polly.ResiliencePipeline<HttpResponseMessage> BuildPipeline()
    {
        var b = new Polly.ResiliencePipelineBuilder<HttpResponseMessage>();
        if (Attempts > 1)   // Polly's retry needs at least one retry; one attempt is no retry strategy at all
            b.AddRetry(new Microsoft.Extensions.Http.Resilience.HttpRetryStrategyOptions
            {
                MaxRetryAttempts = Attempts - 1, Delay = Backoff, MaxDelay = MaxBackoff,
                BackoffType = Polly.DelayBackoffType.Exponential, UseJitter = false,
            });
        return b.AddTimeout(new Microsoft.Extensions.Http.Resilience.HttpTimeoutStrategyOptions { Timeout = Timeout }).Build();
    }

    internal async Task<HttpResponseMessage> SendAsync(HttpClient http, Func<HttpRequestMessage> make, CancellationToken ct)
    {
        HttpResponseMessage resp;
        try
        {
            resp = await Pipeline.ExecuteAsync(async token =>
                await http.SendAsync(make(), HttpCompletionOption.ResponseContentRead, token).ConfigureAwait(false), ct).ConfigureAwait(false);
        }
        catch (Polly.Timeout.TimeoutRejectedException ex) { throw new TimeoutException($"no answer within {Timeout.TotalSeconds:0.#} s (after {Attempts} attempts)", ex); }
        catch (HttpRequestException ex) { throw new HttpRequestException($"failed after {Attempts} attempts: {ex.Message}", ex); }
        if ((int)resp.StatusCode >= 500 || resp.StatusCode is HttpStatusCode.TooManyRequests or HttpStatusCode.RequestTimeout)
        {
            var status = resp.StatusCode;
            var reason = resp.ReasonPhrase;
            resp.Dispose();
            throw new HttpRequestException($"failed after {Attempts} attempts: HTTP {(int)status} {reason}", null, status);
        }
        return resp;
    }
}

/// <summary>
/// A Serper-compatible web search client (<c>POST {endpoint}</c> with <c>{"q", "gl", "hl", "num"}</c> and an
/// <c>X-API-KEY</c> header; reads <c>organic[]</c> with <c>title</c>, <c>link</c>, <c>snippet</c>, <c>date</c>,
/// <c>sitelinks</c>). Like QUEST, queries with CJK characters ask for <c>gl=cn, hl=zh-cn</c>. Retries server errors
/// and timeouts; caches successful results in a <see cref="WebCache"/> keyed by query and k.
/// </summary>
public sealed class SerperSearchProvider(HttpClient http, string apiKey, Uri? endpoint = null, WebOptions? options = null) : ISearchProvider
{
    private readonly WebOptions _o = options ?? new WebOptions { Attempts = 5 };

    /// <summary>Serper's search endpoint.</summary>
    public static readonly Uri DefaultEndpoint = new("https://google.serper.dev/search");

    /// <summary>The endpoint in use.</summary>
    public Uri Endpoint { get; } = endpoint ?? DefaultEndpoint;

    /// <summary>A client configured from <c>SERPER_API_KEY</c> (and optionally <c>SERPER_ENDPOINT</c>); null when no key is set.</summary>
    public static SerperSearchProvider? FromEnvironment(HttpClient http, WebOptions? options = null)
    {
        var key = Environment.GetEnvironmentVariable("SERPER_API_KEY");
        if (string.IsNullOrWhiteSpace(key)) return null;
        var ep = Environment.GetEnvironmentVariable("SERPER_ENDPOINT");
        return new SerperSearchProvider(http, key, string.IsNullOrWhiteSpace(ep) ? null : new Uri(ep), options);
    }

    /// <inheritdoc />
    public async Task<SearchResults> SearchAsync(string query, int k = 10, CancellationToken cancellationToken = default)
    {
        var key = $"{query}\u001f{k}";
        if (_o.Cache?.GetSearch(key) is { } cached && Parse(query, cached, k) is { } fromCache) return fromCache;
        bool cjk = query.Any(c => c is >= '\u4e00' and <= '\u9fff' or >= '\u3040' and <= '\u30ff' or >= '\uac00' and <= '\ud7af');
        var body = new JsonObject { ["q"] = query, ["gl"] = cjk ? "cn" : "us", ["hl"] = cjk ? "zh-cn" : "en", ["num"] = k }.ToJsonString();
        using var resp = await _o.SendAsync(http, () =>
        {
            var req = new HttpRequestMessage(HttpMethod.Post, Endpoint) { Content = new StringContent(body, Encoding.UTF8, "application/json") };
            req.Headers.Add("X-API-KEY", apiKey);
            return req;
        }, cancellationToken).ConfigureAwait(false);
        var json = await resp.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false);
        if (!resp.IsSuccessStatusCode) throw new HttpRequestException($"search API answered HTTP {(int)resp.StatusCode}: {Short(json)}", null, resp.StatusCode);
        var results = Parse(query, json, k) ?? throw new HttpRequestException($"search API answered something that is not a result object: {Short(json)}");
        _o.Cache?.PutSearch(key, json);
        return results;
    }

    /// <summary>Parses a Serper response; null when it is not JSON with an object root.</summary>
    public static SearchResults? Parse(string query, string json, int k)
    {
        try
        {
            using var doc = JsonDocument.Parse(json);
            if (doc.RootElement.ValueKind != JsonValueKind.Object) return null;
            var hits = new List<SearchHit>();
            if (doc.RootElement.TryGetProperty("organic", out var org) && org.ValueKind == JsonValueKind.Array)
            {
                foreach (var o in org.EnumerateArray())
                {
                    if (hits.Count >= k) break;
                    string S(string n) => o.TryGetProperty(n, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString()! : "";
                    if (S("link").Length == 0) continue;
                    List<(string, string)>? sl = null;
                    if (o.TryGetProperty("sitelinks", out var sls) && sls.ValueKind == JsonValueKind.Array)
                        sl = sls.EnumerateArray().Where(x => x.ValueKind == JsonValueKind.Object)
                            .Select(x => (x.TryGetProperty("title", out var t) ? t.GetString() ?? "" : "", x.TryGetProperty("link", out var l) ? l.GetString() ?? "" : ""))
                            .Where(x => x.Item2.Length > 0).ToList();
                    hits.Add(new SearchHit(S("link"), S("title"), S("snippet"), hits.Count == 0 ? 1 : 1.0 / (hits.Count + 1), S("date") is { Length: > 0 } d ? d : null, sl));
                }
            }
            return new SearchResults(query, hits.Count, hits);
        }
        catch (JsonException) { return null; }
    }

    private static string Short(string s) => s.Length <= 200 ? s : s[..200] + "…";
}

/// <summary>
/// A reader-style page fetcher (Jina-Reader compatible: <c>GET {base}{url}</c> with an optional Bearer key; the
/// reply is the page as markdown, often starting with <c>Title:</c>/<c>URL Source:</c> lines). Unsafe URLs are
/// refused (null), 404/410 give null, server errors and timeouts are retried; successful pages are cached by URL.
/// </summary>
public sealed class ReaderPageSource(HttpClient http, Uri? readerBase = null, string? apiKey = null, WebOptions? options = null) : IPageSource
{
    private readonly WebOptions _o = options ?? new();

    /// <summary>Jina Reader's base URL.</summary>
    public static readonly Uri DefaultBase = new("https://r.jina.ai/");

    /// <summary>The reader base in use (the page URL is appended).</summary>
    public Uri Base { get; } = readerBase ?? DefaultBase;

    /// <summary>A fetcher configured from <c>JINA_API_KEY</c> and optionally <c>READER_BASE_URL</c>.</summary>
    public static ReaderPageSource FromEnvironment(HttpClient http, WebOptions? options = null)
    {
        var b = Environment.GetEnvironmentVariable("READER_BASE_URL");
        return new ReaderPageSource(http, string.IsNullOrWhiteSpace(b) ? null : new Uri(b), Environment.GetEnvironmentVariable("JINA_API_KEY"), options);
    }

    /// <inheritdoc />
    public async Task<PageContent?> FetchAsync(string url, CancellationToken cancellationToken = default)
    {
        if (UrlSafety.Check(url) is not null) return null;
        var target = UrlSafety.Normalize(url);
        if (_o.Cache?.GetPage(target) is { } cached) return ToPage(target, cached);
        using var resp = await _o.SendAsync(http, () =>
        {
            var req = new HttpRequestMessage(HttpMethod.Get, Base + target);
            if (!string.IsNullOrWhiteSpace(apiKey)) req.Headers.Authorization = new AuthenticationHeaderValue("Bearer", apiKey);
            return req;
        }, cancellationToken).ConfigureAwait(false);
        if (resp.StatusCode is HttpStatusCode.NotFound or HttpStatusCode.Gone) return null;
        if (!resp.IsSuccessStatusCode) throw new HttpRequestException($"reader answered HTTP {(int)resp.StatusCode}", null, resp.StatusCode);
        var bytes = await resp.Content.ReadAsByteArrayAsync(cancellationToken).ConfigureAwait(false);
        // Decode as declared, else UTF-8; invalid bytes become U+FFFD rather than failing the visit.
        var charset = resp.Content.Headers.ContentType?.CharSet;
        Encoding enc;
        try { enc = string.IsNullOrWhiteSpace(charset) ? Encoding.UTF8 : Encoding.GetEncoding(charset.Trim('"')); }
        catch (ArgumentException) { enc = Encoding.UTF8; }
        var text = enc.GetString(bytes);
        if (string.IsNullOrWhiteSpace(text)) return null;
        _o.Cache?.PutPage(target, text);
        return ToPage(target, text);
    }

    private static PageContent ToPage(string url, string text)
    {
        string title = "";
        foreach (var line in text.Split('\n').Take(5))
            if (line.StartsWith("Title:", StringComparison.Ordinal)) { title = line[6..].Trim(); break; }
        return new PageContent(url, title, text);
    }
}
