using System.Net;
using System.Text;

namespace Quest.Interactive;

/// <summary>
/// A self-contained HTML page of headings, text, tables and charts (<c>quest report</c>, the analysis script); each
/// chart is Plotly.NET's div and script (<see cref="ChartHtml.ToHtmlDiv"/>). plotly.js is inlined once at
/// the top (see <see cref="PlotlyJs"/>: offline by default), so the page opens on a machine with no network.
/// <code>new HtmlReport("run tiny").Heading("Ablation").Add(table).Add(chart).Save("report.html");</code>
/// </summary>
public sealed class HtmlReport
{
    private readonly List<(string Html, bool IsFigure)> _parts = [];

    /// <summary>Starts a page with a title (shown as the first heading too).</summary>
    public HtmlReport(string title) => Title = title;

    /// <summary>The page title.</summary>
    public string Title { get; }

    /// <summary>Number of charts added.</summary>
    public int Figures => _parts.Count(p => p.IsFigure);

    /// <summary>Adds a section heading (level 2 by default).</summary>
    public HtmlReport Heading(string text, int level = 2) { _parts.Add(($"<h{level}>{Html.Escape(text)}</h{level}>", false)); return this; }

    /// <summary>Adds a paragraph of plain text (escaped).</summary>
    public HtmlReport Text(string text) { _parts.Add(($"<p>{Html.Escape(text)}</p>", false)); return this; }

    /// <summary>Adds an HTML fragment (a table, a transcript, badges…).</summary>
    public HtmlReport Add(HtmlFragment html) { _parts.Add((html.Html, false)); return this; }

    /// <summary>Adds a chart.</summary>
    public HtmlReport Add(Plotly.NET.GenericChart chart) { _parts.Add((chart.ToHtmlDiv(), true)); return this; }

    /// <summary>Adds preformatted text (e.g. a fixed-width table the CLI prints).</summary>
    public HtmlReport Pre(string text) => Add(Html.Pre(text));

    /// <summary>The page.</summary>
    public string ToHtml()
    {
        var sb = new StringBuilder();
        sb.Append("<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"/><title>").Append(WebUtility.HtmlEncode(Title)).Append("</title>\n")
          .Append("<style>body{font-family:sans-serif;max-width:1200px;margin:1em auto;padding:0 1em} table{border-collapse:collapse} ")
          .Append("td,th{padding:2px 8px;border-bottom:1px solid #ddd;text-align:left} pre{background:#f6f6f6;padding:8px;overflow:auto}</style>\n")
          .Append("</head><body>\n");
        if (_parts.Any(p => p.IsFigure)) sb.Append(PlotlyJs.ScriptForDocument());
        sb.Append("<h1>").Append(Html.Escape(Title)).Append("</h1>\n");
        foreach (var (html, _) in _parts) sb.Append(html).Append('\n');
        sb.Append("</body></html>\n");
        return sb.ToString();
    }

    /// <summary>Writes the page atomically and returns its full path.</summary>
    public string Save(string path)
    {
        var full = Path.GetFullPath(path);
        Quest.Core.AtomicFile.WriteAllText(full, ToHtml());
        return full;
    }
}
