using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Quest.Core;

namespace Quest.Agent;

/// <summary>What a model turn asks for.</summary>
public enum TurnKind
{
    /// <summary>A final answer (<c>&lt;answer&gt;…&lt;/answer&gt;</c>).</summary>
    Answer,
    /// <summary>A well-formed tool call (the tool may still be unknown; the loop decides).</summary>
    ToolCall,
    /// <summary>A <c>&lt;tool_call&gt;</c> block whose JSON cannot be understood.</summary>
    MalformedToolCall,
    /// <summary>Neither a tool call nor an answer.</summary>
    Invalid,
}

/// <summary>A normalised tool call: function name and arguments object.</summary>
/// <param name="Name">Function name.</param>
/// <param name="Arguments">The arguments object (always a JSON object after normalisation).</param>
/// <param name="Code">A <c>&lt;code&gt;…&lt;/code&gt;</c> block inside the call (QUEST's Python tool), or null.</param>
public sealed record ToolCall(string Name, JsonObject Arguments, string? Code = null)
{
    /// <summary>The call as QUEST writes it: <c>{"name": …, "arguments": {…}}</c> in <c>json.dumps</c>'s spelling (<see cref="PyJson"/>).</summary>
    public string ToJson() => PyJson.Dumps(new JsonObject { ["name"] = Name, ["arguments"] = Arguments.DeepClone() });
}

/// <summary>The parsed form of one assistant turn.</summary>
public sealed record ParsedTurn
{
    /// <summary>The assistant content as it goes into the history: cut at any <c>&lt;tool_response&gt;</c> and trimmed.</summary>
    public required string Content { get; init; }
    /// <summary>What the turn asks for.</summary>
    public required TurnKind Kind { get; init; }
    /// <summary>Text of the (last) <c>&lt;think&gt;</c> block, or null.</summary>
    public string? Think { get; init; }
    /// <summary>The normalised last tool call, or null.</summary>
    public ToolCall? ToolCall { get; init; }
    /// <summary>The answer text (last complete block), or null.</summary>
    public string? Answer { get; init; }
    /// <summary>Everything the parser had to forgive or could not parse, in plain words. Empty for a clean turn.</summary>
    public IReadOnlyList<string> Problems { get; init; } = [];
    /// <summary>For <see cref="TurnKind.MalformedToolCall"/>: the error text the model gets back.</summary>
    public string? Error { get; init; }
}

/// <summary>
/// Parses assistant turns the way QUEST does: the last <c>&lt;tool_call&gt;</c> wins, arguments may come as a JSON
/// string, a one-element list or null, the name may be a one-element list. Whatever cannot be understood is reported
/// in <see cref="ParsedTurn.Problems"/> rather than silently dropped.
/// </summary>
public static class ResponseParser
{
    private static readonly Regex ToolCallRx = new(@"<tool_call>(.*?)</tool_call>", RegexOptions.Singleline | RegexOptions.Compiled);
    private static readonly Regex AnswerRx = new(@"<answer>(.*?)</answer>", RegexOptions.Singleline | RegexOptions.Compiled);
    private static readonly Regex ThinkRx = new(@"<think>(.*?)</think>", RegexOptions.Singleline | RegexOptions.Compiled);
    private static readonly Regex CodeRx = new(@"<code>(.*?)</code>", RegexOptions.Singleline | RegexOptions.Compiled);

    /// <summary>Cuts <paramref name="raw"/> at the first <c>&lt;tool_response&gt;</c> (a model that runs on past its stop) and trims it.</summary>
    public static string Clean(string raw)
    {
        ArgumentNullException.ThrowIfNull(raw);
        int cut = raw.IndexOf(Protocol.ToolResponseOpen, StringComparison.Ordinal);
        return (cut >= 0 ? raw[..cut] : raw).Trim();
    }

    /// <summary>Parses one assistant turn.</summary>
    public static ParsedTurn Parse(string raw)
    {
        var content = Clean(raw);
        var problems = new List<string>();
        if (raw.Contains(Protocol.ToolResponseOpen, StringComparison.Ordinal))
            problems.Add("the turn contained <tool_response>; the text from there on was cut");

        string? think = null;
        var thinks = ThinkRx.Matches(content);
        if (thinks.Count > 0) think = thinks[^1].Groups[1].Value.Trim();
        else if (content.Contains(Protocol.ThinkOpen, StringComparison.Ordinal)) problems.Add("unclosed <think>");

        // Answers: complete blocks only; several blocks -> the last is used and that is reported.
        var answers = AnswerRx.Matches(content);
        string? answer = answers.Count > 0 ? answers[^1].Groups[1].Value.Trim() : null;
        if (answers.Count > 1) problems.Add($"{answers.Count} <answer> blocks; the last one is used");
        int opens = CountOf(content, Protocol.AnswerOpen);
        if (opens > answers.Count) problems.Add("unclosed <answer>");

        var calls = ToolCallRx.Matches(content);
        int callOpens = CountOf(content, Protocol.ToolCallOpen);
        if (callOpens > calls.Count) problems.Add("unclosed <tool_call>");
        if (calls.Count > 1) problems.Add($"{calls.Count} <tool_call> blocks; only the last one runs");

        if (answer is not null)
        {
            if (answer.Length == 0) problems.Add("empty <answer>");
            if (calls.Count > 0) problems.Add("the turn has both a tool call and an answer; the answer ends the episode");
            return new ParsedTurn { Content = content, Kind = TurnKind.Answer, Think = think, Answer = answer, Problems = problems };
        }

        if (calls.Count == 0)
        {
            if (callOpens == 0 && opens == 0) problems.Add("neither <tool_call> nor <answer>");
            return new ParsedTurn { Content = content, Kind = TurnKind.Invalid, Think = think, Problems = problems };
        }

        var body = calls[^1].Groups[1].Value;
        if (TryNormalize(body, out var call, out var error))
            return new ParsedTurn { Content = content, Kind = TurnKind.ToolCall, Think = think, ToolCall = call, Problems = problems };
        problems.Add(error!);
        return new ParsedTurn { Content = content, Kind = TurnKind.MalformedToolCall, Think = think, Problems = problems, Error = ToolText.Error(error!) };
    }

