using Quest.Core;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.Extensions.AI;

namespace Quest.Agent.Policies;

/// <summary>A request the server received, as JSON, with accessors for what tests check.</summary>
/// <param name="Path">The URL path.</param>
/// <param name="Body">The JSON body (empty object for GET).</param>
public sealed record RecordedRequest(string Path, JsonObject Body)
{
    /// <summary><c>messages[].role</c>.</summary>
    public IReadOnlyList<string> Roles => Messages.Select(m => m.Role).ToList();
    /// <summary>The messages as (role, text).</summary>
    public IReadOnlyList<ChatTurn> Messages => (Body["messages"] as JsonArray ?? []).Select(m => new ChatTurn(m?["role"]?.GetValue<string>() ?? "", ContentText(m?["content"]))).ToList();
    /// <summary><c>stop</c> as a list.</summary>
    public IReadOnlyList<string> Stop => Body["stop"] switch
    {
        JsonArray a => a.Select(x => x!.GetValue<string>()).ToList(),
        JsonValue v => [v.GetValue<string>()],
        _ => [],
    };
    /// <summary>A number field (temperature, top_p, presence_penalty, max_tokens…), or null.</summary>
    public double? Number(string name) => Body[name] is JsonValue v && v.TryGetValue<double>(out var d) ? d : null;
    /// <summary>The max-tokens field, whichever spelling the client used.</summary>
    public double? MaxTokens => Number("max_completion_tokens") ?? Number("max_tokens");
    /// <summary>The model field.</summary>
    public string? Model => Body["model"]?.GetValue<string>();

    internal static string ContentText(JsonNode? c) => c switch
    {
        JsonValue v when v.TryGetValue<string>(out var s) => s,
        JsonArray parts => string.Concat(parts.Select(p => p?["text"]?.GetValue<string>() ?? "")),
        _ => "",
    };
}

/// <summary>What the server does instead of (or before) answering one request.</summary>
/// <param name="Status">HTTP status to return instead of an answer (0 = answer normally).</param>
/// <param name="Delay">Wait this long first (slow server, client timeouts).</param>
/// <param name="Body">Raw body to send instead of the normal JSON (malformed responses).</param>
/// <param name="Abort">Drop the connection without a response.</param>
public sealed record ServerFault(int Status = 0, TimeSpan? Delay = null, string? Body = null, bool Abort = false);

/// <summary>
/// A small OpenAI-compatible <c>/v1/chat/completions</c> server on 127.0.0.1 (random port) that answers with any
/// <see cref="IChatClient"/>: a <see cref="ScriptedChatClient"/> for tests and demos, or a local model to serve it to
/// other tools. Records every request; <see cref="Faults"/> injects errors, delays and malformed bodies.
/// </summary>
public sealed class OpenAICompatibleServer : IDisposable
{
    private readonly IChatClient _backend;
    private readonly HttpListener _listener = new();
    private readonly List<RecordedRequest> _requests = [];
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _loop;
    private int _count;

    /// <summary>Per-request fault injection: (0-based request index, request) → fault or null.</summary>
    public Func<int, RecordedRequest, ServerFault?>? Faults { get; set; }

    /// <summary>Base URL including <c>/v1</c>.</summary>
    public Uri BaseUrl { get; }

    /// <summary>The port.</summary>
    public int Port { get; }

    /// <summary>Every chat request received, in order.</summary>
    public IReadOnlyList<RecordedRequest> Requests { get { lock (_requests) return _requests.ToList(); } }

    /// <summary>Starts the server on <paramref name="port"/> (0 = a free port).</summary>
    public OpenAICompatibleServer(IChatClient backend, int port = 0)
    {
        _backend = backend ?? throw new ArgumentNullException(nameof(backend));
        for (int attempt = 0; ; attempt++)
        {
            int p = port != 0 ? port : FreePort();
            try
            {
                _listener.Prefixes.Clear();
                _listener.Prefixes.Add($"http://127.0.0.1:{p}/");
                _listener.Start();
                Port = p;
                break;
            }
            catch (HttpListenerException) when (port == 0 && attempt < 5) { }
        }
        BaseUrl = new Uri($"http://127.0.0.1:{Port}/v1");
        _loop = Task.Run(LoopAsync);
    }

    private static int FreePort()
    {
        var l = new TcpListener(IPAddress.Loopback, 0);
        l.Start();
        int p = ((IPEndPoint)l.LocalEndpoint).Port;
        l.Stop();
        return p;
    }

