using System.Text.Json.Nodes;
using Microsoft.FSharp.Core;
using Plotly.NET;
using Plotly.NET.CSharp;

namespace Quest.Interactive;

/// <summary>
/// C# shorthands over Plotly.NET's styles for what notebooks do most (titles, axis titles, a log axis, height, bar mode,
/// error bars). Plotly.NET's own F# styles (<c>Plotly.NET.Chart.withXxx(...).Invoke(chart)</c>) and Plotly.NET.CSharp's
/// extensions (<c>chart.WithXAxisStyle&lt;double, double, string&gt;(...)</c>, <c>WithSize</c>, <c>WithLegendStyle</c>)
/// apply as well; these exist because F# optional arguments cost C# a dozen <c>null</c>s each. Like Plotly.NET's
/// styles, each returns the chart with the style merged into its layout or traces.
/// </summary>
public static class ChartStyle
{
    /// <summary>The height of a kit chart unless set otherwise (Plotly.NET's default is 600 × 600 px).</summary>
    public const int DefaultHeight = 420;

    /// <summary>
    /// The kit's look on a Plotly.NET chart: Plotly.NET's template (kept: its axes grow the margins to fit their labels),
    /// the width left to the page instead of Plotly.NET's fixed 600 px, <see cref="DefaultHeight"/> instead of its 600 px
    /// (a size set by hand stays), slim margins, no plotly logo, and <paramref name="title"/> when given.
    /// </summary>
    public static GenericChart Styled(this GenericChart chart, string? title = null)
    {
        var layout = GenericChart.getLayout(chart);
        if (layout.TryGetTypedPropertyValue<int>("width") is { } w && w.Value == Defaults.DefaultWidth) layout.RemoveProperty("width");
        if (layout.TryGetTypedPropertyValue<int>("height") is { } h && h.Value == Defaults.DefaultHeight) layout.SetProperty("height", DefaultHeight);
        GenericChart.getConfig(chart).SetProperty("displaylogo", false);
        if (layout.TryGetPropertyValue("margin") is null) chart = chart.WithMargins(top: title is null ? 30 : 50, left: 50, right: 20, bottom: 40);
        return title is null ? chart : chart.WithTitle(title);
    }

    /// <summary>Sets the chart's title.</summary>
    public static GenericChart WithTitle(this GenericChart chart, string title) => Plotly.NET.Chart.withTitle(title, null).Invoke(chart);

    /// <summary>Sets the x-axis title and, when given, the y-axis title (the rest of each axis' style stays).</summary>
    public static GenericChart WithAxisTitles(this GenericChart chart, string? x, string? y = null)
    {
        if (x is not null) chart = chart.WithXAxisStyle<double, double, string>(TitleText: x);
        if (y is not null) chart = chart.WithYAxisStyle<double, double, string>(TitleText: y);
        return chart;
    }

    /// <summary>Makes the y axis logarithmic (loss curves) or, with <c>false</c>, linear again.</summary>
    public static GenericChart WithLogY(this GenericChart chart, bool log = true) =>
        chart.WithYAxisStyle<double, double, string>(AxisType: log ? StyleParam.AxisType.Log : StyleParam.AxisType.Linear);

    /// <summary>Ranges the y axis to [<paramref name="min"/>, <paramref name="max"/>] (instead of plotly.js' automatic range).</summary>
    public static GenericChart WithYRange(this GenericChart chart, double min, double max) =>
        chart.WithYAxisStyle<double, double, string>(MinMax: Tuple.Create(min, max));

    /// <summary>Sets the height in pixels (the width stays the page's).</summary>
    public static GenericChart WithHeight(this GenericChart chart, int height) =>
        Plotly.NET.Chart.withSize(FSharpOption<int>.None, FSharpOption<int>.Some(height)).Invoke(chart);

    /// <summary>Sets the margins in pixels (Plotly.NET's template still grows them to fit axis labels).</summary>
    public static GenericChart WithMargins(this GenericChart chart, int top, int left, int right, int bottom) =>
        Plotly.NET.Chart.withMarginSize(FSharpOption<int>.Some(left), FSharpOption<int>.Some(right), FSharpOption<int>.Some(top), FSharpOption<int>.Some(bottom),
            FSharpOption<int>.None, FSharpOption<bool>.None).Invoke(chart);

