using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.Extensions.AI;
using Quest.Core;
using Quest.World.Corpus;

namespace Quest.World.Tools;

/// <summary>Options of the visit tool.</summary>
public sealed record VisitToolOptions
{
    /// <summary>Pages longer than this are cut in the middle before extraction (QUEST cuts at 95k tokens ≈ 380k characters).</summary>
    public int MaxPageChars { get; init; } = 380_000;
    /// <summary>At most this many URLs per call; further ones are skipped with a note.</summary>
    public int MaxUrls { get; init; } = 10;
    /// <summary>Time budget for fetching and extracting one URL.</summary>
    public TimeSpan PerUrlTimeout { get; init; } = TimeSpan.FromSeconds(120);
    /// <summary>Overall budget for a list of URLs (QUEST: 900 s); the remaining ones then report failure.</summary>
    public TimeSpan TotalTimeout { get; init; } = TimeSpan.FromSeconds(900);
    /// <summary>Goal used when the model gives none (QUEST's default).</summary>
    public string DefaultGoal { get; init; } = "Extract relevant information";
    /// <summary>Most evidence sentences the offline extractor returns.</summary>
    public int MaxEvidenceSentences { get; init; } = 8;
    /// <summary>Most evidence characters the offline extractor returns.</summary>
    public int MaxEvidenceChars { get; init; } = 4000;

    /// <summary>The offline sentence extractor sized by these options.</summary>
    public SentenceExtractor SentenceExtractor() => new(MaxEvidenceSentences, MaxEvidenceChars);
}

/// <summary>
/// QUEST's <c>visit</c> tool: <c>{"url": string | string[], "goal": string}</c>. For each URL it fetches the page
/// (offline corpus or live reader), cuts enormous pages in the middle, extracts goal-relevant evidence and a summary
/// (<see cref="SentenceExtractor"/> offline, <see cref="LlmExtractor"/> when an extractor model is configured), and
/// prints QUEST's block: <c>The useful information in {url} for user goal {goal} as follows: </c> with
/// <c>Evidence in page:</c> and <c>Summary:</c>. Several URLs are joined by <c>\n=======\n</c>. Unsafe URLs
/// (file:, javascript:, data:, view-source:) are refused; unknown pages get QUEST's could-not-be-accessed text.
/// Never throws.
/// </summary>
public sealed class VisitTool : ITool
{
    private readonly VisitToolOptions _o;

    /// <summary>Creates the tool over a page source and an extractor (default: offline sentence scoring).</summary>
    public VisitTool(IPageSource pages, IPageExtractor? extractor = null, VisitToolOptions? options = null)
    {
        _o = options ?? new();
        Pages = pages; Extractor = extractor ?? _o.SentenceExtractor();
    }

    /// <summary>Creates the tool with an LLM extractor that falls back to sentence scoring when the model fails.</summary>
    public static VisitTool WithLlm(IPageSource pages, IChatClient extractorModel, ChatOptions? chatOptions = null, VisitToolOptions? options = null) =>
        new(pages, new LlmExtractor(extractorModel, chatOptions, (options ?? new()).SentenceExtractor()), options);

    /// <summary>Where pages come from.</summary>
    public IPageSource Pages { get; }

    /// <summary>How evidence and summary are extracted.</summary>
    public IPageExtractor Extractor { get; }

    /// <inheritdoc />
    public string Name => "visit";

    /// <inheritdoc />
    public string Description => "Visit webpage(s) and return the summary of the content.";

    /// <inheritdoc />
    public JsonObject Parameters => new()
    {
        ["type"] = "object",
        ["properties"] = new JsonObject
        {
            ["url"] = new JsonObject
            {
                ["type"] = "array",
                ["items"] = new JsonObject { ["type"] = "string" },
                ["minItems"] = 1,
                ["description"] = "The URL(s) of the webpage(s) to visit. Can be a single URL or an array of URLs.",
            },
            ["goal"] = new JsonObject { ["type"] = "string", ["description"] = "The goal of the visit for webpage(s)." },
        },
        ["required"] = new JsonArray("url", "goal"),
    };