    private async Task LoopAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            HttpListenerContext ctx;
            try { ctx = await _listener.GetContextAsync().ConfigureAwait(false); }
            catch (Exception) when (_stop.IsCancellationRequested || !_listener.IsListening) { return; }
            catch (HttpListenerException) { continue; }
            _ = Task.Run(() => HandleAsync(ctx));
        }
    }

    private async Task HandleAsync(HttpListenerContext ctx)
    {
        var res = ctx.Response;
        try
        {
            var path = ctx.Request.Url?.AbsolutePath ?? "";
            if (ctx.Request.HttpMethod == "GET" && path.EndsWith("/models", StringComparison.Ordinal))
            {
                await WriteAsync(res, 200, "{\"object\":\"list\",\"data\":[{\"id\":\"scripted\",\"object\":\"model\"}]}").ConfigureAwait(false);
                return;
            }
            if (ctx.Request.HttpMethod != "POST" || !path.EndsWith("/chat/completions", StringComparison.Ordinal))
            {
                await WriteAsync(res, 404, "{\"error\":{\"message\":\"not found\"}}").ConfigureAwait(false);
                return;
            }
            string text;
            using (var r = new StreamReader(ctx.Request.InputStream, Encoding.UTF8)) text = await r.ReadToEndAsync().ConfigureAwait(false);
            JsonObject body;
            try { body = JsonNode.Parse(text) as JsonObject ?? throw new JsonException("not an object"); }
            catch (JsonException ex) { await WriteAsync(res, 400, Error("invalid JSON: " + ex.Message)).ConfigureAwait(false); return; }
            var rec = new RecordedRequest(path, body);
            int index;
            lock (_requests) { _requests.Add(rec); index = _count++; }

            var fault = Faults?.Invoke(index, rec);
            if (fault?.Delay is { } d) await Task.Delay(d, _stop.Token).ConfigureAwait(false);
            if (fault is { Abort: true }) { res.Abort(); return; }
            if (fault is { Status: > 0 }) { await WriteAsync(res, fault.Status, fault.Body ?? Error($"injected {fault.Status}")).ConfigureAwait(false); return; }
            if (fault?.Body is not null) { await WriteAsync(res, 200, fault.Body).ConfigureAwait(false); return; }

            var messages = rec.Messages.Select(ResearchAgent.ToChatMessage).ToList();
            var options = new ChatOptions
            {
                ModelId = rec.Model,
                Temperature = (float?)rec.Number("temperature"),
                TopP = (float?)rec.Number("top_p"),
                PresencePenalty = (float?)rec.Number("presence_penalty"),
                MaxOutputTokens = rec.MaxTokens is { } mt ? (int)mt : null,
                StopSequences = rec.Stop.Count > 0 ? [.. rec.Stop] : null,
            };
            ChatResponse resp;
            try { resp = await _backend.GetResponseAsync(messages, options, _stop.Token).ConfigureAwait(false); }
            catch (Exception ex) when (!_stop.IsCancellationRequested) { await WriteAsync(res, 500, Error(ex.Message)).ConfigureAwait(false); return; }
            var content = resp.Text ?? "";
            long created = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
            var model = rec.Model ?? "scripted";
            int completion = (int?)resp.Usage?.OutputTokenCount ?? Math.Max(1, content.Length / 4);
            if (body["stream"]?.GetValue<bool>() == true)
            {
                var chunk = new JsonObject
                {
                    ["id"] = $"chatcmpl-{index}", ["object"] = "chat.completion.chunk", ["created"] = created, ["model"] = model,
                    ["choices"] = new JsonArray(new JsonObject { ["index"] = 0, ["delta"] = new JsonObject { ["role"] = "assistant", ["content"] = content }, ["finish_reason"] = "stop" }),
                };
                res.ContentType = "text/event-stream";
                await WriteAsync(res, 200, $"data: {chunk.ToJsonString()}\n\ndata: [DONE]\n\n", "text/event-stream").ConfigureAwait(false);
                return;
            }
            var json = new JsonObject
            {
                ["id"] = $"chatcmpl-{index}", ["object"] = "chat.completion", ["created"] = created, ["model"] = model,
                ["choices"] = new JsonArray(new JsonObject
                {
                    ["index"] = 0,
                    ["message"] = new JsonObject { ["role"] = "assistant", ["content"] = content },
                    ["finish_reason"] = resp.FinishReason == ChatFinishReason.Length ? "length" : "stop",
                }),
                ["usage"] = new JsonObject { ["prompt_tokens"] = 0, ["completion_tokens"] = completion, ["total_tokens"] = completion },
            };
            await WriteAsync(res, 200, json.ToJsonString()).ConfigureAwait(false);
        }
        catch (Exception)
        {
            try { res.Abort(); } catch (Exception) { }
        }
    }

    private static string Error(string message) => new JsonObject { ["error"] = new JsonObject { ["message"] = message, ["type"] = "server_error" } }.ToJsonString();

    private static async Task WriteAsync(HttpListenerResponse res, int status, string body, string contentType = "application/json")
    {
        var bytes = Encoding.UTF8.GetBytes(body);
        res.StatusCode = status;
        res.ContentType = contentType;
        res.ContentLength64 = bytes.Length;
        await res.OutputStream.WriteAsync(bytes).ConfigureAwait(false);
        res.Close();
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        _stop.Cancel();
        try { _listener.Stop(); _listener.Close(); } catch (Exception) { }
        try { _loop.Wait(TimeSpan.FromSeconds(2)); } catch (Exception) { }
        _stop.Dispose();
    }
}
