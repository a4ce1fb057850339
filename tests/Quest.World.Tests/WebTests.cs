using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using Quest.World.Corpus;
using Quest.World.Search;
using Quest.World.Tools;
using Quest.World.Web;
using Xunit;

namespace Quest.World.Tests;

/// <summary>A loopback HTTP server on 127.0.0.1 whose answers the test scripts.</summary>
internal sealed class LoopbackServer : IDisposable
{
    private readonly HttpListener _listener = new();
    private readonly Func<HttpListenerRequest, string, (int Status, string Body, string? ContentType)> _handler;
    private readonly Task _loop;
    public List<(string Method, string Path, string Body, string? Key, string? Auth)> Requests { get; } = [];
    public Uri BaseUrl { get; }

    public LoopbackServer(Func<HttpListenerRequest, string, (int, string, string?)> handler)
    {
        _handler = handler;
        var l = new TcpListener(IPAddress.Loopback, 0); l.Start(); int port = ((IPEndPoint)l.LocalEndpoint).Port; l.Stop();
        BaseUrl = new Uri($"http://127.0.0.1:{port}/");
        _listener.Prefixes.Add(BaseUrl.ToString());
        _listener.Start();
        _loop = Task.Run(Loop);
    }

    private async Task Loop()
    {
        while (_listener.IsListening)
        {
            HttpListenerContext ctx;
            try { ctx = await _listener.GetContextAsync(); } catch { return; }
            string body;
            using (var r = new StreamReader(ctx.Request.InputStream, Encoding.UTF8)) body = await r.ReadToEndAsync();
            lock (Requests) Requests.Add((ctx.Request.HttpMethod, ctx.Request.RawUrl ?? "", body, ctx.Request.Headers["X-API-KEY"], ctx.Request.Headers["Authorization"]));
            var (status, text, type) = _handler(ctx.Request, body);
            if (status == 0) { await Task.Delay(3000); status = 200; } // a hang: the client times out first
            var bytes = type?.Contains("latin1") == true ? Encoding.Latin1.GetBytes(text) : Encoding.UTF8.GetBytes(text);
            ctx.Response.StatusCode = status;
            ctx.Response.ContentType = type?.Replace("latin1", "iso-8859-1") ?? "text/plain; charset=utf-8";
            try { await ctx.Response.OutputStream.WriteAsync(bytes); ctx.Response.Close(); } catch { }
        }
    }

    public void Dispose() { try { _listener.Stop(); _listener.Close(); } catch { } }
}

public class WebTests
{
    // Generous per-request timeout: a loaded CI machine can take over a second to answer the first loopback request,
    // and a timeout here would turn into a retry that the request-count assertions would see. Timeout tests set their own.
    private static readonly WebOptions Fast = new() { Attempts = 3, Backoff = TimeSpan.FromMilliseconds(10), Timeout = TimeSpan.FromSeconds(15) };
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private const string SerperJson = """
        {"searchParameters": {"q": "ada"}, "organic": [
          {"title": "Ada Lovelace - Wikipedia", "link": "https://en.wikipedia.org/wiki/Ada_Lovelace", "snippet": "English mathematician.", "date": "Jan 2, 2020",
           "sitelinks": [{"title": "Early life", "link": "https://en.wikipedia.org/wiki/Ada_Lovelace#Early_life"}]},
          {"title": "No link here"},
          {"title": "Ada (language)", "link": "https://ada-lang.io/", "snippet": "A language."}]}
        """;

    [Fact]
    public async Task Serper_client_posts_the_query_parses_results_and_formats_like_QUEST()
    {
        using var server = new LoopbackServer((req, body) => (200, SerperJson, "application/json"));
        using var http = new HttpClient();
        var serper = new SerperSearchProvider(http, "k123", new Uri(server.BaseUrl, "search"), Fast);
        var tool = new SearchTool(serper);
        var text = await tool.CallAsync(JsonDocument.Parse("""{"query": ["ada", "阿达"]}""").RootElement, Ct);
        Assert.StartsWith("A Google search for 'ada' found 2 results:\n\n1. Title: Ada Lovelace - Wikipedia\nLink: https://en.wikipedia.org/wiki/Ada_Lovelace\nDate published: Jan 2, 2020\nSnipptes: English mathematician.\nSitelinks:\n- Early life: https://en.wikipedia.org/wiki/Ada_Lovelace#Early_life\n\n2. Title: Ada (language)", text);
        Assert.Equal(2, server.Requests.Count);
        Assert.Equal("POST", server.Requests[0].Method);
        Assert.Equal("k123", server.Requests[0].Key);
        using var b0 = JsonDocument.Parse(server.Requests[0].Body);
        Assert.Equal("ada", b0.RootElement.GetProperty("q").GetString());
        Assert.Equal("us", b0.RootElement.GetProperty("gl").GetString());
        using var b1 = JsonDocument.Parse(server.Requests[1].Body);
        Assert.Equal("cn", b1.RootElement.GetProperty("gl").GetString());
        Assert.Equal("zh-cn", b1.RootElement.GetProperty("hl").GetString());
    }