    /// <summary>QUEST's evidence text when a page cannot be read.</summary>
    public const string FailedEvidence = "The provided webpage content could not be accessed. Please check the URL or file format.";
    /// <summary>QUEST's summary text when a page cannot be read.</summary>
    public const string FailedSummary = "The webpage content could not be processed, and therefore, no information is available.";

    /// <summary>Formats one URL's block exactly as QUEST does.</summary>
    public static string Block(string url, string goal, string evidence, string summary) =>
        $"The useful information in {url} for user goal {goal} as follows: \n\nEvidence in page: \n{evidence}\n\nSummary: \n{summary}\n\n";

    /// <inheritdoc />
    public async Task<string> CallAsync(JsonElement arguments, CancellationToken cancellationToken = default)
    {
        var urls = ToolArgs.StringList(arguments, "url");
        if (urls is null) return ToolText.Error("visit needs a 'url' argument: a URL string or a list of URLs.");
        urls = urls.Select(u => u.Trim()).Where(u => u.Length > 0).ToList();
        if (urls.Count == 0) return ToolText.Error("Empty URL. Provide at least one URL to visit.");
        var goal = ToolArgs.String(arguments, "goal");
        if (string.IsNullOrWhiteSpace(goal)) goal = _o.DefaultGoal;
        using var total = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        total.CancelAfter(_o.TotalTimeout);
        var blocks = new List<string>();
        foreach (var url in urls.Take(_o.MaxUrls))
            blocks.Add(await VisitOneAsync(url, goal, total.Token, cancellationToken).ConfigureAwait(false));
        if (urls.Count > _o.MaxUrls) blocks.Add($"[Note] Only the first {_o.MaxUrls} of {urls.Count} URLs were visited.");
        return string.Join("\n=======\n", blocks);
    }

    /// <summary>Visits one URL and returns its block (or a <c>[Tool Error]</c> line for a refused URL).</summary>
    public Task<string> VisitOneAsync(string url, string goal, CancellationToken cancellationToken = default) =>
        VisitOneAsync(url, goal, cancellationToken, cancellationToken);

    private async Task<string> VisitOneAsync(string url, string goal, CancellationToken budget, CancellationToken caller)
    {
        if (UrlSafety.Check(url) is { } why) return ToolText.Error($"Invalid URL: {why}.");
        if (budget.IsCancellationRequested) return Block(url, goal, FailedEvidence, FailedSummary);
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(budget);
        cts.CancelAfter(_o.PerUrlTimeout);
        try
        {
            var page = await Pages.FetchAsync(url, cts.Token).ConfigureAwait(false);
            if (page is null || string.IsNullOrWhiteSpace(page.Text)) return Block(url, goal, FailedEvidence, FailedSummary);
            string? note = null;
            if (page.Text.Length > _o.MaxPageChars)
            {
                note = $"(The page is {page.Text.Length:N0} characters long; {page.Text.Length - _o.MaxPageChars:N0} characters from its middle were not read.)";
                page = page with { Text = ToolText.TruncateMiddle(page.Text, _o.MaxPageChars) };
            }
            var x = await Extractor.ExtractAsync(page, goal, cts.Token).ConfigureAwait(false);
            if (x is null || (x.Evidence.Trim().Length == 0 && x.Summary.Trim().Length == 0))
                return Block(url, goal, FailedEvidence, FailedSummary);
            return Block(url, goal, x.Evidence, note is null ? x.Summary : x.Summary + "\n" + note);
        }
        catch (OperationCanceledException) when (caller.IsCancellationRequested) { throw; }
        catch (Exception)
        {
            return Block(url, goal, FailedEvidence, FailedSummary);
        }
    }
}
