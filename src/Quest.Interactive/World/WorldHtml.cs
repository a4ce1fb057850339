using System.Text;
using System.Text.RegularExpressions;
using Quest.World.Corpus;
using Quest.World.Generation;
using Quest.World.Graph;
using Quest.World.Search;

namespace Quest.Interactive.World;

/// <summary>
/// HTML views of the agent's world for notebooks: a page rendered like an encyclopedia article (links look
/// clickable and show their URL on hover), search results as a table, and an entity's graph neighbourhood.
/// </summary>
public static partial class WorldHtml
{
    private const string LinkStyle = "color:#1a56db;text-decoration:underline;cursor:pointer";

    /// <summary>A page as an article: title, URL, category/date badges, the body with links, and its outgoing links.</summary>
    public static HtmlFragment Page(Page page, int maxLinks = 40)
    {
        var sb = new StringBuilder();
        sb.Append("<div style=\"font-family:Georgia,serif;max-width:820px;border:1px solid #ddd;border-radius:6px;padding:12px 18px\">");
        sb.Append($"<div style=\"font-size:1.5em;font-weight:bold\">{Html.Escape(page.Title)}</div>");
        sb.Append($"<div style=\"font-family:monospace;color:#666;font-size:0.85em\">{Html.Escape(page.Url)}</div><div style=\"margin:4px 0\">");
        if (page.Category is not null) sb.Append(Html.Badge(page.Category, BadgeColor.Blue).Html).Append(' ');
        if (page.Date is not null) sb.Append(Html.Badge(page.Date, BadgeColor.Grey).Html);
        sb.Append("</div>");
        sb.Append(Markdown(page.Text));
        if (page.Links.Count > 0)
        {
            sb.Append($"<div style=\"font-family:sans-serif;font-size:0.85em;color:#444;margin-top:8px\"><b>{page.Links.Count} outgoing links:</b> ");
            sb.Append(string.Join(" · ", page.Links.Take(maxLinks).Select(l => $"<span style=\"{LinkStyle}\" title=\"{Html.Escape(l)}\">{Html.Escape(LastSegment(l))}</span>")));
            if (page.Links.Count > maxLinks) sb.Append($" … and {page.Links.Count - maxLinks} more");
            sb.Append("</div>");
        }
        sb.Append("</div>");
        return new HtmlFragment(sb.ToString());
    }

    /// <summary>Search results as a table: rank, title (linked), URL, score, date, snippet with the query terms in bold.</summary>
    public static HtmlFragment Results(SearchResults results)
    {
        var words = results.Query.Split(' ', StringSplitOptions.RemoveEmptyEntries).Where(w => w.Length > 2).Select(Regex.Escape).ToList();
        var rx = words.Count == 0 ? null : new Regex(@"\b(" + string.Join("|", words) + @")\w*", RegexOptions.IgnoreCase);
        var sb = new StringBuilder();
        sb.Append($"<div style=\"font-family:sans-serif\"><div><b>{Html.Escape(results.Query)}</b> — {results.TotalHits:N0} matching pages, top {results.Hits.Count}</div>");
        sb.Append("<table style=\"border-collapse:collapse;font-size:0.9em\"><tr style=\"border-bottom:1px solid #999\"><th>#</th><th style=\"text-align:left\">title</th><th>score</th><th>date</th><th style=\"text-align:left\">snippet</th></tr>");
        int i = 0;
        foreach (var h in results.Hits)
        {
            var snip = Html.Escape(h.Snippet);
            if (rx is not null) snip = rx.Replace(snip, m => $"<b>{m.Value}</b>");
            sb.Append($"<tr style=\"border-bottom:1px solid #eee;vertical-align:top\"><td>{++i}</td><td><span style=\"{LinkStyle}\" title=\"{Html.Escape(h.Url)}\">{Html.Escape(h.Title)}</span><br/><span style=\"font-family:monospace;color:#666;font-size:0.8em\">{Html.Escape(h.Url)}</span></td>");
            sb.Append($"<td>{h.Score:0.00}</td><td>{Html.Escape(h.Date ?? "")}</td><td>{snip}</td></tr>");
        }
        sb.Append("</table></div>");
        return new HtmlFragment(sb.ToString());
    }

