using Polly;
using Polly.Retry;
using System.ClientModel;
using System.ClientModel.Primitives;
using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using Microsoft.Extensions.AI;
using OpenAI;

namespace Quest.Agent.Policies;

/// <summary>Settings of an OpenAI-compatible endpoint pool (vLLM, SGLang, llama.cpp server, …).</summary>
public sealed record EndpointOptions
{
    /// <summary>Base URLs, e.g. <c>http://127.0.0.1:8000/v1</c> (a bare host gets <c>/v1</c>).</summary>
    public required IReadOnlyList<Uri> Endpoints { get; init; }
    /// <summary>Served model name (QUEST: "deepresearch").</summary>
    public string Model { get; init; } = "deepresearch";
    /// <summary>API key (local servers accept anything).</summary>
    public string ApiKey { get; init; } = "EMPTY";
    /// <summary>Tries per call (QUEST: 10).</summary>
    public int MaxAttempts { get; init; } = 10;
    /// <summary>First backoff; doubles per try.</summary>
    public TimeSpan InitialBackoff { get; init; } = TimeSpan.FromSeconds(1);
    /// <summary>Backoff cap (QUEST: 30 s).</summary>
    public TimeSpan MaxBackoff { get; init; } = TimeSpan.FromSeconds(30);
    /// <summary>Consecutive failures on one endpoint before an episode moves to another (QUEST: 2).</summary>
    public int FailoverAfter { get; init; } = 2;
    /// <summary>Time limit per HTTP request.</summary>
    public TimeSpan RequestTimeout { get; init; } = TimeSpan.FromMinutes(10);

    /// <summary>Normalises a base URL: adds <c>/v1</c> when the path is empty.</summary>
    public static Uri NormalizeEndpoint(string url)
    {
        if (!Uri.TryCreate(url.Trim(), UriKind.Absolute, out var u) || (u.Scheme != "http" && u.Scheme != "https"))
            throw new ArgumentException($"'{url}' is not an http(s) URL", nameof(url));
        if (u.AbsolutePath is "" or "/") u = new Uri(u, "/v1");
        return u;
    }
}

/// <summary>
/// An <see cref="IChatClient"/> over a list of OpenAI-compatible endpoints (Microsoft.Extensions.AI.OpenAI): every
/// episode sticks to one endpoint (so the server can reuse its KV cache), retries with exponential backoff, and
/// fails over to another endpoint after <see cref="EndpointOptions.FailoverAfter"/> consecutive failures. When all
/// tries fail it throws <see cref="PolicyException"/> (the agent ends the episode with <c>policy_error</c>).
/// </summary>
public sealed class EndpointPoolChatClient : IChatClient
{
    private sealed class Affinity { public int Index; public int Failures; }

    private readonly IChatClient[] _clients;
    private readonly ConcurrentDictionary<string, Affinity> _affinity = new();
    private int _next = -1;

    /// <summary>Settings.</summary>
    public EndpointOptions Options { get; }

    /// <summary>Creates the pool; <paramref name="factory"/> replaces the OpenAI client per endpoint (tests).</summary>
    public EndpointPoolChatClient(EndpointOptions options, Func<Uri, IChatClient>? factory = null)
    {
        Options = options ?? throw new ArgumentNullException(nameof(options));
        if (options.Endpoints.Count == 0) throw new ArgumentException("no endpoints", nameof(options));
        if (options.MaxAttempts < 1) throw new ArgumentOutOfRangeException(nameof(options), "MaxAttempts must be at least 1");
        _clients = options.Endpoints.Select(u => (factory ?? CreateOpenAI)(u)).ToArray();
    }

    /// <summary>Creates a pool from <c>URL[,URL2…]</c> and a model name.</summary>
    public static EndpointPoolChatClient Create(string urls, string model, string? apiKey = null) =>
        new(new EndpointOptions
        {
            Endpoints = urls.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(EndpointOptions.NormalizeEndpoint).ToList(),
            Model = model,
            ApiKey = apiKey ?? Environment.GetEnvironmentVariable("OPENAI_API_KEY") ?? "EMPTY",
        });

    private IChatClient CreateOpenAI(Uri endpoint)
    {
        var o = new OpenAIClientOptions
        {
            Endpoint = endpoint,
            NetworkTimeout = Options.RequestTimeout,
            RetryPolicy = new ClientRetryPolicy(maxRetries: 0), // retries are ours (with failover)
        };
        return new OpenAI.Chat.ChatClient(Options.Model, new ApiKeyCredential(Options.ApiKey), o).AsIChatClient();
    }

    /// <summary>Which endpoint index an episode currently uses (for tests and logs), or null if unseen.</summary>
    public int? EndpointOf(string episodeId) => _affinity.TryGetValue(episodeId, out var a) ? a.Index : null;

    /// <summary>Forgets an episode's affinity (call when an episode ends; the agent does not need to).</summary>
    public void ForgetEpisode(string episodeId) => _affinity.TryRemove(episodeId, out _);

