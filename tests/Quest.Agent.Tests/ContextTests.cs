using Quest.Core;
using Microsoft.Extensions.AI;
using Quest.Agent.Context;
using Quest.Agent.Policies;
using Quest.Testing;
using Xunit;

namespace Quest.Agent.Tests;

public class ContextTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;
    private static readonly ApproximateTokenCounter Approx = ApproximateTokenCounter.Instance;

    private static List<ChatTurn> History(int rounds, int pad = 0)
    {
        var h = new List<ChatTurn> { ChatTurn.System("sys"), ChatTurn.User("Who founded the society?") };
        for (int i = 0; i < rounds; i++)
        {
            h.Add(ChatTurn.Assistant(Turns.Search($"query {i}")));
            h.Add(ChatTurn.User($"<tool_response>\nA Google search for 'query {i}' found 1 results:\n\n1. Title: Page {i}\nLink: https://ex.org/{i}\nSnipptes: Fact number {i} about the society.\n{new string('.', pad)}</tool_response>"));
        }
        h.Add(ChatTurn.Assistant(Turns.Visit("https://ex.org/0")));
        h.Add(ChatTurn.User("<tool_response>\nThe useful information in https://ex.org/0 for user goal find the founder as follows: \n\nEvidence in page: \nIt was founded by Ada.\n\nSummary: \nAda Example founded the society in 1901.\n\n\n</tool_response>"));
        return h;
    }

    [Fact]
    public async Task Rule_condenser_builds_a_dr_state_from_tool_calls_and_responses()
    {
        var r = await new RuleBasedCondenser().CondenseAsync(History(3).Skip(1).ToList(), null, Ct);
        Assert.True(r.Success);
        var s = r.State!;
        Assert.Equal("dr_state", s.Version);
        Assert.Equal(["query 0", "query 1", "query 2"], s.SearchQueries.Select(q => q.Q));
        Assert.Equal("https://ex.org/0", Assert.Single(s.VisitedSources).Url);
        var trusted = Assert.Single(s.InformationState.Trusted);
        Assert.Equal("T1", trusted.Id);
        Assert.Contains("Ada Example founded the society in 1901", trusted.Text);
        Assert.Equal(["https://ex.org/0"], trusted.Sources);
        // the snippet from the visited page left uncertain; the other two stay uncertain with a concrete need
        Assert.Equal(2, s.InformationState.Uncertain.Count);
        Assert.All(s.InformationState.Uncertain, c => Assert.StartsWith("visit https://ex.org/", c.Need));
        Assert.Equal(["C1", "C2"], s.InformationState.Uncertain.Select(c => c.Id));
        Assert.DoesNotContain("\"need\"", System.Text.Json.JsonSerializer.Serialize(s.InformationState.Trusted));
    }

    [Fact]
    public void Merge_never_loses_entries_and_dedupes()
    {
        var prev = new ResearchState();
        prev.SearchQueries.Add(new SearchQueryEntry { Q = "a", Intent = "i" });
        prev.VisitedSources.Add(new VisitedSource { Url = "u1", Note = "n" });
        prev.InformationState.Uncertain.Add(new Claim { Id = "C1", Text = "X is 5", Sources = ["s"], Reason = "snippet", Need = "visit u2" });
        prev.InformationState.Trusted.Add(new Claim { Id = "T1", Text = "Y is 6", Sources = ["u1"], Reason = "page" });
        var next = new ResearchState();
        next.SearchQueries.Add(new SearchQueryEntry { Q = "b", Intent = "j" });
        next.SearchQueries.Add(new SearchQueryEntry { Q = "b", Intent = "dup" });
        next.InformationState.Trusted.Add(new Claim { Id = "T1", Text = "X is 5", Sources = ["u2"], Reason = "page says so" }); // moved up
        var m = ResearchState.Merge(prev, next);
        Assert.Equal(["b", "a"], m.SearchQueries.Select(q => q.Q));
        Assert.Equal("u1", Assert.Single(m.VisitedSources).Url);
        Assert.Equal(["X is 5", "Y is 6"], m.InformationState.Trusted.Select(c => c.Text));
        Assert.Equal(["T1", "T2"], m.InformationState.Trusted.Select(c => c.Id));
        Assert.Empty(m.InformationState.Uncertain);
    }

    [Theory]
    [InlineData("{\"version\":\"dr_state\",\"search_queries\":[{\"q\":\"a\",\"intent\":\"b\"}],\"visited_sources\":[],\"information_state\":{\"trusted\":[],\"untrusted\":[],\"uncertain\":[]}}")]
    [InlineData("Here you go:\n```json\n{\"search_queries\":[{\"q\":\"a\",\"intent\":\"b\"}]}\n```\nDone.")]
    [InlineData("Sure! {\"search_queries\":[{\"q\":\"a\",\"intent\":\"b\"}], \"visited_sources\": []} hope this helps")]
    public void State_parse_order_direct_fenced_braces(string text)
    {
        Assert.True(ResearchState.TryParse(text, out var s, out var err), err);
        Assert.Equal("a", Assert.Single(s!.SearchQueries).Q);
    }

    [Theory]
    [InlineData("[Memory] prompt below threshold, not called")]
    [InlineData("I could not do it")]
    [InlineData("{\"foo\": 1}")]
    [InlineData("{\"search_queries\": [")]
    [InlineData("")]
    public void State_parse_failures_are_reported(string text)
    {
        Assert.False(ResearchState.TryParse(text, out var s, out var err));
        Assert.Null(s);
        Assert.False(string.IsNullOrEmpty(err));
    }

    [Fact]
    public void State_section_replaces_the_old_one()
    {
        var s = new ResearchState();
        s.SearchQueries.Add(new SearchQueryEntry { Q = "a", Intent = "b" });
        var once = StateSection.Apply("Question?", s);
        Assert.StartsWith("Question?\n\n====================\nRESEARCH STATE SUMMARY (prev_state)\n====================\n", once);
        Assert.Contains("  \"version\": \"dr_state\"", once);
        var twice = StateSection.Apply(once, s);
        Assert.Equal(once, twice);
        Assert.Equal("Question?", StateSection.Remove(twice));
    }

    [Fact]
    public async Task Condenser_strategy_resets_to_system_and_question_with_state()
    {
        var cm = new ContextManager(new ContextOptions { Threshold = 50 }, Approx, new RuleBasedCondenser());
        var h = History(3, pad: 3000);
        var r = await cm.CompressAsync(h, round: 4, session: 0, Ct);
        Assert.True(r.Event.Success);
        Assert.Equal(2, r.Messages!.Count);
        Assert.Equal("sys", r.Messages[0].Content);
        Assert.StartsWith("Who founded the society?\n\n====================\nRESEARCH STATE SUMMARY (prev_state)", r.Messages[1].Content);
        Assert.NotNull(cm.State);
        Assert.True(r.Event.TokensAfter < r.Event.TokensBefore);
        Assert.Equal(10, r.Event.MessagesBefore);
    }

    [Fact]
    public async Task Threshold_grows_by_1_2_to_1_5_when_still_over_and_resets_when_under()
    {
        var cm = new ContextManager(new ContextOptions { Threshold = 10, Seed = 7 }, Approx);
        var r = await cm.CompressAsync(History(3), 1, 0, Ct);
        Assert.True(r.Event.TokensAfter >= 10);
        Assert.InRange(r.Event.ThresholdAfter, 12, 15);
        var cm2 = new ContextManager(new ContextOptions { Threshold = 100_000 }, Approx);
        var r2 = await cm2.CompressAsync(History(3), 1, 0, Ct);
        Assert.Equal(100_000, r2.Event.ThresholdAfter);
        // same seed, same growth
        var cm3 = new ContextManager(new ContextOptions { Threshold = 10, Seed = 7 }, Approx);
        Assert.Equal(r.Event.ThresholdAfter, (await cm3.CompressAsync(History(3), 1, 0, Ct)).Event.ThresholdAfter);
        // fixed threshold (RL) never grows
        var cm4 = new ContextManager(new ContextOptions { Threshold = 10, AdaptiveThreshold = false }, Approx);
        Assert.Equal(10, (await cm4.CompressAsync(History(3), 1, 0, Ct)).Event.ThresholdAfter);
    }

    [Fact]
    public async Task Discard_all_forgets_everything()
    {
        var cm = new ContextManager(new ContextOptions { Threshold = 10, Strategy = ContextStrategy.DiscardAll }, Approx);
        var h = History(2);
        h[1] = ChatTurn.User(StateSection.Apply("Who founded the society?", new ResearchState()));
        var r = await cm.CompressAsync(h, 1, 0, Ct);
        Assert.Equal(["sys", "Who founded the society?"], r.Messages!.Select(m => m.Content));
        Assert.Null(cm.State);
        Assert.Equal(10, cm.Threshold);
    }

    [Fact]
    public async Task Hide_tool_result_keeps_all_assistant_turns_and_only_the_last_tool_response()
    {
        var cm = new ContextManager(new ContextOptions { Threshold = 10, Strategy = ContextStrategy.HideToolResult }, Approx);
        var h = History(3);
        var r = await cm.CompressAsync(h, 1, 0, Ct);
        var m = r.Messages!;
        Assert.Equal(4, m.Count(x => x.Role == "assistant"));
        Assert.Equal(h[^1], Assert.Single(m, x => x.IsToolResponse));
        Assert.Equal(h[^1], m[^1]);
    }

    [Fact]
    public async Task Llm_condenser_sends_QUESTs_prompt_and_merges_the_reply()
    {
        var client = new ScriptedReplies("```json\n{\"version\":\"dr_state\",\"search_queries\":[{\"q\":\"new\",\"intent\":\"x\"}],\"visited_sources\":[],\"information_state\":{\"trusted\":[],\"untrusted\":[],\"uncertain\":[]}}\n```");
        var prev = new ResearchState(); prev.SearchQueries.Add(new SearchQueryEntry { Q = "old", Intent = "y" });
        var r = await new LlmCondenser(client).CondenseAsync([ChatTurn.User("q"), ChatTurn.Assistant("a")], prev, Ct);
        Assert.True(r.Success);
        Assert.Equal(["new", "old"], r.State!.SearchQueries.Select(q => q.Q));
        var user = client.Calls[0][1].Text;
        Assert.StartsWith("You are given the following inputs for state summarization.\n\nevents:\n[", user);
        Assert.Contains("\"role\": \"assistant\"", user);
        Assert.Contains("prev_state:\n{", user);
        Assert.EndsWith("IMPORTANT: If no state changes are warranted, return prev_state unchanged.", user);
    }

    [Fact]
    public async Task Failed_condensation_changes_nothing_and_is_reported_in_the_trajectory()
    {
        var condenser = new LlmCondenser(new ScriptedReplies("sorry, I cannot"));
        var policy = new ScriptedChatClient([Turns.Search("a"), Turns.Search("b"), Turns.Answer("x")]);
        var opts = new AgentOptions { Date = new DateOnly(2026, 1, 1), Context = new ContextOptions { Threshold = 10 } };
        var t = await new ResearchAgent(policy, [FakeTool.Search()], opts, Approx, condenser).RunAsync("q?", cancellationToken: Ct);
        Assert.Equal(Termination.Answer, t.Termination);
        Assert.Equal(2, t.Condensations.Count);
        Assert.All(t.Condensations, c => { Assert.False(c.Success); Assert.NotNull(c.Error); Assert.Equal(c.TokensBefore, c.TokensAfter); });
        Assert.Single(t.Sessions);
        Assert.Equal(7, t.Messages.Count);
    }

    [Fact]
    public async Task Each_reset_starts_a_session_that_keeps_its_messages_and_start_state()
    {
        var policy = new ScriptedChatClient([Turns.Search("a"), Turns.Visit("https://example.org/a"), Turns.Search("b"), Turns.Answer("Ada")]);
        var opts = new AgentOptions { Date = new DateOnly(2026, 1, 1), Context = new ContextOptions { Threshold = 600 } };
        var t = await new ResearchAgent(policy, [FakeTool.Search(), FakeTool.Visit()], opts, Approx).RunAsync("Who founded it?", cancellationToken: Ct);
        Assert.Equal(Termination.Answer, t.Termination);
        Assert.True(t.Sessions.Count >= 2, $"sessions: {t.Sessions.Count}");
        Assert.Null(t.Sessions[0].StartState);
        Assert.Equal("condenser", t.Sessions[0].EndedBy);
        Assert.NotNull(t.Sessions[1].StartState);
        Assert.Contains("RESEARCH STATE SUMMARY (prev_state)", t.Sessions[1].Messages[1].Content);
        Assert.Equal(t.Condensations.Count(c => c.Success) + 1, t.Sessions.Count);
        // the policy saw the compressed history after the reset
        Assert.Contains(policy.Requests, r => r.Messages.Count == 2 && r.Messages[1].Text.Contains("RESEARCH STATE SUMMARY"));
        // every turn's context stays under threshold*1.5 + one turn
        Assert.Equal(4, t.Turns.Count);
    }

    [Fact]
    public void Token_counters_count_the_chat_format()
    {
        var h = new[] { ChatTurn.System("You are helpful."), ChatTurn.User("Hello there, how are you today?") };
        var cl = TiktokenTokenCounter.TryCl100k();
        Assert.NotNull(cl);
        int n = cl!.CountTokens(h);
        Assert.InRange(n, 15, 40);
        Assert.InRange(Approx.CountTokens(h), n / 2, n * 2);
        Assert.Contains("<|im_start|>system\nYou are helpful.<|im_end|>\n", ChatFormat.Render(h));
    }
}

