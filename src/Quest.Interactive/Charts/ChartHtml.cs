using Microsoft.DotNet.Interactive.Formatting;
using Microsoft.FSharp.Core;
using Plotly.NET;

namespace Quest.Interactive;

/// <summary>
/// Charts as HTML, written by Plotly.NET (<c>GenericChart.toChartHTML</c> for a chart's div and script,
/// <c>toEmbeddedHTML</c> for a page) with plotly.js from <see cref="PlotlyJs"/>: offline unless asked otherwise. A chart
/// as a cell's last value is drawn through <see cref="ToHtml"/> (registered by <see cref="QuestNotebook.Init"/>).
/// </summary>
public static class ChartHtml
{
    /// <summary>
    /// A notebook output: plotly.js (inlined when this session has not inlined it yet; <see cref="PlotlyJs"/>) followed by
    /// the chart's div and drawing script.
    /// </summary>
    public static string ToHtml(this GenericChart chart) => PlotlyJs.ScriptForFragment() + Render(chart, PlotlyJs.FragmentReference, document: false);

    /// <summary>The chart's div and drawing script, for a page that loads plotly.js once (<see cref="HtmlReport"/>).</summary>
    public static string ToHtmlDiv(this GenericChart chart) => Render(chart, PlotlyJSReference.NoReference, document: false);

    /// <summary>A page of its own for the chart, plotly.js inlined (Plotly.NET's <c>PlotlyJSReference.Full</c>) unless <see cref="PlotlyJs.UseCdn"/>.</summary>
    public static string ToHtmlDocument(this GenericChart chart, string? title = null)
    {
        var titled = Plotly.NET.Chart.withDisplayOptionsStyle(FSharpOption<string>.Some(title ?? TitleOf(chart) ?? "Quest chart"), null, null, null, null, null, null).Invoke(chart);
        return Render(titled, PlotlyJs.DocumentReference, document: true);   // Render sets the plotly.js reference
    }

    /// <summary>Writes <see cref="ToHtmlDocument"/> to <paramref name="path"/> atomically and returns the full path.</summary>
    public static string SaveHtml(this GenericChart chart, string path, string? title = null)
    {
        var full = Path.GetFullPath(path);
        Quest.Core.AtomicFile.WriteAllText(full, chart.ToHtmlDocument(title));
        return full;
    }

    private static string Render(GenericChart chart, PlotlyJSReference reference, bool document)
    {
        var withRef = Plotly.NET.Chart.withDisplayOptionsStyle(null, null, null, null, null, null, FSharpOption<PlotlyJSReference>.Some(reference)).Invoke(chart);
        return EscapeScript(document ? GenericChart.toEmbeddedHTML(withRef) : GenericChart.toChartHTML(withRef));
    }

    /// <summary>
    /// Plotly.NET writes the chart's JSON into its script as is, so a label containing <c>&lt;/script&gt;</c> would end the
    /// script early; inside the chart's script every <c>&lt;/</c> becomes <c>&lt;\/</c> (the same string to JavaScript).
    /// </summary>
    private static string EscapeScript(string html)
    {
        int start = html.IndexOf("var renderPlotly_", StringComparison.Ordinal), end = html.LastIndexOf("</script>", StringComparison.Ordinal);
        if (start < 0 || end <= start) return html;
        return string.Concat(html.AsSpan(0, start), html[start..end].Replace("</", "<\\/", StringComparison.Ordinal), html.AsSpan(end));
    }

    private static string? TitleOf(GenericChart chart) => chart.ToJsonNode()["layout"]?["title"]?["text"]?.GetValue<string>();
}

/// <summary>Plotly.NET charts display through <see cref="ChartHtml.ToHtml"/> (offline plotly.js), not Plotly.NET.Interactive's CDN formatter.</summary>
internal sealed class ChartFormatters : INotebookFormatters
{
    public void Register()
    {
        QuestNotebook.RegisterHtml<GenericChart>(c => c.ToHtml());
        Formatter.Register<GenericChart>((c, w) => w.Write(c.Describe()), PlainTextFormatter.MimeType);
    }
}
