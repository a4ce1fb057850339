using System.Text.Json;
using Microsoft.Extensions.AI;
using Quest.Core;
using Quest.World.Corpus;
using Quest.World.Generation;
using Quest.World.Graph;
using Quest.World.Search;
using Quest.World.Tools;
using Quest.Testing;
using Xunit;

namespace Quest.World.Tests;

public class ToolTests
{
    private static JsonElement Args(string json) => JsonDocument.Parse(json).RootElement.Clone();

    private sealed class FixedSearch(params SearchHit[] hits) : ISearchProvider
    {
        public List<string> Queries { get; } = [];
        public Task<SearchResults> SearchAsync(string query, int k = 10, CancellationToken cancellationToken = default)
        {
            Queries.Add(query);
            return Task.FromResult(new SearchResults(query, hits.Length, hits.Take(k).ToList()));
        }
    }

    private sealed class SlowSearch : ISearchProvider
    {
        public async Task<SearchResults> SearchAsync(string query, int k = 10, CancellationToken cancellationToken = default)
        {
            await Task.Delay(TimeSpan.FromSeconds(30), cancellationToken);
            return new SearchResults(query, 0, []);
        }
    }

    [Fact]
    public async Task Search_output_matches_QUEST_format_byte_for_byte()
    {
        var tool = new SearchTool(new FixedSearch(
            new SearchHit("https://a.org/x", "Alpha", "first snippet", 3, "2003-08-06"),
            new SearchHit("https://b.org/y", "Beta\nTwo", "", 2, null, [("Sub", "https://b.org/y/sub")])));
        var text = await tool.CallAsync(Args("""{"query": ["alpha beta", "second"]}"""), TestContext.Current.CancellationToken);
        const string block1 = "A Google search for 'alpha beta' found 2 results:\n\n"
            + "1. Title: Alpha\nLink: https://a.org/x\nDate published: 2003-08-06\nSnipptes: first snippet\n\n"
            + "2. Title: Beta Two\nLink: https://b.org/y\nSitelinks:\n- Sub: https://b.org/y/sub";
        Assert.Equal(block1 + "\n\n" + block1.Replace("'alpha beta'", "'second'"), text);
    }

    [Fact]
    public async Task Search_accepts_a_single_string_and_reports_errors_as_text()
    {
        var fake = new FixedSearch();
        var tool = new SearchTool(fake);
        var ct = TestContext.Current.CancellationToken;
        Assert.Equal("No results found for query: 'lone'. Use a less specific query.", await tool.CallAsync(Args("""{"query": "lone"}"""), ct));
        Assert.StartsWith(ToolText.ErrorPrefix, await tool.CallAsync(Args("""{"query": []}"""), ct));
        Assert.StartsWith(ToolText.ErrorPrefix, await tool.CallAsync(Args("""{"query": ["  ", ""]}"""), ct));
        Assert.StartsWith(ToolText.ErrorPrefix, await tool.CallAsync(Args("""{"q": ["x"]}"""), ct));
        Assert.StartsWith(ToolText.ErrorPrefix, await tool.CallAsync(Args("""[1,2]"""), ct));
        Assert.Equal(["lone"], fake.Queries);
        var slow = new SearchTool(new SlowSearch(), new SearchToolOptions { Timeout = TimeSpan.FromMilliseconds(50) });
        Assert.Equal(SearchTool.TimeoutText, await slow.CallAsync(Args("""{"query": ["x"]}"""), ct));
    }

    [Fact]
    public async Task Search_over_the_world_finds_the_entity()
    {
        var e = TestWorld.Graph.OfType(EntityType.Invention).First();
        var tool = new SearchTool(TestWorld.Index, new SearchToolOptions { TopK = 5 });
        var text = await tool.CallAsync(Args($$"""{"query": ["{{e.Name}}"]}"""), TestContext.Current.CancellationToken);
        Assert.StartsWith($"A Google search for '{e.Name}' found ", text);
        Assert.Contains($"1. Title: {e.Name}\nLink: {e.Url}\nSnipptes: ", text);
        Assert.True(text.Split("\n\n").Length is >= 2 and <= 6);
    }

