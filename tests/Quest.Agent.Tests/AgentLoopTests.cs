using Quest.Agent.Context;
using Quest.Agent.Policies;
using Quest.Core;
using Xunit;

namespace Quest.Agent.Tests;

public class AgentLoopTests
{
    private static readonly DateOnly Day = new(2026, 1, 2);
    private static AgentOptions Opts(int maxTurns = 10) => new() { MaxTurns = maxTurns, Date = Day, Context = new ContextOptions { Enabled = false } };
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Search_visit_answer_episode_records_everything()
    {
        var search = FakeTool.Search(); var visit = FakeTool.Visit();
        var policy = new ScriptedChatClient([Turns.Search("ada society"), Turns.Visit("https://example.org/ada-society"), Turns.Answer("Ada Example")]);
        var agent = new ResearchAgent(policy, [search, visit], Opts());
        var t = await agent.RunAsync("Who founded the society?", new EpisodeInfo("t1", 0, "Ada Example"), cancellationToken: Ct);

        Assert.Equal(Termination.Answer, t.Termination);
        Assert.Equal("Ada Example", t.Prediction);
        Assert.Equal(3, t.Rounds);
        Assert.Equal("t1", t.TaskId);
        Assert.Equal(1, t.ToolCalls["search"]);
        Assert.Equal(1, t.ToolCalls["visit"]);
        var m = t.Messages;
        Assert.Equal(["system", "user", "assistant", "user", "assistant", "user", "assistant"], m.Select(x => x.Role));
        Assert.StartsWith("<tool_response>\nA Google search for 'ada society'", m[3].Content);
        Assert.EndsWith("\n</tool_response>", m[3].Content);
        Assert.Equal(["search", "visit", null], t.Turns.Select(x => x.Tool));
        Assert.All(t.Turns, x => Assert.True(x.ContextTokens > 0));
        Assert.True(t.Turns[1].ContextTokens > t.Turns[0].ContextTokens);
        // the request carried QUEST's sampling and stop sequences
        var req = policy.Requests[0];
        Assert.Equal(["\n<tool_response>", "<tool_response>"], req.Options!.StopSequences);
        Assert.Equal(0.95f, req.Options.TopP);
        Assert.Equal(1.1f, req.Options.PresencePenalty);
        Assert.Equal(2, req.Messages.Count);
        Assert.EndsWith("Current date: 2026-01-02", req.Messages[0].Text);
    }

    [Fact]
    public async Task Three_invalid_turns_in_a_row_end_the_episode_with_corrective_messages()
    {
        var policy = new ScriptedChatClient(["I think it is 4.", "<think>hmm", "<answer>unclosed", Turns.Answer("never reached")]);
        var t = await new ResearchAgent(policy, [FakeTool.Search()], Opts()).RunAsync("q?", cancellationToken: Ct);
        Assert.Equal(Termination.InvalidTurns, t.Termination);
        Assert.Null(t.Prediction);
        Assert.Equal(3, t.InvalidTurns);
        var corrective = t.Messages.Where(x => x.Role == "user").Skip(1).ToList();
        Assert.Equal(3, corrective.Count);
        Assert.All(corrective, c => Assert.StartsWith("[System] Invalid response. Please either: 1) call a tool", c.Content));
        Assert.Contains("unclosed <answer>", corrective[2].Content);
    }

    [Fact]
    public async Task A_valid_call_resets_the_invalid_counter()
    {
        var policy = new ScriptedChatClient(["bad", "bad", Turns.Search("x"), "bad", "bad", Turns.Answer("42")]);
        var t = await new ResearchAgent(policy, [FakeTool.Search()], Opts()).RunAsync("q?", cancellationToken: Ct);
        Assert.Equal(Termination.Answer, t.Termination);
        Assert.Equal(4, t.InvalidTurns);
    }

    [Fact]
    public async Task Malformed_json_and_unknown_tools_come_back_as_tool_errors_and_count_as_invalid()
    {
        var policy = new ScriptedChatClient([
            "<tool_call>{\"name\": \"search\", \"arguments\": {</tool_call>",
            Turns.Call("browse", "{\"url\": \"x\"}"),
            Turns.Call("search", "{\"query\": []}"),
            Turns.Answer("done")]);
        var t = await new ResearchAgent(policy, [FakeTool.Search()], Opts()).RunAsync("q?", cancellationToken: Ct);
        Assert.Equal(Termination.Answer, t.Termination);
        var responses = t.Messages.Where(m => m.IsToolResponse).Select(m => m.Content).ToList();
        Assert.Contains("[Tool Error] Invalid tool call JSON", responses[0]);
        Assert.Contains("[Tool Error] Unknown tool: browse. Available tools: search", responses[1]);
        Assert.Contains("[Tool Error] Missing or empty argument 'query'", responses[2]);
        Assert.Equal(2, t.InvalidTurns); // the empty query is a valid call the tool refuses
        Assert.Equal(["malformed_tool_call", "tool_call", "tool_call", "answer"], t.Turns.Select(x => x.Kind));
    }

