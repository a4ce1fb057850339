using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Quest.Core;
using Quest.World.Search;

namespace Quest.World.Tools;

/// <summary>Options of the search tool.</summary>
public sealed record SearchToolOptions
{
    /// <summary>Results per query (QUEST's Serper calls return about 10).</summary>
    public int TopK { get; init; } = 10;
    /// <summary>At most this many queries per call; further ones are ignored with a note.</summary>
    public int MaxQueries { get; init; } = 10;
    /// <summary>Most characters of a snippet (the provider's snippet is re-cut around the query words when longer); 0 = as the provider gives it.</summary>
    public int SnippetChars { get; init; }
    /// <summary>Per-query time limit; a slower provider yields QUEST's timeout text.</summary>
    public TimeSpan Timeout { get; init; } = TimeSpan.FromSeconds(60);
}

/// <summary>
/// QUEST's <c>search</c> tool: <c>{"query": string[]}</c> (a single string is accepted too). For each query it
/// prints <c>A Google search for 'q' found N results:</c> followed by numbered entries with QUEST's field labels
/// (<c>Title:</c>, <c>Link:</c>, optional <c>Date published:</c>, <c>Snipptes:</c> — QUEST's spelling — and
/// <c>Sitelinks:</c>); blocks of several queries are joined by a blank line. Never throws: problems come back as
/// text (<c>[Tool Error] …</c>, QUEST's "No results found …" and timeout texts).
/// </summary>
public sealed class SearchTool(ISearchProvider provider, SearchToolOptions? options = null) : ITool
{
    private readonly SearchToolOptions _o = options ?? new();

    /// <summary>The search backend.</summary>
    public ISearchProvider Provider { get; } = provider;

    /// <inheritdoc />
    public string Name => "search";

    /// <inheritdoc />
    public string Description => "Perform Google web searches then returns a string of the top search results. Accepts multiple queries.";

    /// <inheritdoc />
    public JsonObject Parameters => new()
    {
        ["type"] = "object",
        ["properties"] = new JsonObject
        {
            ["query"] = new JsonObject
            {
                ["type"] = "array",
                ["items"] = new JsonObject { ["type"] = "string", ["description"] = "The search query." },
                ["minItems"] = 1,
                ["description"] = "The list of search queries.",
            },
        },
        ["required"] = new JsonArray("query"),
    };

    /// <inheritdoc />
    public async Task<string> CallAsync(JsonElement arguments, CancellationToken cancellationToken = default)
    {
        var queries = ToolArgs.StringList(arguments, "query");
        if (queries is null)
            return ToolText.Error("search needs a 'query' argument: a list of query strings, e.g. {\"query\": [\"first query\"]}.");
        queries = queries.Select(q => q.Trim()).Where(q => q.Length > 0).ToList();
        if (queries.Count == 0) return ToolText.Error("Empty search query. Provide at least one non-empty query string.");
        var blocks = new List<string>();
        foreach (var q in queries.Take(_o.MaxQueries))
            blocks.Add(await SearchOneAsync(q, cancellationToken).ConfigureAwait(false));
        if (queries.Count > _o.MaxQueries)
            blocks.Add($"[Note] Only the first {_o.MaxQueries} of {queries.Count} queries were run.");
        return string.Join("\n\n", blocks);
    }

    /// <summary>Runs and formats one query.</summary>
    public async Task<string> SearchOneAsync(string query, CancellationToken cancellationToken = default)
    {
        SearchResults results;
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        cts.CancelAfter(_o.Timeout);
        try
        {
            results = await Provider.SearchAsync(query, _o.TopK, cts.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested) { throw; }
        catch (OperationCanceledException) { return TimeoutText; }
        catch (TimeoutException) { return TimeoutText; }
        catch (Exception ex)
        {
            return ToolText.Error($"search failed for '{query}': {ex.GetType().Name}: {ex.Message}");
        }
        if (_o.SnippetChars > 0 && results.Hits.Any(h => h.Snippet is { } sn && sn.Length > _o.SnippetChars))
        {
            var terms = query.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries).Select(t => t.Trim('"', '\'', ',', '.').ToLowerInvariant()).Where(t => t.Length > 1).ToList();
            results = results with { Hits = results.Hits.Select(h => h.Snippet is { } sn && sn.Length > _o.SnippetChars ? h with { Snippet = Snippets.Make(sn, terms, _o.SnippetChars) } : h).ToList() };
        }
        return Format(results);
    }

    /// <summary>QUEST's text when the search backend times out.</summary>
    public const string TimeoutText = "Google search Timeout, return None, Please try again later.";

    /// <summary>QUEST's text for a query without results.</summary>
    public static string NoResultsText(string query) => $"No results found for query: '{query}'. Use a less specific query.";

    /// <summary>Formats one query's results exactly as the agent sees them.</summary>
    public static string Format(SearchResults results)
    {
        if (results.Hits.Count == 0) return NoResultsText(results.Query);
        var entries = new List<string>(results.Hits.Count);
        int i = 0;
        foreach (var h in results.Hits)
        {
            var sb = new StringBuilder();
            sb.Append(++i).Append(". Title: ").Append(OneLine(h.Title)).Append('\n');
            sb.Append("Link: ").Append(h.Url);
            if (!string.IsNullOrWhiteSpace(h.Date)) sb.Append("\nDate published: ").Append(h.Date);
            if (!string.IsNullOrWhiteSpace(h.Snippet)) sb.Append("\nSnipptes: ").Append(OneLine(h.Snippet));
            if (h.Sitelinks is { Count: > 0 })
            {
                sb.Append("\nSitelinks:");
                foreach (var (t, l) in h.Sitelinks) sb.Append("\n- ").Append(OneLine(t)).Append(": ").Append(l);
            }
            entries.Add(sb.ToString());
        }
        return $"A Google search for '{results.Query}' found {entries.Count} results:\n\n" + string.Join("\n\n", entries);
    }

    private static string OneLine(string s) => s.Replace("\r", " ").Replace('\n', ' ').Trim();
}