    /// <inheritdoc/>
    public async Task<ChatResponse> GetResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default)
    {
        var key = EpisodeAffinity.Get(options) ?? "";
        if (_affinity.Count > 100_000) _affinity.Clear();
        var aff = _affinity.GetOrAdd(key, _ => new Affinity { Index = (int)((uint)Interlocked.Increment(ref _next) % (uint)_clients.Length) });
        var sendOptions = EpisodeAffinity.Strip(options)?.Clone() ?? new ChatOptions();
        sendOptions.ModelId ??= Options.Model;
        var list = messages as IList<ChatMessage> ?? messages.ToList();
        // Polly's retry: exponential backoff capped at MaxBackoff; before each retry the episode's endpoint fails over
        // to the next one after FailoverAfter failures in a row (the affinity keeps an episode on one endpoint otherwise).
        var builder = new ResiliencePipelineBuilder<ChatResponse>();
        if (Options.MaxAttempts > 1) builder.AddRetry(new RetryStrategyOptions<ChatResponse>
        {
            MaxRetryAttempts = Math.Max(0, Options.MaxAttempts - 1), Delay = Options.InitialBackoff, MaxDelay = Options.MaxBackoff,
            BackoffType = DelayBackoffType.Exponential, UseJitter = false,
            ShouldHandle = args => ValueTask.FromResult(args.Outcome.Exception is { } e && !(e is OperationCanceledException && cancellationToken.IsCancellationRequested) && IsRetryable(e)),
            OnRetry = _ =>
            {
                lock (aff)
                {
                    aff.Failures++;
                    if (aff.Failures >= Options.FailoverAfter && _clients.Length > 1) { aff.Index = (aff.Index + 1) % _clients.Length; aff.Failures = 0; }
                }
                return ValueTask.CompletedTask;
            },
        });
        var pipeline = builder.Build();
        try
        {
            var r = await pipeline.ExecuteAsync(async token =>
            {
                int idx;
                lock (aff) idx = aff.Index;
                return await _clients[idx].GetResponseAsync(list, sendOptions, token).ConfigureAwait(false);
            }, cancellationToken).ConfigureAwait(false);
            lock (aff) aff.Failures = 0;
            return r;
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested) { throw; }
        catch (Exception last)
        {
            throw new PolicyException($"endpoint call failed after retries ({Options.Endpoints.Count} endpoint(s)): {Describe(last)}", last);
        }
    }

    /// <summary>
    /// Sends one tiny request (one token) to every endpoint, once, with no retry and at most <paramref name="timeout"/>
    /// each: an evaluation checks this before its first episode, so a server that is down or serves another model name
    /// fails the command in seconds instead of turning every episode into a <c>policy_error</c> after minutes of retries.
    /// Returns one line per endpoint; throws <see cref="PolicyException"/> naming each endpoint and its error when none
    /// answers.
    /// </summary>
    public async Task<IReadOnlyList<string>> ProbeAsync(TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        var lines = new List<string>();
        var failures = new List<string>();
        for (int i = 0; i < _clients.Length; i++)
        {
            using var cts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            cts.CancelAfter(timeout);
            var clock = System.Diagnostics.Stopwatch.StartNew();
            try
            {
                await _clients[i].GetResponseAsync([new ChatMessage(ChatRole.User, "Reply with OK.")],
                    new ChatOptions { ModelId = Options.Model, MaxOutputTokens = 1, Temperature = 0 }, cts.Token).ConfigureAwait(false);
                lines.Add($"{Options.Endpoints[i]} model '{Options.Model}': answered in {clock.Elapsed.TotalSeconds:0.0} s");
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested) { throw; }
            catch (Exception ex)
            {
                var why = ex is OperationCanceledException ? $"no answer within {timeout.TotalSeconds:0} s" : Describe(ex);
                failures.Add($"{Options.Endpoints[i]} model '{Options.Model}': {why}");
                lines.Add(failures[^1]);
            }
        }
        if (failures.Count == _clients.Length)
            throw new PolicyException($"the policy could not be reached: {string.Join("; ", failures)}. Start the OpenAI-compatible server (vLLM, SGLang) or fix the URL and the model name after '#'");
        return lines;
    }

    /// <summary>Client errors other than 408/429 are not retried (the request itself is wrong, e.g. context too long).</summary>
    private static bool IsRetryable(Exception ex) => ex is not ClientResultException cre || cre.Status is 0 or 408 or 429 or >= 500;

    private static string Describe(Exception? ex) => ex switch
    {
        null => "no attempt made",
        ClientResultException c => $"HTTP {c.Status}: {FirstLine(c.Message)}",
        // the OpenAI client indexes choices[0] of a 200 reply: a reply with an empty "choices" list surfaces as this
        ArgumentOutOfRangeException => "the endpoint answered with no choices (an empty \"choices\" list): the server generated nothing for this request",
        _ => $"{ex.GetType().Name}: {FirstLine(ex.Message)}",
    };

    private static string FirstLine(string s) { int i = s.IndexOf('\n'); return i < 0 ? s : s[..i]; }

    /// <inheritdoc/>
    public async IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var r = await GetResponseAsync(messages, options, cancellationToken).ConfigureAwait(false);
        foreach (var u in r.ToChatResponseUpdates()) yield return u;
    }

    /// <inheritdoc/>
    public object? GetService(Type serviceType, object? serviceKey = null) =>
        serviceType == typeof(ChatClientMetadata) ? new ChatClientMetadata("openai-compatible", Options.Endpoints[0], Options.Model)
        : serviceType.IsInstanceOfType(this) ? this : null;

    /// <inheritdoc/>
    public void Dispose() { foreach (var c in _clients) c.Dispose(); }
}