    [Fact]
    public async Task Tool_exceptions_and_timeouts_become_tool_errors_and_the_episode_goes_on()
    {
        var boom = FakeTool.Sync("search", _ => throw new IOException("disk on fire"), "query");
        var slow = new FakeTool("visit", async (_, ct) => { await Task.Delay(5000, ct); return "late"; }, "url");
        var policy = new ScriptedChatClient([Turns.Search("x"), Turns.Call("visit", "{\"url\":\"u\"}"), Turns.Answer("ok")]);
        var t = await new ResearchAgent(policy, [boom, slow], Opts() with { ToolTimeout = TimeSpan.FromMilliseconds(100) }).RunAsync("q?", cancellationToken: Ct);
        Assert.Equal(Termination.Answer, t.Termination);
        var r = t.Messages.Where(m => m.IsToolResponse).Select(m => m.Content).ToList();
        Assert.Contains("[Tool Error] search failed: IOException: disk on fire", r[0]);
        Assert.Contains("[Tool Error] visit timed out", r[1]);
    }

    [Fact]
    public async Task Missing_visit_goal_gets_QUESTs_default()
    {
        var visit = FakeTool.Visit();
        var policy = new ScriptedChatClient([Turns.Call("visit", "{\"url\": \"https://a.b/c\"}"), Turns.Answer("x")]);
        await new ResearchAgent(policy, [visit], Opts()).RunAsync("q?", cancellationToken: Ct);
        Assert.Contains("\"goal\":\"Extract relevant information\"", visit.Calls[0]);
    }

    [Fact]
    public async Task Long_tool_responses_are_truncated_in_the_middle()
    {
        var big = FakeTool.Sync("search", _ => new string('a', 5000) + new string('b', 5000), "query");
        var policy = new ScriptedChatClient([Turns.Search("x"), Turns.Answer("x")]);
        var t = await new ResearchAgent(policy, [big], Opts() with { MaxToolResponseChars = 1000 }).RunAsync("q?", cancellationToken: Ct);
        var r = t.Messages[3].Content;
        Assert.True(r.Length < 1100);
        Assert.Contains("truncated", r);
        Assert.Contains("aaa", r); Assert.Contains("bbb", r);
    }

    [Fact]
    public async Task Turn_limit_asks_once_for_a_final_answer()
    {
        var policy = new ScriptedChatClient([Turns.Search("a"), Turns.Search("b"), Turns.Answer("best guess")]);
        var t = await new ResearchAgent(policy, [FakeTool.Search()], Opts(maxTurns: 2)).RunAsync("q?", cancellationToken: Ct);
        Assert.Equal(Termination.MaxTurns, t.Termination);
        Assert.Equal("best guess", t.Prediction);
        Assert.Equal(3, t.Rounds);
        Assert.Equal(ResearchAgent.MaxTurnsMessage, t.Messages[^2].Content);
        Assert.True(t.Turns[^1].FinalRequest);
        Assert.Equal(3, policy.Requests.Count);
    }

    [Fact]
    public async Task Context_limit_asks_once_for_a_final_answer_and_keeps_no_answer_if_none_comes()
    {
        var big = FakeTool.Sync("search", _ => new string('x', 4000), "query");
        var policy = new ScriptedChatClient([Turns.Search("a"), "still thinking"]);
        var t = await new ResearchAgent(policy, [big], Opts() with { MaxContextTokens = 500 }, ApproximateTokenCounter.Instance).RunAsync("q?", cancellationToken: Ct);
        Assert.Equal(Termination.MaxContext, t.Termination);
        Assert.Null(t.Prediction);
        Assert.Equal(ResearchAgent.MaxContextMessage, t.Messages[^2].Content);
    }

    [Fact]
    public async Task Policy_failure_ends_with_policy_error()
    {
        var policy = new ScriptedChatClient([Turns.Search("a"), "!error connection refused"]);
        var t = await new ResearchAgent(policy, [FakeTool.Search()], Opts()).RunAsync("q?", cancellationToken: Ct);
        Assert.Equal(Termination.PolicyError, t.Termination);
        Assert.Contains("connection refused", t.Error);
        Assert.Equal(2, t.Rounds);
    }

    [Fact]
    public async Task Exhausted_script_is_a_policy_error_not_a_crash()
    {
        var t = await new ResearchAgent(new ScriptedChatClient([Turns.Search("a")]), [FakeTool.Search()], Opts()).RunAsync("q?", cancellationToken: Ct);
        Assert.Equal(Termination.PolicyError, t.Termination);
        Assert.Contains("script exhausted", t.Error);
    }