public class RuleCondenserEdgeTests
{
    [Fact]
    public async Task Failed_visits_are_noted_not_trusted()
    {
        var events = new List<ChatTurn>
        {
            ChatTurn.User("q"),
            ChatTurn.Assistant(Turns.Visit("https://x.org/a")),
            ChatTurn.User("<tool_response>\nThe useful information in https://x.org/a for user goal find the founder as follows: \n\nEvidence in page: \nThe provided webpage content could not be accessed. Please check the URL or file format.\n\nSummary: \nThe webpage content could not be processed, and therefore, no information is available.\n\n\n</tool_response>"),
            ChatTurn.Assistant(Turns.Search("")),
            ChatTurn.User("<tool_response>\n[Tool Error] Missing or empty argument 'query' for tool 'search'.\n</tool_response>"),
        };
        var r = await new RuleBasedCondenser().CondenseAsync(events, null, TestContext.Current.CancellationToken);
        Assert.True(r.Success);
        Assert.Equal("not accessible", Assert.Single(r.State!.VisitedSources).Note);
        Assert.Empty(r.State.InformationState.Trusted);
        Assert.Empty(r.State.SearchQueries);
    }
}

public class TokenCountCacheTests
{
    private sealed class CountingCounter : Quest.Core.ITokenCounter
    {
        public int Calls;
        public int CountTokens(string text) { Interlocked.Increment(ref Calls); return text.Length; }
    }

    [Fact]
    public void History_counts_are_cached_per_message_and_match_the_whole_render()
    {
        var c = new CountingCounter();
        var h = new List<ChatTurn> { ChatTurn.System("sys"), ChatTurn.User("question") };
        Assert.Equal(ChatFormat.Render(h).Length, c.CountTokens(h));
        h.Add(ChatTurn.Assistant("turn"));
        Assert.Equal(ChatFormat.Render(h).Length, c.CountTokens(h));
        Assert.Equal(3, c.Calls); // the first two messages were not counted again
        var cl = TiktokenTokenCounter.TryCl100k()!;
        var big = Enumerable.Range(0, 20).Select(i => ChatTurn.User($"<tool_response>\nresult {i}: the society was founded in 19{i:00}.\n</tool_response>")).ToList();
        Assert.InRange(cl.CountTokens(big), cl.CountTokens(ChatFormat.Render(big)) - 20, cl.CountTokens(ChatFormat.Render(big)) + 20);
    }
}
