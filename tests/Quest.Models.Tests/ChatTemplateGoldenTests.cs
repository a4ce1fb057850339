using Quest.Core;
using Quest.Models.Tokenization;
using Quest.Testing;
using Xunit;

namespace Quest.Models.Tests;

/// <summary>The chat template's rendering of an agent episode, pinned by a golden file (Golden/chat_template.txt).</summary>
public class ChatTemplateGoldenTests
{
    [Fact]
    public void An_episode_renders_byte_for_byte_as_the_golden_one()
    {
        var messages = new[]
        {
            new ChatTurn("system", "You are a deep research assistant.\n\nCurrent date: 2026-01-01"),
            new ChatTurn("user", "Who founded the Alder Gazette?"),
            new ChatTurn("assistant", Protocol.ToolCallTurn("Search first.", "search", new System.Text.Json.Nodes.JsonObject { ["query"] = new System.Text.Json.Nodes.JsonArray("Alder Gazette") })),
            new ChatTurn("user", Protocol.ToolResponse("A Google search for 'Alder Gazette' found 1 results:")),
            new ChatTurn("assistant", Protocol.AnswerTurn("Found it.", "Mara Quill")),
        };
        Golden.Check("chat_template.txt", ChatTemplate.Render(messages) + "\n=== with generation prompt ===\n" + ChatTemplate.Render(messages[..2], addGenerationPrompt: true));
    }
}
