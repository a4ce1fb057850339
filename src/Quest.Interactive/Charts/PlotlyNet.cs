using System.Text.Json.Nodes;
using Plotly.NET;

namespace Quest.Interactive;

/// <summary>
/// The bridge from Plotly.NET, the kit's chart-building API, to <see cref="PlotlyFigure"/>, the kit's one chart
/// writer (offline plotly.js, notebook outputs, saved pages). Build any chart with Plotly.NET (or Plotly.NET.CSharp)
/// and show it: as a cell's last value it displays through the kit (a formatter is registered by
/// <c>QuestNotebook.Init()</c>), or convert it with <see cref="ToFigure"/> to adjust it, combine it or save it.
/// <code>Plotly.NET.CSharp.Chart.Line&lt;int, double, string&gt;(x: steps, y: loss, Name: "loss").ToFigure().WithLogY()</code>
/// Plotly.NET's default template and its fixed 600×600 size are left out, so its charts look and size like the rest.
/// </summary>
public static class PlotlyNet
{
    /// <summary>The figure of a Plotly.NET chart (its data, layout and config as plotly.js JSON).</summary>
    public static PlotlyFigure ToFigure(this GenericChart chart)
    {
        ArgumentNullException.ThrowIfNull(chart);
        var root = JsonNode.Parse(GenericChart.toJson(chart))!.AsObject();
        var fig = new PlotlyFigure();
        foreach (var t in root["data"]?.AsArray() ?? [])
            if (t is JsonObject trace) fig.AddTrace(Clean((JsonObject)trace.DeepClone()));
        if (root["layout"] is JsonObject layout)
            foreach (var (k, v) in layout)
                if (k is not ("template" or "width" or "height")) fig.Layout[k] = v?.DeepClone();
        if (root["config"] is JsonObject config)
            foreach (var (k, v) in config) fig.Config[k] = v?.DeepClone();
        return fig;
    }

    /// <summary>The first trace of a Plotly.NET chart, for <see cref="PlotlyFigure.AddTrace"/>.</summary>
    public static JsonObject ToTrace(this GenericChart chart) => chart.ToFigure().Data[0];

    // Plotly.NET writes NaN and infinities as the strings "NaN" / "Infinity" (plotly.js draws a gap for null) and every
    // double with a decimal point (3.0); numbers are rewritten the way the rest of the kit writes them (3, 1.5).
    private static JsonObject Clean(JsonObject trace)
    {
        foreach (var key in new[] { "x", "y", "z", "values" })
            if (trace[key] is JsonArray a) Normalize(a);
        foreach (var key in new[] { "marker", "line" })
            if (trace[key] is JsonObject { Count: 0 }) trace.Remove(key);
        return trace;
    }

    private static void Normalize(JsonArray a)
    {
        for (int i = 0; i < a.Count; i++)
        {
            if (a[i] is JsonArray inner) Normalize(inner);
            else if (a[i] is JsonValue v && v.TryGetValue<string>(out var s) && s is "NaN" or "Infinity" or "-Infinity") a[i] = null;
            else if (a[i] is JsonValue n && n.GetValueKind() == System.Text.Json.JsonValueKind.Number) a[i] = JsonValue.Create(n.GetValue<double>());
        }
    }
}

/// <summary>Plotly.NET charts display through the kit's writer (offline plotly.js), not Plotly.NET.Interactive's CDN formatter.</summary>
internal sealed class PlotlyNetFormatters : INotebookFormatters
{
    public void Register() => QuestNotebook.RegisterHtml<GenericChart>(c => c.ToFigure().ToHtml());
}