    [Fact]
    public async Task Server_errors_are_retried_and_results_cached_but_failures_are_not()
    {
        using var tmp = TestWorld.Temp();
        int calls = 0;
        using var server = new LoopbackServer((req, body) => Interlocked.Increment(ref calls) switch
        {
            1 => (503, "busy", null),
            2 => (200, SerperJson, "application/json"),
            _ => (500, "down", null),
        });
        using var http = new HttpClient();
        var cache = new WebCache(tmp.File("cache.sqlite"));
        var serper = new SerperSearchProvider(http, "k", new Uri(server.BaseUrl, "search"), Fast with { Cache = cache });
        var r1 = await serper.SearchAsync("ada", 10, Ct);
        Assert.Equal(2, r1.Hits.Count);
        Assert.Equal(2, calls);
        var r2 = await serper.SearchAsync("ada", 10, Ct); // from the cache: no request
        Assert.Equal(2, calls);
        Assert.Equal(r1.Hits.Select(h => h.Url), r2.Hits.Select(h => h.Url));
        await Assert.ThrowsAsync<HttpRequestException>(() => serper.SearchAsync("other", 10, Ct)); // 3 failing attempts
        Assert.Equal(5, calls);
        Assert.Equal((1L, 0L), cache.Count());
        var text = await new SearchTool(serper).CallAsync(JsonDocument.Parse("""{"query": ["other"]}""").RootElement, Ct);
        Assert.StartsWith("[Tool Error] search failed for 'other'", text);
    }

    [Fact]
    public async Task Timeouts_become_QUEST_timeout_text()
    {
        using var server = new LoopbackServer((req, body) => (0, "", null));
        using var http = new HttpClient();
        var serper = new SerperSearchProvider(http, "k", new Uri(server.BaseUrl, "search"), Fast with { Attempts = 1, Timeout = TimeSpan.FromMilliseconds(200) });
        var text = await new SearchTool(serper).CallAsync(JsonDocument.Parse("""{"query": ["slow"]}""").RootElement, Ct);
        Assert.Equal(SearchTool.TimeoutText, text);
    }

    [Fact]
    public async Task Reader_fetches_through_the_base_url_caches_and_feeds_visit()
    {
        using var tmp = TestWorld.Temp();
        using var server = new LoopbackServer((req, body) => req.RawUrl!.Contains("missing")
            ? (404, "not found", null)
            : req.RawUrl!.Contains("latin")
                ? (200, "Title: Café\n\nLe café est bon. Ada was born in 1815.", "text/plain; charset=latin1")
                : (200, "Title: Ada Lovelace\nURL Source: https://example.org/ada\n\nMarkdown Content:\nAda Lovelace was born in 1815 in [London](https://example.org/london). She wrote notes.", "text/markdown; charset=utf-8"));
        using var http = new HttpClient();
        var cache = new WebCache(tmp.File("c.sqlite"));
        var reader = new ReaderPageSource(http, server.BaseUrl, "jina-key", Fast with { Cache = cache });
        var page = await reader.FetchAsync("https://example.org/ada", Ct);
        Assert.NotNull(page);
        Assert.Equal("Ada Lovelace", page!.Title);
        Assert.Equal("/https://example.org/ada", server.Requests[0].Path);
        Assert.Equal("Bearer jina-key", server.Requests[0].Auth);
        await reader.FetchAsync("https://example.org/ada", Ct);
        Assert.Single(server.Requests); // cached
        Assert.Null(await reader.FetchAsync("https://example.org/missing", Ct));
        Assert.Null(await reader.FetchAsync("file:///etc/passwd", Ct));
        Assert.Equal(2, server.Requests.Count); // the unsafe URL never left the machine
        var latin = await reader.FetchAsync("example.org/latin", Ct);
        Assert.Contains("Le café est bon", latin!.Text);

        var visit = new VisitTool(reader);
        var text = await visit.CallAsync(JsonDocument.Parse("""{"url": ["https://example.org/ada", "https://example.org/missing"], "goal": "When was Ada Lovelace born?"}""").RootElement, Ct);
        var parts = text.Split("\n=======\n");
        Assert.Contains("born in 1815 in [London](https://example.org/london)", parts[0]);
        Assert.Contains(VisitTool.FailedEvidence, parts[1]);
    }

    [Fact]
    public async Task Reader_failures_become_visit_failure_text_not_exceptions()
    {
        using var server = new LoopbackServer((req, body) => (502, "bad gateway", null));
        using var http = new HttpClient();
        var reader = new ReaderPageSource(http, server.BaseUrl, null, Fast);
        await Assert.ThrowsAsync<HttpRequestException>(() => reader.FetchAsync("https://example.org/x", Ct));
        Assert.Equal(3, server.Requests.Count);
        var text = await new VisitTool(reader).CallAsync(JsonDocument.Parse("""{"url": "https://example.org/x", "goal": "g"}""").RootElement, Ct);
        Assert.Equal(VisitTool.Block("https://example.org/x", "g", VisitTool.FailedEvidence, VisitTool.FailedSummary), text);
        Assert.Null(await reader.AsResolver()("https://example.org/x", Ct));
    }

    [Fact]
    public void Url_safety_refuses_dangerous_schemes_and_accepts_web_and_offline_urls()
    {
        foreach (var bad in new[] { "file:///etc/passwd", "FILE:/x", "javascript:alert(1)", "data:text/html;base64,AAAA", "view-source:https://a.org", " ", "ftp://a.org/x", "mailto:x@y.z" })
            Assert.NotNull(UrlSafety.Check(bad));
        foreach (var ok in new[] { "https://a.org/x?y=1", "http://127.0.0.1:8080/p", "bm25://doc-17", "foldoc.org/Lisp", "world.quest/wiki/A_B" })
            Assert.Null(UrlSafety.Check(ok));
        Assert.Equal("https://foldoc.org/Lisp", UrlSafety.Normalize("foldoc.org/Lisp"));
    }
}
