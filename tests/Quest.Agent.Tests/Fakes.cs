using System.Text.Json;
using System.Text.Json.Nodes;
using Quest.Core;

namespace Quest.Agent.Tests;

/// <summary>A tool whose behaviour is a delegate; records its calls.</summary>
internal sealed class FakeTool(string name, Func<JsonElement, CancellationToken, Task<string>> run, params string[] required) : ITool
{
    public List<string> Calls { get; } = [];
    public string Name => name;
    public string Description => $"The {name} tool.";
    public JsonObject Parameters => new()
    {
        ["type"] = "object",
        ["properties"] = new JsonObject(required.Select(r => KeyValuePair.Create(r, (JsonNode?)new JsonObject { ["type"] = "string" }))),
        ["required"] = new JsonArray(required.Select(r => (JsonNode?)JsonValue.Create(r)).ToArray()),
    };

    public async Task<string> CallAsync(JsonElement arguments, CancellationToken cancellationToken = default)
    {
        lock (Calls) Calls.Add(arguments.GetRawText());
        return await run(arguments, cancellationToken);
    }

    public static FakeTool Sync(string name, Func<JsonElement, string> f, params string[] required) =>
        new(name, (a, _) => Task.FromResult(f(a)), required);

    /// <summary>A search tool that answers in QUEST's text format with one result per query.</summary>
    public static FakeTool Search() => Sync("search", a =>
    {
        var qs = a.GetProperty("query");
        var list = qs.ValueKind == JsonValueKind.Array ? qs.EnumerateArray().Select(x => x.GetString()!).ToList() : [qs.GetString()!];
        return string.Join("\n\n", list.Select(q =>
            $"A Google search for '{q}' found 2 results:\n\n1. Title: About {q}\nLink: https://example.org/{Slug(q)}\nSnipptes: {q} was first described in 1901 by Ada Example.\n\n2. Title: More on {q}\nLink: https://example.org/{Slug(q)}-2\nSnipptes: Another page about {q}."));
    }, "query");

    /// <summary>A visit tool that answers in QUEST's text format.</summary>
    public static FakeTool Visit() => Sync("visit", a =>
    {
        var url = a.GetProperty("url").ValueKind == JsonValueKind.Array ? a.GetProperty("url")[0].GetString()! : a.GetProperty("url").GetString()!;
        var goal = a.GetProperty("goal").GetString();
        return $"The useful information in {url} for user goal {goal} as follows: \n\nEvidence in page: \nThe page says the founder was Ada Example, born 1870.\n\nSummary: \nAda Example founded the society in 1901. She was born in 1870.\n\n";
    }, "url", "goal");

    private static string Slug(string q) => string.Concat(q.ToLowerInvariant().Select(c => char.IsLetterOrDigit(c) ? c : '-'));
}

internal static class Turns
{
    public static string Call(string name, string argsJson, string think = "I should look this up.") =>
        Protocol.ToolCallTurn(think, name, System.Text.Json.Nodes.JsonNode.Parse(argsJson)!.AsObject());   // the one writer of protocol turns
    public static string Search(string q) => Call("search", $"{{\"query\": [\"{q}\"]}}");
    public static string Visit(string url) => Call("visit", $"{{\"url\": \"{url}\", \"goal\": \"find the founder\"}}");
    public static string Answer(string a) => Protocol.AnswerTurn("I know it now.", a);
}