    private static PageCorpus Tiny() => new("tiny",
    [
        new Page
        {
            Url = "https://ex.org/Ada", Title = "Ada Vell",
            Text = "**Ada Vell** (1815–1852) was a mathematician. She was born in [Lonport](https://ex.org/Lonport).\n\n"
                 + "Vell wrote notes on the analytical engine in 1843. She liked horses.\n\n## Facts\n- Born: 1815\n- Died: 1852\n",
            Links = ["https://ex.org/Lonport"],
        },
        new Page { Url = "https://ex.org/Lonport", Title = "Lonport", Text = "Lonport is a city." },
        new Page { Url = "https://ex.org/Huge", Title = "Huge", Text = "Start sentence about cats. " + new string('x', 50_000) + " Final sentence about dogs." },
    ]);

    [Fact]
    public async Task Visit_output_matches_QUEST_format_and_keeps_links_in_evidence()
    {
        var tool = new VisitTool(Tiny());
        var text = await tool.CallAsync(Args("""{"url": "https://ex.org/Ada", "goal": "Where was Ada Vell born?"}"""), TestContext.Current.CancellationToken);
        Assert.StartsWith("The useful information in https://ex.org/Ada for user goal Where was Ada Vell born? as follows: \n\nEvidence in page: \n", text);
        Assert.Contains("She was born in [Lonport](https://ex.org/Lonport).", text);
        Assert.Contains("\n\nSummary: \nThe page on Ada Vell says: ", text);
        Assert.EndsWith("\n\n", text);
        Assert.DoesNotContain("liked horses", text);
    }

    [Fact]
    public async Task Visit_handles_lists_unknown_unsafe_and_missing_goal()
    {
        var tool = new VisitTool(Tiny());
        var ct = TestContext.Current.CancellationToken;
        var two = await tool.CallAsync(Args("""{"url": ["https://ex.org/Lonport", "https://ex.org/Nope"], "goal": "city"}"""), ct);
        var parts = two.Split("\n=======\n");
        Assert.Equal(2, parts.Length);
        Assert.Contains("Lonport is a city.", parts[0]);
        Assert.Equal(VisitTool.Block("https://ex.org/Nope", "city", VisitTool.FailedEvidence, VisitTool.FailedSummary), parts[1]);

        foreach (var bad in new[] { "file:///etc/passwd", "javascript:alert(1)", "data:text/html,hi", "view-source:https://ex.org/Ada", "ftp://x.org/a" })
        {
            var r = await tool.CallAsync(Args(JsonSerializer.Serialize(new { url = bad, goal = "g" })), ct);
            Assert.StartsWith(ToolText.ErrorPrefix + " Invalid URL", r);
        }
        Assert.StartsWith(ToolText.ErrorPrefix, await tool.CallAsync(Args("""{"url": [], "goal": "g"}"""), ct));
        Assert.StartsWith(ToolText.ErrorPrefix, await tool.CallAsync(Args("""{"goal": "g"}"""), ct));
        var noGoal = await tool.CallAsync(Args("""{"url": "ex.org/Lonport"}"""), ct);
        Assert.StartsWith("The useful information in ex.org/Lonport for user goal Extract relevant information as follows: ", noGoal);
    }

    [Fact]
    public async Task Visit_cuts_enormous_pages_in_the_middle_and_says_so()
    {
        var tool = new VisitTool(Tiny(), options: new VisitToolOptions { MaxPageChars = 10_000 });
        var text = await tool.CallAsync(Args("""{"url": "https://ex.org/Huge", "goal": "cats and dogs"}"""), TestContext.Current.CancellationToken);
        Assert.Contains("cats", text);
        Assert.Contains("dogs", text);
        Assert.Contains("characters from its middle were not read", text);
        Assert.True(text.Length < 12_000);
    }