    /// <summary>An entity's facts and typed edges (outgoing and incoming) as a two-part table.</summary>
    public static HtmlFragment Entity(KnowledgeGraph graph, int id, int maxIncoming = 15)
    {
        var e = graph[id];
        var sb = new StringBuilder();
        sb.Append($"<div style=\"font-family:sans-serif\"><b>{Html.Escape(e.Name)}</b> {Html.Badge(e.Type, BadgeColor.Blue).Html} <span style=\"font-family:monospace;color:#666\">#{e.Id}</span>");
        sb.Append("<table style=\"border-collapse:collapse;font-size:0.9em;margin-top:4px\">");
        foreach (var (k, v) in e.Attributes) sb.Append($"<tr><td style=\"color:#666\">{Html.Escape(k)}</td><td>{Html.Escape(v)}</td></tr>");
        foreach (var edge in graph.Out(id)) sb.Append($"<tr><td style=\"color:#666\">→ {Html.Escape(edge.Relation)}</td><td><span style=\"{LinkStyle}\">{Html.Escape(graph[edge.To].Name)}</span></td></tr>");
        var incoming = graph.In(id);
        foreach (var edge in incoming.Take(maxIncoming)) sb.Append($"<tr><td style=\"color:#666\">← {Html.Escape(edge.Relation)}</td><td><span style=\"{LinkStyle}\">{Html.Escape(graph[edge.From].Name)}</span></td></tr>");
        if (incoming.Count > maxIncoming) sb.Append($"<tr><td></td><td>… {incoming.Count - maxIncoming} more incoming</td></tr>");
        sb.Append("</table></div>");
        return new HtmlFragment(sb.ToString());
    }

    /// <summary>Tool output exactly as the agent sees it (a scrollable pre block).</summary>
    public static HtmlFragment ToolOutput(string text, int maxHeightPx = 400) => Html.Pre(text, maxHeightPx);

    /// <summary>The small markdown subset of pages as HTML: paragraphs, <c>## headings</c>, <c>- lists</c>, <c>**bold**</c>, <c>*italic*</c>, links.</summary>
    public static string Markdown(string text)
    {
        var sb = new StringBuilder();
        bool inList = false;
        foreach (var block in text.Replace("\r", "").Split("\n\n"))
        {
            foreach (var raw in block.Split('\n'))
            {
                var line = raw.Trim();
                if (line.Length == 0) continue;
                if (line.StartsWith("- ") || line.StartsWith("* "))
                {
                    if (!inList) { sb.Append("<ul style=\"margin:4px 0\">"); inList = true; }
                    sb.Append("<li>").Append(Inline(line[2..])).Append("</li>");
                    continue;
                }
                if (inList) { sb.Append("</ul>"); inList = false; }
                if (line.StartsWith('#'))
                {
                    sb.Append($"<div style=\"font-weight:bold;margin-top:10px;border-bottom:1px solid #ddd\">{Inline(line.TrimStart('#', ' '))}</div>");
                    continue;
                }
                sb.Append("<p style=\"margin:6px 0\">").Append(Inline(line)).Append("</p>");
            }
        }
        if (inList) sb.Append("</ul>");
        return sb.ToString();
    }

    private static string Inline(string s)
    {
        var sb = new StringBuilder();
        int last = 0;
        foreach (var (anchor, url, start, length) in Quest.World.Corpus.Markdown.Links(s))
        {
            sb.Append(Emphasis(Html.Escape(s[last..start])));
            sb.Append($"<a style=\"{LinkStyle}\" href=\"{Html.Escape(url)}\" title=\"{Html.Escape(url)}\" target=\"_blank\">{Emphasis(Html.Escape(anchor))}</a>");
            last = start + length;
        }
        sb.Append(Emphasis(Html.Escape(s[last..])));
        return sb.ToString();
    }

    private static string Emphasis(string escaped) => Italic().Replace(Bold().Replace(escaped, "<b>$1</b>"), "<i>$1</i>");

    [GeneratedRegex(@"\*\*(.+?)\*\*")]
    private static partial Regex Bold();

    [GeneratedRegex(@"(?<![\w*])\*([^*\s][^*]*?)\*(?![\w*])")]
    private static partial Regex Italic();

    private static string LastSegment(string url)
    {
        var u = url.TrimEnd('/');
        var s = u[(u.LastIndexOf('/') + 1)..];
        try { s = Uri.UnescapeDataString(s.Replace('+', ' ')); } catch (UriFormatException) { }
        return s.Replace('_', ' ');
    }
}

/// <summary>Registers the world views as the HTML rendering of pages and search results.</summary>
internal sealed class WorldFormatters : INotebookFormatters
{
    public void Register()
    {
        QuestNotebook.RegisterHtml<Page>(p => WorldHtml.Page(p).Html);
        QuestNotebook.RegisterHtml<SearchResults>(r => WorldHtml.Results(r).Html);
    }
}