    /// <summary>How bars of several series share a category: <c>Group</c> (side by side), <c>Stack</c>, <c>Overlay</c>, <c>Relative</c>.</summary>
    public static GenericChart WithBarMode(this GenericChart chart, StyleParam.BarMode mode)
    {
        GenericChart.getLayout(chart).SetProperty("barmode", StyleParam.BarMode.toString.Invoke(mode));
        return chart;
    }

    /// <summary>Asymmetric y error bars on every trace: <paramref name="plus"/> above and <paramref name="minus"/> below each value (e.g. a bootstrap interval).</summary>
    public static GenericChart WithYErrorBars(this GenericChart chart, IEnumerable<double> plus, IEnumerable<double> minus) =>
        Plotly.NET.Chart.withYErrorStyle<double, double>(FSharpOption<bool>.None, FSharpOption<StyleParam.ErrorType>.Some(StyleParam.ErrorType.Data),
            FSharpOption<bool>.Some(false), FSharpOption<IEnumerable<double>>.Some(plus.ToList()), FSharpOption<IEnumerable<double>>.Some(minus.ToList()),
            FSharpOption<double>.None, FSharpOption<double>.None, FSharpOption<int>.None, FSharpOption<int>.None, FSharpOption<bool>.None,
            FSharpOption<Color>.None, FSharpOption<double>.None, FSharpOption<double>.None).Invoke(chart);

    /// <summary>Vertical dashed lines across the plot at each x (e.g. where the context was condensed), in the CSS colours given.</summary>
    public static GenericChart WithVerticalLines(this GenericChart chart, IEnumerable<(double X, string Css)> lines)
    {
        var shapes = lines.Select(l =>
        {
            var s = new Plotly.NET.LayoutObjects.Shape();
            s.SetProperty("type", "line");
            s.SetProperty("xref", "x");
            s.SetProperty("yref", "paper");
            s.SetProperty("x0", l.X);
            s.SetProperty("x1", l.X);
            s.SetProperty("y0", 0);
            s.SetProperty("y1", 1);
            var line = new Line();
            line.SetProperty("dash", "dash");
            line.SetProperty("color", l.Css);
            line.SetProperty("width", 1);
            s.SetProperty("line", line);
            return s;
        }).ToList();
        return shapes.Count == 0 ? chart : Plotly.NET.Chart.withShapes(shapes, FSharpOption<bool>.Some(true)).Invoke(chart);
    }

    /// <summary>Sets a plotly.js attribute Plotly.NET has no style for on every trace, e.g. <c>("hoverinfo", "label+text")</c>.</summary>
    public static GenericChart WithTraceProperty(this GenericChart chart, string name, object value) =>
        GenericChart.mapTrace(FSharpFunc<Trace, Trace>.FromConverter(t => { t.SetProperty(name, value); return t; }), chart);

    /// <summary>The chart as plotly.js JSON, <c>{"data": [...], "layout": {...}}</c> (Plotly.NET's <c>toFigureJson</c>).</summary>
    public static string ToJson(this GenericChart chart) => GenericChart.toFigureJson(chart);

    /// <summary>The chart's plotly.js JSON as a tree to read (tests, checks): <c>chart.ToJsonNode()["data"][0]["type"]</c>.</summary>
    public static JsonObject ToJsonNode(this GenericChart chart) => JsonNode.Parse(chart.ToJson())!.AsObject();

    /// <summary>A one-line summary: title, trace types, names and point counts (the plain-text rendering).</summary>
    public static string Describe(this GenericChart chart)
    {
        var root = chart.ToJsonNode();
        var traces = string.Join(", ", (root["data"]?.AsArray() ?? []).Select(t =>
        {
            var type = t?["type"]?.GetValue<string>() ?? "scatter";
            var n = (t?["y"] ?? t?["values"] ?? t?["x"] ?? t?["z"]) is JsonArray a ? a.Count : 0;
            var name = t?["name"]?.GetValue<string>();
            return name is null ? $"{type}[{n}]" : $"{type} '{name}'[{n}]";
        }));
        var title = root["layout"]?["title"]?["text"]?.GetValue<string>();
        return $"Chart '{title ?? "(untitled)"}': {traces}";
    }
}
