using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Quest.Interactive;

/// <summary>
/// A plotly.js figure: a list of traces (<see cref="Data"/>), a <see cref="Layout"/> and a <see cref="Config"/>, kept as
/// plain JSON so it renders the same in the in-process kernel, in Jupyter's .NET kernel and in a saved HTML file.
/// Build one with the factories on <see cref="Charts"/>, adjust it with the fluent <c>With*</c> methods, and show it
/// by making it a cell's last expression (after <see cref="QuestNotebook.Init"/>) or with <see cref="ToHtml"/>.
/// </summary>
/// <remarks>
/// Any plotly.js attribute is reachable: <c>fig.Layout["xaxis"] = new JsonObject { ["type"] = "log" }</c> or
/// <c>fig.AddTrace(new JsonObject { ["type"] = "violin", ... })</c>. See https://plotly.com/javascript/reference/.
/// Non-finite numbers (NaN, ±∞) become JSON <c>null</c>, which plotly.js draws as gaps.
/// </remarks>
public sealed class PlotlyFigure
{
    private static int s_counter;

    /// <summary>The traces, in drawing order. Each is a plotly.js trace object (it has a <c>"type"</c>).</summary>
    public List<JsonObject> Data { get; } = new();

    /// <summary>The plotly.js layout object (title, axes, size, legend...).</summary>
    public JsonObject Layout { get; } = new();

    /// <summary>The plotly.js config object (defaults: responsive, no logo).</summary>
    public JsonObject Config { get; } = new() { ["responsive"] = true, ["displaylogo"] = false };

    /// <summary>Adds a trace and returns this figure.</summary>
    public PlotlyFigure AddTrace(JsonObject trace)
    {
        ArgumentNullException.ThrowIfNull(trace);
        Data.Add(trace);
        return this;
    }

    /// <summary>Adds every trace of <paramref name="other"/> (deep copies) to this figure and returns this figure.</summary>
    public PlotlyFigure Combine(PlotlyFigure other)
    {
        foreach (var t in other.Data) Data.Add((JsonObject)t.DeepClone());
        return this;
    }

    /// <summary>Sets the figure title.</summary>
    public PlotlyFigure WithTitle(string title)
    {
        Layout["title"] = new JsonObject { ["text"] = title };
        return this;
    }

    /// <summary>Sets the x-axis title (and optionally the y-axis title).</summary>
    public PlotlyFigure WithAxisTitles(string? x, string? y = null)
    {
        if (x is not null) Axis("xaxis")["title"] = new JsonObject { ["text"] = x };
        if (y is not null) Axis("yaxis")["title"] = new JsonObject { ["text"] = y };
        return this;
    }

    /// <summary>Makes the y axis logarithmic (handy for loss curves).</summary>
    public PlotlyFigure WithLogY(bool log = true)
    {
        Axis("yaxis")["type"] = log ? "log" : "linear";
        return this;
    }

    /// <summary>Sets a fixed size in pixels; null leaves that dimension to the container.</summary>
    public PlotlyFigure WithSize(int? width, int? height)
    {
        if (width is { } w) Layout["width"] = w; else Layout.Remove("width");
        if (height is { } h) Layout["height"] = h; else Layout.Remove("height");
        return this;
    }

    /// <summary>Sets any layout attribute, e.g. <c>WithLayout("barmode", "stack")</c>.</summary>
    public PlotlyFigure WithLayout(string key, JsonNode? value)
    {
        Layout[key] = value;
        return this;
    }

    private JsonObject Axis(string name)
    {
        if (Layout[name] is JsonObject o) return o;
        var axis = new JsonObject();
        Layout[name] = axis;
        return axis;
    }

    /// <summary>The figure as plotly.js JSON: <c>{"data": [...], "layout": {...}, "config": {...}}</c>.</summary>
    public string ToJson(bool indented = false)
    {
        var root = new JsonObject
        {
            ["data"] = new JsonArray(Data.Select(d => (JsonNode)d.DeepClone()).ToArray()),
            ["layout"] = Layout.DeepClone(),
            ["config"] = Config.DeepClone(),
        };
        return root.ToJsonString(new JsonSerializerOptions { WriteIndented = indented });
    }

    /// <summary>
    /// An HTML fragment (a div and a script) that draws the figure in a notebook output. How plotly.js is found is set
    /// by <see cref="PlotlyJs"/>: inlined from a local file when one is configured (offline), else loaded from a CDN
    /// (through require.js when the page has it, as in classic Jupyter; through a script tag otherwise).
    /// </summary>
    public string ToHtml() => BuildHtml(PlotlyJs.ScriptForFragment());

    /// <summary>The figure's div and drawing script without plotly.js, for a page that loads plotly.js once (<see cref="HtmlReport"/>).</summary>
    public string ToHtmlDiv() => BuildHtml("");

    /// <summary>A complete HTML page for the figure, e.g. for a report file, with plotly.js inlined (see <see cref="PlotlyJs"/>).</summary>
    public string ToHtmlDocument(string? title = null) => new HtmlReport(title ?? TitleText ?? "Quest chart").Add(this).ToHtml();

    /// <summary>Writes <see cref="ToHtmlDocument"/> to <paramref name="path"/> atomically and returns the full path.</summary>
    public string SaveHtml(string path, string? title = null)
    {
        var full = Path.GetFullPath(path);
        Quest.Core.AtomicFile.WriteAllText(full, ToHtmlDocument(title));
        return full;
    }

    /// <summary>The title text, if one is set.</summary>
    public string? TitleText => Layout["title"] switch
    {
        JsonObject o => o["text"]?.GetValue<string>(),
        JsonValue v when v.TryGetValue<string>(out var s) => s,
        _ => null,
    };

    /// <summary>A one-line summary (title, trace types and point counts); the plain-text rendering.</summary>
    public override string ToString()
    {
        var traces = string.Join(", ", Data.Select(t =>
        {
            var type = t["type"]?.GetValue<string>() ?? "scatter";
            var n = (t["y"] ?? t["values"] ?? t["x"] ?? t["z"]) is JsonArray a ? a.Count : 0;
            var name = t["name"]?.GetValue<string>();
            return name is null ? $"{type}[{n}]" : $"{type} '{name}'[{n}]";
        }));
        return $"PlotlyFigure '{TitleText ?? "(untitled)"}': {traces}";
    }

    private string BuildHtml(string loader)
    {
        var id = "quest-plot-" + Interlocked.Increment(ref s_counter).ToString(CultureInfo.InvariantCulture) + "-"
                 + Guid.NewGuid().ToString("N")[..8];
        var height = Layout["height"] is JsonValue hv && hv.TryGetValue<int>(out var h) ? h : 420;
        var width = Layout["width"] is JsonValue wv && wv.TryGetValue<int>(out var w) ? $"{w}px" : "100%";
        // "</" inside a script block would end it early; JSON allows the escaped form.
        var json = ToJson().Replace("</", "<\\/", StringComparison.Ordinal);
        var sb = new StringBuilder();
        sb.Append("<div id=\"").Append(id).Append("\" class=\"quest-plotly\" style=\"width:").Append(width)
          .Append(";height:").Append(height.ToString(CultureInfo.InvariantCulture)).Append("px;\"></div>\n");
        sb.Append(loader);
        sb.Append("<script type=\"text/javascript\">\n(function () {\n")
          .Append("  var fig = ").Append(json).Append(";\n")
          .Append("  var draw = function (P) { P.newPlot('").Append(id).Append("', fig.data, fig.layout, fig.config); };\n")
          .Append(PlotlyJs.LoaderScript(id))
          .Append("})();\n</script>");
        return sb.ToString();
    }
}