    [Fact]
    public async Task Visit_on_a_world_page_finds_the_fact_for_the_goal()
    {
        var g = TestWorld.Graph;
        var p = g.OfType(EntityType.Person).First(x => g.Out(x.Id, Relations.EducatedAt).Count > 0);
        var uni = g.TargetEntities(p.Id, Relations.EducatedAt).First();
        var tool = new VisitTool(TestWorld.World.Corpus);
        var text = await tool.CallAsync(Args(JsonSerializer.Serialize(new { url = p.Url, goal = $"Where did {p.Name} study?" })), TestContext.Current.CancellationToken);
        Assert.Contains($"studied at the [{uni.Name}]({uni.Url})", text);
    }

    [Fact]
    public async Task Visit_with_an_extractor_model_uses_its_json_and_retries_like_QUEST()
    {
        var chat = new ScriptedReplies("", "```json\n{\"rational\": \"r\", \"evidence\": [\"e1\", \"e2\"], \"summary\": \"s\"}\n```");
        var tool = VisitTool.WithLlm(Tiny(), chat);
        var text = await tool.CallAsync(Args("""{"url": "https://ex.org/Ada", "goal": "birth"}"""), TestContext.Current.CancellationToken);
        Assert.Equal(VisitTool.Block("https://ex.org/Ada", "birth", "e1\ne2", "s"), text);
        Assert.Equal(2, chat.LastMessages.Count);
        Assert.Contains("## **User Goal**\nbirth", chat.LastMessages[0]);
        Assert.True(chat.LastMessages[1].Length < chat.LastMessages[0].Length, "the retry after a too-short reply sends less content");
    }

    [Fact]
    public async Task Visit_falls_back_to_sentence_scoring_when_the_model_fails()
    {
        var tool = VisitTool.WithLlm(Tiny(), new ScriptedReplies("not json at all, sorry", "still not json"));
        var text = await tool.CallAsync(Args("""{"url": "https://ex.org/Ada", "goal": "Where was Ada Vell born?"}"""), TestContext.Current.CancellationToken);
        Assert.Contains("[Lonport](https://ex.org/Lonport)", text);
    }

    [Fact]
    public async Task Registry_produces_the_tools_block_and_dispatches()
    {
        var reg = ToolRegistry.ForIndex(TestWorld.Index);
        var block = reg.ToolsBlock();
        var lines = block.Split('\n');
        Assert.Equal(2, lines.Length);
        using var search = JsonDocument.Parse(lines[0]);
        Assert.Equal("function", search.RootElement.GetProperty("type").GetString());
        Assert.Equal("search", search.RootElement.GetProperty("function").GetProperty("name").GetString());
        Assert.Equal("array", search.RootElement.GetProperty("function").GetProperty("parameters").GetProperty("properties").GetProperty("query").GetProperty("type").GetString());
        Assert.StartsWith("<tools>\n{", reg.ToolsSection());
        Assert.EndsWith("}\n</tools>", reg.ToolsSection());
        var ct = TestContext.Current.CancellationToken;
        Assert.Equal("[Tool Error] Unknown tool: browse", await reg.CallAsync("browse", "{}", ct));
        Assert.StartsWith("[Tool Error] arguments are not valid JSON", await reg.CallAsync("search", "{nope", ct));
        Assert.StartsWith("A Google search for", await reg.CallAsync("search", $$"""{"query": ["{{TestWorld.Graph[0].Name}}"]}""", ct));
        Assert.True(reg.Remove("visit"));
        Assert.Single(reg.ToolsBlock().Split('\n'));
    }

    [Fact]
    public async Task Resolver_returns_page_text_or_null()
    {
        var c = TestWorld.World.Corpus;
        var resolve = c.AsResolver();
        Assert.Equal(c[2].Text, await resolve(c[2].Url, TestContext.Current.CancellationToken));
        Assert.Null(await resolve("https://world.quest/wiki/Nowhere", TestContext.Current.CancellationToken));
    }
}
