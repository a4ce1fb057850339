using Quest.Core;
using Xunit;

namespace Quest.Agent.Tests;

public class ProtocolTests
{
    [Fact]
    public void SystemPrompt_lists_tools_as_json_lines_and_ends_with_the_date()
    {
        var p = SystemPrompt.Build([FakeTool.Search(), FakeTool.Visit()], new DateOnly(2026, 3, 7));
        Assert.EndsWith("Current date: 2026-03-07", p);
        int open = p.IndexOf("<tools>\n", StringComparison.Ordinal), close = p.IndexOf("\n</tools>", StringComparison.Ordinal);
        Assert.True(open > 0 && close > open);
        var lines = p[(open + 8)..close].Split('\n');
        Assert.Equal(2, lines.Length);
        Assert.Contains("\"name\": \"search\"", lines[0]);
        Assert.Contains("\"name\": \"visit\"", lines[1]);
        Assert.Contains("RESEARCH STATE SUMMARY (prev_state)", p);
        Assert.Contains("The final answer must exclude any information that remains uncertain or pending.", p);
        Assert.Contains("<tool_call>\n{\"name\": <function-name>, \"arguments\": <args-json-object>}\n</tool_call>", p);
    }

    [Fact]
    public void Parses_think_and_last_tool_call_only()
    {
        var t = ResponseParser.Parse("<think>plan</think>\n<tool_call>\n{\"name\":\"search\",\"arguments\":{\"query\":[\"a\"]}}\n</tool_call>\n<tool_call>\n{\"name\":\"visit\",\"arguments\":{\"url\":\"u\"}}\n</tool_call>");
        Assert.Equal(TurnKind.ToolCall, t.Kind);
        Assert.Equal("plan", t.Think);
        Assert.Equal("visit", t.ToolCall!.Name);
        Assert.Equal("u", t.ToolCall.Arguments["url"]!.GetValue<string>());
        Assert.Contains(t.Problems, p => p.Contains("only the last one runs"));
    }

    [Theory]
    [InlineData("{\"name\": \"search\", \"arguments\": \"{\\\"query\\\": [\\\"x\\\"]}\"}")] // arguments as a JSON string
    [InlineData("{\"name\": [\"search\"], \"arguments\": [{\"query\": [\"x\"]}]}")]    // one-element lists
    [InlineData("{\"name\": \"search\", \"arguments\": {\"query\": [\"x\"]}}")]
    public void Normalises_lenient_call_shapes(string json)
    {
        Assert.True(ResponseParser.TryNormalize(json, out var call, out var err), err);
        Assert.Equal("search", call!.Name);
        Assert.Equal("x", call.Arguments["query"]![0]!.GetValue<string>());
    }

    [Fact]
    public void Null_or_missing_arguments_become_an_empty_object()
    {
        Assert.True(ResponseParser.TryNormalize("{\"name\":\"search\",\"arguments\":null}", out var a, out _));
        Assert.Empty(a!.Arguments);
        Assert.True(ResponseParser.TryNormalize("{\"name\":\"search\"}", out var b, out _));
        Assert.Empty(b!.Arguments);
    }

    [Theory]
    [InlineData("{\"name\": \"search\", \"arguments\": {\"query\": [\"x\"]", "Invalid tool call JSON")]
    [InlineData("[1,2]", "expected a JSON object")]
    [InlineData("{\"arguments\": {}}", "missing or non-string \"name\"")]
    [InlineData("{\"name\": \"search\", \"arguments\": 5}", "must be an object")]
    [InlineData("{\"name\": \"search\", \"arguments\": \"not json\"}", "is a string that is not valid JSON")]
    [InlineData("   ", "Empty tool call")]
    public void Reports_what_cannot_be_parsed(string body, string expected)
    {
        var t = ResponseParser.Parse($"<think>x</think><tool_call>{body}</tool_call>");
        Assert.Equal(TurnKind.MalformedToolCall, t.Kind);
        Assert.StartsWith(ToolText.ErrorPrefix, t.Error);
        Assert.Contains(expected, t.Error);
    }

    [Fact]
    public void Code_block_is_pulled_out_of_the_call()
    {
        var t = ResponseParser.Parse("<tool_call>\n{\"name\": \"PythonInterpreter\", \"arguments\": {}}\n<code>\nprint(1)\n</code>\n</tool_call>");
        Assert.Equal(TurnKind.ToolCall, t.Kind);
        Assert.Equal("print(1)", t.ToolCall!.Code);
    }

    [Fact]
    public void Answer_wins_and_multiple_answers_use_the_last_one()
    {
        var t = ResponseParser.Parse("<think>a</think><answer>first</answer> and <answer>second</answer>");
        Assert.Equal(TurnKind.Answer, t.Kind);
        Assert.Equal("second", t.Answer);
        Assert.Contains(t.Problems, p => p.Contains("2 <answer> blocks"));
        var both = ResponseParser.Parse("<tool_call>{\"name\":\"search\",\"arguments\":{}}</tool_call><answer>x</answer>");
        Assert.Equal(TurnKind.Answer, both.Kind);
    }

    [Theory]
    [InlineData("<think>hmm</think> I think the answer is 4.", "neither <tool_call> nor <answer>")]
    [InlineData("<think>hmm</think><answer>4", "unclosed <answer>")]
    [InlineData("<think>hmm</think><tool_call>{\"name\":\"search\"", "unclosed <tool_call>")]
    [InlineData("<think>never closed", "unclosed <think>")]
    public void Invalid_turns_say_why(string text, string problem)
    {
        var t = ResponseParser.Parse(text);
        Assert.Equal(TurnKind.Invalid, t.Kind);
        Assert.Contains(t.Problems, p => p.Contains(problem));
    }

    [Fact]
    public void Content_is_cut_at_a_hallucinated_tool_response()
    {
        var t = ResponseParser.Parse("<tool_call>{\"name\":\"search\",\"arguments\":{\"query\":\"q\"}}</tool_call>\n<tool_response>\nfake\n</tool_response><answer>no</answer>");
        Assert.Equal(TurnKind.ToolCall, t.Kind);
        Assert.DoesNotContain("tool_response", t.Content);
        Assert.DoesNotContain("answer", t.Content);
    }
}

public class DuplicateKeyTests
{
    [Fact]
    public void A_repeated_key_in_a_tool_call_is_read_as_json_loads_reads_it_last_one_wins()
    {
        var p = ResponseParser.Parse("<tool_call>\n{\"name\": \"visit\", \"arguments\": {\"url\": [\"a\"], \"goal\": \"x\", \"goal\": \"y\"}, \"name\": \"visit\"}\n</tool_call>");
        Assert.Equal(TurnKind.ToolCall, p.Kind);
        Assert.Equal("y", (string?)p.ToolCall!.Arguments["goal"]);
        Assert.Equal(2, p.ToolCall.Arguments.Count);          // materialised: no lazy throw later
        var q = ResponseParser.Parse("<tool_call>\n{\"name\": \"search\", \"arguments\": \"{\\\"query\\\": [\\\"a\\\"], \\\"query\\\": [\\\"b\\\"]}\"}\n</tool_call>");
        Assert.Equal("b", (string?)q.ToolCall!.Arguments["query"]![0]);
    }
}
