using System.Text.Json.Nodes;
using Quest.Agent.Context;
using Quest.Agent.Policies;
using Quest.Interactive;
using Quest.World;
using Quest.World.Generation;
using Xunit;

namespace Quest.Agent.Tests;

/// <summary>The agent over the real generated world and its QUEST tools, and the notebook display of the result.</summary>
public sealed class WorldAndDisplayTests
{
    private static readonly Lazy<WorldEnvironment> World = new(() => WorldEnvironment.Generate(WorldOptions.Tiny));
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static (Trajectory Plain, Trajectory Condensed) Run()
    {
        var w = World.Value;
        var pages = w.Corpus.OrderBy(p => p.Url, StringComparer.Ordinal).Take(5).ToList();
        var script = pages.Select(p => Turns.Search(p.Title))
            .Concat(pages.Take(2).Select(p => Turns.Visit(p.Url)))
            .Append(Turns.Answer(pages[0].Title)).ToArray();
        var o = new AgentOptions { Date = new DateOnly(2026, 1, 15), Context = new ContextOptions { Enabled = false } };
        var plain = new ResearchAgent(new ScriptedChatClient(script), w.Tools, o).RunAsync("Which came first?", cancellationToken: Ct).GetAwaiter().GetResult();
        var condensed = new ResearchAgent(new ScriptedChatClient(script), w.Tools, o with { Context = new ContextOptions { Threshold = 1500, Seed = 1 } })
            .RunAsync("Which came first?", cancellationToken: Ct).GetAwaiter().GetResult();
        return (plain, condensed);
    }

    private static readonly Lazy<(Trajectory Plain, Trajectory Condensed)> Runs = new(Run);

    [Fact]
    public void World_tools_answer_in_QUEST_text_and_the_rule_condenser_reads_them()
    {
        var (plain, c) = Runs.Value;
        Assert.Equal(Termination.Answer, plain.Termination);
        Assert.Equal(5, plain.ToolCalls["search"]);
        Assert.Equal(2, plain.ToolCalls["visit"]);
        Assert.Contains("found", plain.Messages[3].Content);
        Assert.Contains("The useful information in", plain.Messages.Last(m => m.IsToolResponse).Content);

        Assert.Equal(Termination.Answer, c.Termination);
        Assert.True(c.Sessions.Count >= 3, $"{c.Sessions.Count} sessions");
        Assert.All(c.Condensations, e => Assert.True(e.Success));
        var last = c.Sessions[^1].StartState!;
        // every search issued before the last reset is remembered, in order, never dropped
        var issued = c.Sessions.Take(c.Sessions.Count - 1).SelectMany(s => s.Messages).Where(m => m.Role == "assistant")
            .Select(m => ResponseParser.Parse(m.Content).ToolCall).Where(t => t?.Name == "search").Select(t => t!.Arguments["query"]![0]!.GetValue<string>()).ToList();
        Assert.Equal(issued, last.SearchQueries.Select(q => q.Q));
        Assert.NotEmpty(last.InformationState.Uncertain);
        Assert.All(last.InformationState.Uncertain, u => Assert.StartsWith("visit https://", u.Need));
        // the policy never saw more than the (grown) threshold plus one turn
        Assert.True(c.MaxContextTokens < plain.MaxContextTokens);
    }

    [Fact]
    public void Transcript_html_shows_each_turn_collapsible_and_escapes_the_protocol()
    {
        var (_, c) = Runs.Value;
        var html = TranscriptHtml.Render(c).Html;
        Assert.Equal(c.Turns.Count, System.Text.RegularExpressions.Regex.Matches(html, @"<summary[^>]*><b>\d+\.</b>").Count);
        Assert.Contains(">tool call<", html);
        Assert.Contains(">answer<", html);
        Assert.Contains("<details", html);
        Assert.Contains("research state carried in", html);
        Assert.DoesNotContain("<tool_call>", html);   // protocol text is escaped, never live markup
        Assert.Contains("Session 1", html);
    }

    [Fact]
    public void Context_chart_marks_every_condensation()
    {
        var (_, c) = Runs.Value;
        var fig = JsonNode.Parse(AgentCharts.ContextTokens(c).ToJson())!;
        var data = fig["data"]!.AsArray();
        Assert.Equal(c.Turns.Count, data[0]!["y"]!.AsArray().Count);
        Assert.Equal(c.Condensations.Count, fig["layout"]!["shapes"]!.AsArray().Count);
        var marks = data.First(d => d!["name"]?.GetValue<string>() == "condensation (after)")!;
        Assert.Equal(c.Condensations.Select(e => (double)e.TokensAfter), marks["y"]!.AsArray().Select(v => v!.GetValue<double>()));
        Assert.Contains(data, d => d!["name"]?.GetValue<string>() == "threshold");
    }

    private static int CountOf(string s, string m) { int n = 0, i = 0; while ((i = s.IndexOf(m, i, StringComparison.Ordinal)) >= 0) { n++; i += m.Length; } return n; }
}
