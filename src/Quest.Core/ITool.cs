using System.Text.Json;
using System.Text.Json.Nodes;

namespace Quest.Core;

/// <summary>
/// A tool the agent can call (search, visit, …). Tools never throw for bad arguments or failed look-ups:
/// they return text the model can read, starting with <c>[Tool Error]</c>.
/// </summary>
public interface ITool
{
    /// <summary>The function name the model writes in <c>{"name": …}</c>.</summary>
    string Name { get; }

    /// <summary>One-paragraph description shown to the model.</summary>
    string Description { get; }

    /// <summary>JSON schema of the arguments object (<c>{"type":"object","properties":…,"required":…}</c>).</summary>
    JsonObject Parameters { get; }

    /// <summary>Runs the tool. <paramref name="arguments"/> is the already-normalised arguments object.</summary>
    Task<string> CallAsync(JsonElement arguments, CancellationToken cancellationToken = default);
}

/// <summary>Calling a tool with arguments built in code.</summary>
public static class ToolCalls
{
    /// <summary>Runs <paramref name="tool"/> on <paramref name="arguments"/> (a JSON object built in code or parsed from a turn).</summary>
    public static async Task<string> CallAsync(this ITool tool, JsonObject arguments, CancellationToken cancellationToken = default)
    {
        using var doc = JsonDocument.Parse(arguments.ToJsonString());
        return await tool.CallAsync(doc.RootElement.Clone(), cancellationToken).ConfigureAwait(false);
    }
}

/// <summary>Shared text conventions for tool results.</summary>
public static class ToolText
{
    /// <summary>The prefix of every tool error the model sees.</summary>
    public const string ErrorPrefix = "[Tool Error]";

    /// <summary>Formats an error the model can read.</summary>
    public static string Error(string message) => $"{ErrorPrefix} {message}";

    /// <summary>
    /// Truncates <paramref name="text"/> in the middle to at most <paramref name="maxChars"/> characters,
    /// saying how much was cut (QUEST truncates tool responses in the middle).
    /// </summary>
    public static string TruncateMiddle(string text, int maxChars)
    {
        if (text.Length <= maxChars) return text;
        string marker = $"\n…[truncated {text.Length - maxChars} characters]…\n";
        int keep = Math.Max(0, maxChars - marker.Length);
        int head = keep / 2, tail = keep - head;
        return string.Concat(text.AsSpan(0, head), marker, text.AsSpan(text.Length - tail));
    }

    /// <summary>
    /// The JSON-lines block QUEST puts inside <c>&lt;tools&gt;…&lt;/tools&gt;</c>: one
    /// <c>{"type": "function", "function": {name, description, parameters}}</c> object per line, written as Python's
    /// <c>json.dumps</c> writes it (<see cref="PyJson"/>: a space after each comma and colon, non-ASCII escaped), the
    /// bytes QUEST's prompt carries.
    /// </summary>
    public static string ToolsBlock(IEnumerable<ITool> tools)
    {
        var lines = tools.Select(t => new JsonObject
        {
            ["type"] = "function",
            ["function"] = new JsonObject
            {
                ["name"] = t.Name,
                ["description"] = t.Description,
                ["parameters"] = t.Parameters.DeepClone(),
            },
        }).Select(o => PyJson.Dumps(o));
        return string.Join("\n", lines);
    }
}