    /// <summary>
    /// Normalises the JSON inside a <c>&lt;tool_call&gt;</c> block (QUEST's <c>_normalize_tool_call</c>): a
    /// <c>&lt;code&gt;</c> block is pulled out first; the JSON is parsed strictly; <c>name</c> may be a one-element list;
    /// <c>arguments</c> may be an object, a JSON string holding an object, a one-element list holding an object, or null.
    /// </summary>
    public static bool TryNormalize(string body, out ToolCall? call, out string? error)
    {
        call = null; error = null;
        string? code = null;
        var cm = CodeRx.Match(body);
        if (cm.Success)
        {
            code = cm.Groups[1].Value.Trim();
            body = body.Remove(cm.Index, cm.Length);
        }
        var json = body.Trim();
        if (json.Length == 0) { error = "Empty tool call: expected {\"name\": ..., \"arguments\": {...}}"; return false; }
        JsonNode? node;
        try { node = ParseLastWins(json); }
        catch (JsonException ex) { error = $"Invalid tool call JSON: {ex.Message}"; return false; }
        if (node is not JsonObject obj) { error = "Invalid tool call: expected a JSON object {\"name\": ..., \"arguments\": {...}}"; return false; }

        var nameNode = obj["name"];
        if (nameNode is JsonArray na && na.Count == 1) nameNode = na[0];
        string? name = nameNode is JsonValue nv && nv.TryGetValue<string>(out var s) ? s.Trim() : null;
        if (string.IsNullOrEmpty(name)) { error = "Invalid tool call: missing or non-string \"name\""; return false; }

        var argsNode = obj["arguments"];
        if (argsNode is JsonValue sv && sv.TryGetValue<string>(out var argText))
        {
            if (string.IsNullOrWhiteSpace(argText)) argsNode = null;
            else
            {
                try { argsNode = ParseLastWins(argText); }
                catch (JsonException ex) { error = $"Invalid tool call: \"arguments\" is a string that is not valid JSON ({ex.Message})"; return false; }
            }
        }
        if (argsNode is JsonArray aa && aa.Count == 1) argsNode = aa[0];
        JsonObject args;
        if (argsNode is null) args = new JsonObject();
        else if (argsNode is JsonObject ao) args = (JsonObject)ao.DeepClone();
        else { error = $"Invalid tool call: \"arguments\" must be an object, got {argsNode.GetValueKind()}"; return false; }

        call = new ToolCall(name, args, code);
        return true;
    }

    /// <summary>
    /// Parses JSON as Python's <c>json.loads</c> does for a repeated key: the last one wins. (A <see cref="JsonObject"/>
    /// from <see cref="JsonNode.Parse(string, JsonNodeOptions?, JsonDocumentOptions)"/> throws on the first access to an
    /// object with a repeated key, far from the parser: a model's turn must never crash the agent.)
    /// </summary>
    public static JsonNode? ParseLastWins(string json)
    {
        using var doc = JsonDocument.Parse(json);
        return Convert(doc.RootElement);
        static JsonNode? Convert(JsonElement e) => e.ValueKind switch
        {
            JsonValueKind.Object => Obj(e),
            JsonValueKind.Array => new JsonArray(e.EnumerateArray().Select(Convert).ToArray()),
            JsonValueKind.Null or JsonValueKind.Undefined => null,
            _ => JsonValue.Create(e.Clone()),
        };
        static JsonObject Obj(JsonElement e)
        {
            var o = new JsonObject();
            foreach (var p in e.EnumerateObject()) o[p.Name] = Convert(p.Value);
            return o;
        }
    }

    private static int CountOf(string text, string marker)
    {
        int n = 0, i = 0;
        while ((i = text.IndexOf(marker, i, StringComparison.Ordinal)) >= 0) { n++; i += marker.Length; }
        return n;
    }
}
