using Quest.Core;
using System.Net;
using System.Net.Sockets;
using Quest.Agent.Context;
using Quest.Agent.Policies;
using Xunit;

namespace Quest.Agent.Tests;

public class EndpointTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static EndpointPoolChatClient Pool(params Uri[] urls) => new(new EndpointOptions
    {
        Endpoints = urls, Model = "deepresearch", MaxAttempts = 4,
        InitialBackoff = TimeSpan.FromMilliseconds(10), MaxBackoff = TimeSpan.FromMilliseconds(40),
        RequestTimeout = TimeSpan.FromSeconds(5),
    });

    private static ResearchAgent Agent(EndpointPoolChatClient pool, AgentOptions? o = null) =>
        new(pool, [FakeTool.Search()], o ?? new AgentOptions { Date = new DateOnly(2026, 5, 1), MaxTokensPerTurn = 777, Context = new ContextOptions { Enabled = false } }, ApproximateTokenCounter.Instance);

    [Fact]
    public async Task Episode_over_a_loopback_server_sends_QUESTs_request()
    {
        using var server = new OpenAICompatibleServer(new ScriptedChatClient([Turns.Search("ada"), Turns.Answer("Ada")]));
        using var pool = Pool(server.BaseUrl);
        var t = await Agent(pool).RunAsync("Who?", cancellationToken: Ct);

        Assert.Equal(Termination.Answer, t.Termination);
        Assert.Equal("Ada", t.Prediction);
        var reqs = server.Requests;
        Assert.Equal(2, reqs.Count);
        var first = reqs[0];
        Assert.Equal(["system", "user"], first.Roles);
        Assert.EndsWith("Current date: 2026-05-01", first.Messages[0].Content);
        Assert.Equal("Who?", first.Messages[1].Content);
        Assert.Equal(["\n<tool_response>", "<tool_response>"], first.Stop);
        Assert.Equal(1.0, first.Number("temperature")!.Value, 3);
        Assert.Equal(0.95, first.Number("top_p")!.Value, 3);
        Assert.Equal(1.1, first.Number("presence_penalty")!.Value, 3);
        Assert.Equal(777, first.MaxTokens);
        Assert.Equal("deepresearch", first.Model);
        Assert.Null(first.Body["quest.episode"]); // affinity id never goes on the wire
        Assert.Equal(["system", "user", "assistant", "user"], reqs[1].Roles);
        Assert.StartsWith("<tool_response>\nA Google search for 'ada'", reqs[1].Messages[3].Content);
        Assert.True(t.CompletionTokens > 0);
    }

    [Fact]
    public async Task Transient_500s_are_retried()
    {
        using var server = new OpenAICompatibleServer(new ScriptedChatClient([Turns.Answer("ok")]))
        { Faults = (i, _) => i < 2 ? new ServerFault(500) : null };
        using var pool = Pool(server.BaseUrl);
        var t = await Agent(pool).RunAsync("q", cancellationToken: Ct);
        Assert.Equal(Termination.Answer, t.Termination);
        Assert.Equal(3, server.Requests.Count);
    }

    [Fact]
    public async Task Persistent_500s_end_with_policy_error_naming_the_status()
    {
        using var server = new OpenAICompatibleServer(new ScriptedChatClient([Turns.Answer("ok")])) { Faults = (_, _) => new ServerFault(503) };
        using var pool = Pool(server.BaseUrl);
        var t = await Agent(pool).RunAsync("q", cancellationToken: Ct);
        Assert.Equal(Termination.PolicyError, t.Termination);
        Assert.Contains("503", t.Error);
        Assert.Equal(4, server.Requests.Count);
    }

    [Fact]
    public async Task An_empty_choices_list_is_reported_as_such()
    {
        const string empty = "{\"id\":\"x\",\"object\":\"chat.completion\",\"created\":0,\"model\":\"m\",\"choices\":[]}";
        using var server = new OpenAICompatibleServer(new ScriptedChatClient([Turns.Answer("ok")])) { Faults = (_, _) => new ServerFault(Body: empty) };
        using var pool = Pool(server.BaseUrl);
        var t = await Agent(pool).RunAsync("q", cancellationToken: Ct);
        Assert.Equal(Termination.PolicyError, t.Termination);
        Assert.Contains("no choices", t.Error);
        Assert.DoesNotContain("Index was out of range", t.Error);
    }

    [Fact]
    public async Task Client_errors_are_not_retried()
    {
        using var server = new OpenAICompatibleServer(new ScriptedChatClient([Turns.Answer("ok")])) { Faults = (_, _) => new ServerFault(400) };
        using var pool = Pool(server.BaseUrl);
        var t = await Agent(pool).RunAsync("q", cancellationToken: Ct);
        Assert.Equal(Termination.PolicyError, t.Termination);
        Assert.Single(server.Requests);
    }

    [Fact]
    public async Task Refused_connection_ends_with_policy_error()
    {
        var l = new TcpListener(IPAddress.Loopback, 0); l.Start(); int port = ((IPEndPoint)l.LocalEndpoint).Port; l.Stop();
        using var pool = Pool(new Uri($"http://127.0.0.1:{port}/v1"));
        var t = await Agent(pool).RunAsync("q", cancellationToken: Ct);
        Assert.Equal(Termination.PolicyError, t.Termination);
        Assert.Contains("after retries", t.Error);
    }

    [Fact]
    public async Task Fails_over_to_another_endpoint_after_two_failures_and_stays_there()
    {
        using var bad = new OpenAICompatibleServer(new ScriptedChatClient([Turns.Answer("bad")])) { Faults = (_, _) => new ServerFault(500) };
        using var good = new OpenAICompatibleServer(new ScriptedChatClient([Turns.Search("a"), Turns.Search("b"), Turns.Answer("good")]));
        using var pool = Pool(bad.BaseUrl, good.BaseUrl);
        var t = await Agent(pool).RunAsync("q", cancellationToken: Ct); // first episode is assigned endpoint 0
        Assert.Equal(Termination.Answer, t.Termination);
        Assert.Equal("good", t.Prediction);
        Assert.Equal(2, bad.Requests.Count);
        Assert.Equal(3, good.Requests.Count);
        Assert.Equal(1, pool.EndpointOf(t.EpisodeId));
    }

    [Fact]
    public async Task Episodes_keep_their_endpoint()
    {
        using var a = new OpenAICompatibleServer(new ScriptedChatClient([Turns.Search("a"), Turns.Search("b"), Turns.Answer("A")]));
        using var b = new OpenAICompatibleServer(new ScriptedChatClient([Turns.Search("a"), Turns.Search("b"), Turns.Answer("B")]));
        using var pool = Pool(a.BaseUrl, b.BaseUrl);
        var t1 = await Agent(pool).RunAsync("q1", cancellationToken: Ct);
        var t2 = await Agent(pool).RunAsync("q2", cancellationToken: Ct);
        Assert.Equal("A", t1.Prediction);
        Assert.Equal("B", t2.Prediction);
        Assert.Equal(3, a.Requests.Count);
        Assert.Equal(3, b.Requests.Count);
    }

    [Fact]
    public async Task Request_timeouts_are_retried_then_reported()
    {
        using var server = new OpenAICompatibleServer(new ScriptedChatClient([Turns.Answer("ok")])) { Faults = (_, _) => new ServerFault(Delay: TimeSpan.FromSeconds(3)) };
        using var pool = new EndpointPoolChatClient(new EndpointOptions
        {
            Endpoints = [server.BaseUrl], MaxAttempts = 2, InitialBackoff = TimeSpan.FromMilliseconds(10), RequestTimeout = TimeSpan.FromMilliseconds(300),
        });
        var t = await Agent(pool).RunAsync("q", cancellationToken: Ct);
        Assert.Equal(Termination.PolicyError, t.Termination);
        Assert.Contains("timeout", t.Error);
    }

    [Fact]
    public async Task A_timed_out_request_is_retried_and_recovers()
    {
        using var server = new OpenAICompatibleServer(new ScriptedChatClient([Turns.Answer("ok")])) { Faults = (i, _) => i == 0 ? new ServerFault(Delay: TimeSpan.FromSeconds(3)) : null };
        using var pool = new EndpointPoolChatClient(new EndpointOptions
        {
            Endpoints = [server.BaseUrl], MaxAttempts = 3, InitialBackoff = TimeSpan.FromMilliseconds(10), RequestTimeout = TimeSpan.FromMilliseconds(500),
        });
        var t = await Agent(pool).RunAsync("q", cancellationToken: Ct);
        Assert.True(t.Termination == Termination.Answer, t.Error);
    }

    [Fact]
    public async Task Slow_responses_within_the_timeout_are_fine()
    {
        using var server = new OpenAICompatibleServer(new ScriptedChatClient([Turns.Answer("ok")])) { Faults = (_, _) => new ServerFault(Delay: TimeSpan.FromMilliseconds(300)) };
        using var pool = Pool(server.BaseUrl);
        var t = await Agent(pool).RunAsync("q", cancellationToken: Ct);
        Assert.Equal(Termination.Answer, t.Termination);
    }

    [Theory]
    [InlineData("this is not json")]
    [InlineData("{\"choices\": 5}")]
    public async Task Malformed_response_bodies_are_retried_then_reported(string body)
    {
        using var server = new OpenAICompatibleServer(new ScriptedChatClient([Turns.Answer("ok")])) { Faults = (_, _) => new ServerFault(Body: body) };
        using var pool = Pool(server.BaseUrl);
        var t = await Agent(pool).RunAsync("q", cancellationToken: Ct);
        Assert.Equal(Termination.PolicyError, t.Termination);
    }

    [Fact]
    public async Task Dropped_connections_recover()
    {
        using var server = new OpenAICompatibleServer(new ScriptedChatClient([Turns.Answer("ok")])) { Faults = (i, _) => i == 0 ? new ServerFault(Abort: true) : null };
        using var pool = Pool(server.BaseUrl);
        var t = await Agent(pool).RunAsync("q", cancellationToken: Ct);
        Assert.Equal(Termination.Answer, t.Termination);
    }

    [Fact]
    public async Task Cancellation_during_a_slow_call_is_cancelled_not_an_error()
    {
        using var server = new OpenAICompatibleServer(new ScriptedChatClient([Turns.Answer("ok")])) { Faults = (_, _) => new ServerFault(Delay: TimeSpan.FromSeconds(10)) };
        using var pool = Pool(server.BaseUrl);
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        cts.CancelAfter(300);
        var t = await Agent(pool).RunAsync("q", cancellationToken: cts.Token);
        Assert.Equal(Termination.Cancelled, t.Termination);
    }

    [Fact]
    public void Endpoint_urls_are_normalised_and_validated()
    {
        Assert.Equal("http://h:8000/v1", EndpointOptions.NormalizeEndpoint("http://h:8000").ToString());
        Assert.Equal("http://h:8000/v1", EndpointOptions.NormalizeEndpoint("http://h:8000/v1").ToString());
        Assert.Throws<ArgumentException>(() => EndpointOptions.NormalizeEndpoint("ftp://x"));
        Assert.Throws<ArgumentException>(() => EndpointOptions.NormalizeEndpoint("not a url"));
    }
}
