using System.Collections;
using System.Text.Json;
using Microsoft.Extensions.AI;
using Quest.Core;
using Quest.World.Corpus;
using Quest.World.Search;

namespace Quest.World.Tools;

/// <summary>
/// The agent's tools by name: produces the <c>&lt;tools&gt;</c> JSON-lines block for the system prompt and
/// dispatches calls. Unknown tools and tool failures come back as <c>[Tool Error] …</c> text, never exceptions.
/// </summary>
public sealed class ToolRegistry : IEnumerable<ITool>
{
    private readonly List<ITool> _tools = [];

    /// <summary>An empty registry.</summary>
    public ToolRegistry() { }

    /// <summary>A registry with these tools, in order.</summary>
    public ToolRegistry(IEnumerable<ITool> tools) { foreach (var t in tools) Add(t); }

    /// <summary>QUEST's offline pair: search over <paramref name="search"/>, visit over <paramref name="pages"/>.</summary>
    public static ToolRegistry Offline(ISearchProvider search, IPageSource pages, IChatClient? extractorModel = null,
        SearchToolOptions? searchOptions = null, VisitToolOptions? visitOptions = null) =>
        new([
            new SearchTool(search, searchOptions),
            extractorModel is null ? new VisitTool(pages, null, visitOptions) : VisitTool.WithLlm(pages, extractorModel, null, visitOptions),
        ]);

    /// <summary>Search and visit over one BM25 index and its corpus, their output sized by <paramref name="sizes"/> (default: QUEST's).</summary>
    public static ToolRegistry ForIndex(Bm25Index index, IChatClient? extractorModel = null, ToolSizes? sizes = null)
    {
        sizes ??= ToolSizes.Quest;
        return Offline(index, index.Corpus, extractorModel,
            new SearchToolOptions { TopK = sizes.SearchResults, SnippetChars = sizes.SnippetChars },
            new VisitToolOptions { MaxEvidenceSentences = sizes.VisitEvidenceSentences, MaxEvidenceChars = sizes.VisitEvidenceChars });
    }

    /// <summary>Adds a tool; a tool with the same name replaces the earlier one.</summary>
    public ToolRegistry Add(ITool tool)
    {
        _tools.RemoveAll(t => t.Name == tool.Name);
        _tools.Add(tool);
        return this;
    }

    /// <summary>Removes a tool by name (e.g. QUEST's "visit disabled" setting); returns whether it was there.</summary>
    public bool Remove(string name) => _tools.RemoveAll(t => t.Name == name) > 0;

    /// <summary>The tool with this name, or null.</summary>
    public ITool? Get(string name) => _tools.FirstOrDefault(t => t.Name == name);

    /// <summary>Tool names in order.</summary>
    public IReadOnlyList<string> Names => _tools.Select(t => t.Name).ToList();

    /// <summary>The JSON lines that go between <c>&lt;tools&gt;</c> and <c>&lt;/tools&gt;</c>.</summary>
    public string ToolsBlock() => ToolText.ToolsBlock(_tools);

    /// <summary>The whole block including the <c>&lt;tools&gt;</c> tags, as QUEST's system prompt has it.</summary>
    public string ToolsSection() => $"{Protocol.ToolsOpen}\n{ToolsBlock()}\n{Protocol.ToolsClose}";

    /// <summary>Calls a tool by name. Unknown tools and exceptions become <c>[Tool Error]</c> text.</summary>
    public async Task<string> CallAsync(string name, JsonElement arguments, CancellationToken cancellationToken = default)
    {
        var tool = Get(name);
        if (tool is null) return ToolText.Error($"Unknown tool: {name}");
        try
        {
            return await tool.CallAsync(arguments, cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested) { throw; }
        catch (Exception ex)
        {
            return ToolText.Error($"{name} failed: {ex.GetType().Name}: {ex.Message}");
        }
    }

    /// <summary>Calls a tool with arguments given as a JSON string.</summary>
    public Task<string> CallAsync(string name, string argumentsJson, CancellationToken cancellationToken = default)
    {
        JsonElement args;
        try { using var d = JsonDocument.Parse(argumentsJson); args = d.RootElement.Clone(); }
        catch (JsonException ex) { return Task.FromResult(ToolText.Error($"arguments are not valid JSON: {ex.Message}")); }
        return CallAsync(name, args, cancellationToken);
    }

    /// <inheritdoc />
    public IEnumerator<ITool> GetEnumerator() => _tools.GetEnumerator();
    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();
}

/// <summary>
/// How much the search and visit tools print. QUEST's sizes (10 results, full snippets, up to 8 evidence sentences) are
/// far larger than a tiny model's window: a search answer alone is ~900 tokens. <see cref="SmallWindow"/> keeps what a
/// 512-token view can show whole, so the result a model must copy from is never scrolled out. Which sizes a model gets
/// follows its view (<see cref="Resolve"/>).
/// </summary>
public sealed record ToolSizes
{
    /// <summary>Results per search query.</summary>
    public int SearchResults { get; init; } = 10;
    /// <summary>Most characters of a result snippet.</summary>
    public int SnippetChars { get; init; } = 240;
    /// <summary>Most evidence sentences a visit returns.</summary>
    public int VisitEvidenceSentences { get; init; } = 8;
    /// <summary>Most evidence characters a visit returns.</summary>
    public int VisitEvidenceChars { get; init; } = 4000;

    /// <summary>QUEST's sizes.</summary>
    public static ToolSizes Quest => new();
    /// <summary>Sized for a 512-token window: 3 results with 150-character snippets, 3 evidence sentences.</summary>
    public static ToolSizes SmallWindow => new() { SearchResults = 3, SnippetChars = 150, VisitEvidenceSentences = 3, VisitEvidenceChars = 600 };

    /// <summary>The names a run's options and the command line give the sizes: <c>small</c> (<see cref="SmallWindow"/>) and <c>quest</c>.</summary>
    public static IReadOnlyList<string> Names { get; } = ["small", "quest"];

    /// <summary>
    /// The sizes an option asks for: a name of <see cref="Names"/>, or <c>auto</c>, the sizes the model's view is designed
    /// for (<see cref="global::Quest.Core.AgentView.ToolOutput"/>; QUEST's when <paramref name="view"/> is null, an endpoint model).
    /// Null for an unknown name.
    /// </summary>
    public static ToolSizes? Resolve(string option, string? view) =>
        option.Equals("auto", StringComparison.OrdinalIgnoreCase)
            ? Named(view is null ? "quest" : global::Quest.Core.AgentView.ToolOutputOf(view))
            : Named(option);

    /// <summary>The sizes called <paramref name="name"/> (<see cref="Names"/>, case-insensitive), or null for another name.</summary>
    public static ToolSizes? Named(string name) => name.ToLowerInvariant() switch
    {
        "small" => SmallWindow,
        "quest" => Quest,
        _ => null,
    };
}
