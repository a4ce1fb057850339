using Quest.Core;
using Quest.World.Tools;
using Xunit;

namespace Quest.Agent.Tests;

/// <summary>The one agent view (Quest.Core), over characters: what each kind keeps, and the tool sizes it asks for.</summary>
public class CoreAgentViewTests
{
    private static readonly List<ChatTurn> Episode =
    [
        new(Roles.System, "A long system prompt."),
        new(Roles.User, "Who founded the Alder Gazette?"),
        new(Roles.Assistant, "<tool_call>search Alder Gazette</tool_call>"),
        new(Roles.User, "<tool_response>\nMara Quill founded it in 1888. The mill burned in 1903.\n</tool_response>"),
    ];

    [Fact]
    public void Question_recent_keeps_the_question_and_the_most_recent_characters_within_the_budget()
    {
        var view = AgentView.Create(new CharCodec(), AgentView.QuestionRecent);
        Assert.IsType<QuestionRecentView>(view);
        var whole = view.Visible(Episode, 10_000);
        Assert.Equal(Protocol.RenderChat(Episode.Skip(1), addGenerationPrompt: true), whole);   // no system prompt
        var cut = view.Visible(Episode, 120);
        Assert.Equal(120, cut.Length);
        Assert.StartsWith("<|im_start|>user\nWho founded the Alder Gazette?", cut);   // the question stays
        Assert.EndsWith("1903.\n</tool_response><|im_end|>\n<|im_start|>assistant\n", cut);   // then the newest characters
        Assert.DoesNotContain("search Alder", cut);                                     // the oldest scroll out
        Assert.Throws<ArgumentOutOfRangeException>(() => view.Prompt(Episode, 0));
    }

    [Fact]
    public void The_stepped_view_extends_the_last_prompt_between_moves_of_its_start()
    {
        var episode = new List<ChatTurn> { new(Roles.User, "Who founded the Alder Gazette?") };
        var stepped = AgentView.Create(new CharCodec(), AgentView.QuestionRecentStepped);
        var sliding = AgentView.Create(new CharCodec(), AgentView.QuestionRecent);
        const int budget = 2000;   // room for about 13 turns, so the start moves every 6 or 7
        int room = budget - Protocol.RenderChat(episode).Length;
        int[]? lastStepped = null, lastSliding = null;
        int extended = 0, moved = 0, slidingExtended = 0, overflowing = 0;
        for (int turn = 0; turn < 50; turn++)
        {
            var p = stepped.Prompt(episode, budget);
            var q = sliding.Prompt(episode, budget);
            Assert.True(p.Length <= budget);
            var tail = p.Length - (budget - room);
            if (Protocol.RenderChat(episode.Skip(1), true).Length > room)
            {
                overflowing++;
                Assert.InRange(tail, room / 2 + 1, room);                        // never less than half the room is shown
                if (lastSliding is not null && q.AsSpan().StartsWith(lastSliding)) slidingExtended++;
            }
            if (lastStepped is not null)
            {
                if (p.AsSpan().StartsWith(lastStepped)) extended++;            // the last prompt, extended: its cache is reusable
                else moved++;
            }
            Assert.Equal(sliding.Visible(episode, 10_000), stepped.Visible(episode, 10_000));   // the two differ only on overflow
            lastStepped = p; lastSliding = q;
            episode.Add(new(Roles.Assistant, $"<tool_call>search query number {turn}</tool_call>"));
            episode.Add(new(Roles.User, $"<tool_response>\nresult {turn}: a sentence about the gazette.\n</tool_response>"));
        }
        Assert.True(overflowing >= 30, $"{overflowing} overflowing turns");
        Assert.True(extended > 4 * moved && moved > 0, $"{extended} extended, {moved} moved");
        Assert.Equal(0, slidingExtended);                                       // the sliding view re-windows every turn
    }

    [Fact]
    public void Full_keeps_the_system_prompt_and_drops_the_oldest_on_overflow()
    {
        var view = AgentView.Create(new CharCodec(), AgentView.Full);
        Assert.StartsWith("<|im_start|>system\nA long system prompt.", view.Visible(Episode, 10_000));
        var cut = view.Visible(Episode, 60);
        Assert.Equal(60, cut.Length);
        Assert.EndsWith("<|im_start|>assistant\n", cut);
        Assert.Throws<QuestInputException>(() => AgentView.Create(new CharCodec(), "sideways"));
    }

    [Fact]
    public void The_reply_budget_is_at_most_half_the_window_and_the_prompt_keeps_the_rest()
    {
        Assert.Equal(128, AgentView.ReplyTokens(512, 128));
        Assert.Equal(384, AgentView.PromptBudget(512, 128));
        Assert.Equal(32, AgentView.ReplyTokens(64, 128));
        Assert.Equal(1, AgentView.ReplyTokens(512, 0));
    }

    [Fact]
    public void Tool_sizes_follow_the_view_when_auto()
    {
        Assert.Equal(ToolSizes.SmallWindow, ToolSizes.Resolve("auto", AgentView.QuestionRecent));
        Assert.Equal(ToolSizes.Quest, ToolSizes.Resolve("auto", AgentView.Full));
        Assert.Equal(ToolSizes.Quest, ToolSizes.Resolve("AUTO", null));   // an endpoint model
        Assert.Equal(ToolSizes.Quest, ToolSizes.Resolve("quest", AgentView.QuestionRecent));
        Assert.Null(ToolSizes.Resolve("huge", AgentView.Full));
    }
}
