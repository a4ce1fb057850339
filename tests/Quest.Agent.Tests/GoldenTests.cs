using System.Text.Json;
using System.Text.Json.Nodes;
using Quest.Core;
using Quest.Testing;
using Quest.World;
using Quest.World.Generation;
using Xunit;

namespace Quest.Agent.Tests;

/// <summary>
/// The bytes the agent protocol writes, pinned by golden files (tests/Quest.Agent.Tests/Golden): the system prompt with
/// the real search and visit tools, a user-supplied prompt template, the tool-call and answer turns, the tool-response
/// wrapper, and each tool's output. The released QUEST models are sensitive to these bytes.
/// </summary>
public class GoldenTests
{
    private static readonly DateOnly Date = new(2026, 1, 1);
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static WorldEnvironment Env() => WorldEnvironment.Generate(new WorldOptions { Pages = 60, Seed = 3 });

    [Fact]
    public void The_system_prompt_is_byte_for_byte_the_golden_one()
    {
        using var env = Env();
        var prompt = SystemPrompt.Build(env.Tools, Date);
        Golden.Check("system_prompt.txt", prompt);
        // Tool signature lines are Python json.dumps lines, as in QUEST's prompt: a space after each comma and colon.
        var line = prompt.Split('\n').First(l => l.StartsWith("{\"type\": \"function\"", StringComparison.Ordinal));
        Assert.Contains("\"function\": {\"name\": \"search\", \"description\": ", line);
        Assert.Equal(JsonNode.Parse(line)!.ToJsonString(), JsonNode.Parse(line.Replace(", ", ",").Replace(": ", ":"))!.ToJsonString());
    }

    [Fact]
    public void A_prompt_template_is_used_verbatim_with_the_date_appended()
    {
        var file = Path.Combine(Directory.CreateTempSubdirectory().FullName, "prompt.txt");
        File.WriteAllText(file, "You are QUEST. Tools: <tools>…</tools>\nCurrent date: \n");
        var template = SystemPrompt.ReadTemplate(file);
        Assert.Equal("You are QUEST. Tools: <tools>…</tools>\nCurrent date: 2026-01-01", SystemPrompt.FromTemplate(template, Date));
        var agent = new ResearchAgent(new Quest.Agent.Policies.ScriptedChatClient(["<answer>x</answer>"]), [], new AgentOptions { Date = Date, SystemPromptTemplate = template });
        Assert.Equal("You are QUEST. Tools: <tools>…</tools>\nCurrent date: 2026-01-01", agent.BuildSystemPrompt());
        File.WriteAllText(file, "\n");
        Assert.Contains("empty", Assert.Throws<QuestInputException>(() => SystemPrompt.ReadTemplate(file)).Message);
        Assert.Throws<QuestInputException>(() => SystemPrompt.ReadTemplate(file + ".missing"));
    }

    [Fact]
    public void Protocol_turns_are_byte_for_byte_the_golden_ones()
    {
        var call = Protocol.ToolCallTurn("I should search.", "search", new JsonObject { ["query"] = new JsonArray("Ada Lovelace", "Zoë 1843") });
        var visit = Protocol.ToolCallTurn(null, "visit", new JsonObject { ["url"] = new JsonArray("https://world.quest/wiki/X"), ["goal"] = "birth year" });
        var answer = Protocol.AnswerTurn("Found it.", "Ada Lovelace [1]");
        var response = Protocol.ToolResponse("A Google search for 'x' found 0 results.");
        Golden.Check("protocol_turns.txt", string.Join("\n---\n", call, visit, answer, response) + "\n");
    }

    [Fact]
    public async Task Tool_outputs_are_byte_for_byte_the_golden_ones()
    {
        using var env = Env();
        var page = env.Corpus[5];
        var search = await env.Search.CallAsync(JsonSerializer.SerializeToElement(new { query = new[] { page.Title, "founded" } }), Ct);
        var visit = await env.Visit.CallAsync(JsonSerializer.SerializeToElement(new { url = page.Url, goal = "When was it founded?" }), Ct);
        var missing = await env.Visit.CallAsync(JsonSerializer.SerializeToElement(new { url = "https://world.quest/wiki/Nowhere", goal = "x" }), Ct);
        Golden.Check("search_output.txt", search + "\n");
        Golden.Check("visit_output.txt", visit + "\n---\n" + missing + "\n");
    }

    [Fact]
    public void The_research_state_section_is_written_as_json_dumps_indent_2_writes_it()
    {
        var state = new Quest.Agent.Context.ResearchState();
        state.SearchQueries.Add(new Quest.Agent.Context.SearchQueryEntry { Q = "Zoë Quill founder", Intent = "find the founder" });
        state.VisitedSources.Add(new Quest.Agent.Context.VisitedSource { Url = "https://world.quest/wiki/Alder_Gazette", Note = "founded 1888" });
        state.InformationState.Trusted.Add(new Quest.Agent.Context.Claim { Id = "T1", Text = "Zoë Quill founded the Alder Gazette", Sources = ["https://world.quest/wiki/Alder_Gazette"], Reason = "stated on its page" });
        var text = Quest.Agent.Context.StateSection.Format(state);
        Golden.Check("research_state.txt", text + "\n");
        // Python's json.dumps(indent=2): non-ASCII escaped, "," at line ends, empty lists as []
        Assert.Contains("\"Zo\\u00eb Quill founder\"", text);
        Assert.Contains("\"untrusted\": [],", text);
        Assert.DoesNotContain(", \n", text);
        // and it reads back
        Assert.True(Quest.Agent.Context.ResearchState.TryParse(state.ToJson(), out var back, out var error), error);
        Assert.Equal(state.ToJson(false), back!.ToJson(false));
    }
}