    [Fact]
    public async Task Wall_clock_timeout_ends_with_timeout()
    {
        var policy = new ScriptedChatClient([Turns.Search("a"), "!delay 10000\n" + Turns.Answer("late")]);
        var t = await new ResearchAgent(policy, [FakeTool.Search()], Opts() with { Timeout = TimeSpan.FromMilliseconds(300) }).RunAsync("q?", cancellationToken: Ct);
        Assert.Equal(Termination.Timeout, t.Termination);
        Assert.Null(t.Prediction);
    }

    [Fact]
    public async Task Cancellation_ends_with_cancelled()
    {
        using var cts = new CancellationTokenSource(300);
        var policy = new ScriptedChatClient([Turns.Search("a"), "!delay 10000\n" + Turns.Answer("late")]);
        var t = await new ResearchAgent(policy, [FakeTool.Search()], Opts()).RunAsync("q?", cancellationToken: cts.Token);
        Assert.Equal(Termination.Cancelled, t.Termination);
    }

    [Fact]
    public async Task Events_stream_the_transcript()
    {
        var events = new List<AgentEvent>();
        var policy = new ScriptedChatClient([Turns.Search("a"), Turns.Answer("x")]);
        await new ResearchAgent(policy, [FakeTool.Search()], Opts()).RunAsync("q?", onEvent: events.Add, cancellationToken: Ct);
        Assert.Equal(["assistant", "tool_response", "assistant", "end"], events.Select(e => e.Kind));
    }

    [Fact]
    public async Task Parallel_episodes_each_replay_their_own_script()
    {
        var policy = new ScriptedChatClient([Turns.Search("a"), Turns.Answer("x")]);
        var agent = new ResearchAgent(policy, [FakeTool.Search()], Opts());
        var ts = await Task.WhenAll(Enumerable.Range(0, 8).Select(i => agent.RunAsync("q?", new EpisodeInfo("t", i), cancellationToken: Ct)));
        Assert.All(ts, t => Assert.Equal(Termination.Answer, t.Termination));
    }

    [Fact]
    public void Duplicate_tool_names_are_rejected()
    {
        Assert.Throws<ArgumentException>(() => new ResearchAgent(new ScriptedChatClient(["x"]), [FakeTool.Search(), FakeTool.Search()]));
    }
}

public class HostileReplyTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task A_runaway_reply_is_cut_and_a_huge_tool_argument_is_refused()
    {
        var megabyte = new string('x', 1_000_000);
        var longQuery = Turns.Search(new string('q', 10_000));
        var policy = new ScriptedChatClient([megabyte, longQuery, Turns.Answer("done")]);
        var calls = 0;
        var search = FakeTool.Sync("search", _ => { calls++; return "results"; }, "query");
        var t = await new ResearchAgent(policy, [search], new AgentOptions { MaxTurns = 5, Context = new ContextOptions { Enabled = false } }).RunAsync("q?", cancellationToken: Ct);
        Assert.Equal(Termination.Answer, t.Termination);
        var msgs = t.Sessions[0].Messages;
        Assert.True(msgs[2].Content.Length <= 65_536, "the stored reply is cut");
        Assert.Contains(t.Turns[0].Problems, p => p.Contains("reply cut at 65536"));
        Assert.Equal(0, calls);                                                    // the 10,000-character query never reached the tool
        Assert.Contains("at most 4,096 are accepted", msgs[5].Content);
        Assert.StartsWith("<tool_response>", msgs[5].Content);
    }
}

public class SessionBudgetTests
{
    [Fact]
    public async Task A_spent_session_budget_rolls_over_into_a_new_session_below_the_threshold()
    {
        var policy = new ScriptedChatClient([Turns.Search("a"), Turns.Search("b"), Turns.Search("c"), Turns.Answer("x")]);
        var opts = new AgentOptions
        {
            Date = new DateOnly(2026, 1, 1), MaxSessionResponseTokens = 20,
            Context = new ContextOptions { Threshold = 1_000_000 },
        };
        var t = await new ResearchAgent(policy, [FakeTool.Search()], opts, ApproximateTokenCounter.Instance).RunAsync("q?", cancellationToken: TestContext.Current.CancellationToken);
        Assert.Equal(Termination.Answer, t.Termination);
        Assert.True(t.Condensations.Count >= 2);
        Assert.All(t.Condensations, c => Assert.Equal("session_budget", c.Trigger));
        Assert.Equal(t.Condensations.Count + 1, t.Sessions.Count);
        Assert.Equal(4, t.Rounds); // turn counters are not reset by a rollover
    }
}
