using System.Text.Json.Nodes;
using PChart = Plotly.NET.CSharp.Chart;

namespace Quest.Interactive;

/// <summary>
/// Factories for the charts notebooks need, each returning a <see cref="PlotlyFigure"/> to adjust and show. The traces
/// are built with Plotly.NET (through Plotly.NET.CSharp; see <see cref="PlotlyNet"/>), so a chart the kit has no
/// factory for is one Plotly.NET call away and shows the same way.
/// <code>
/// Charts.Line(steps, losses, name: "train").WithTitle("Loss").WithAxisTitles("step", "loss")
/// Charts.Lines(steps, ("train", train), ("valid", valid))
/// Charts.Bar(new[] { "a", "b" }, new[] { 0.5, 0.9 })
/// Charts.Sunburst(ids, labels, parents, values, colors)
/// </code>
/// </summary>
public static class Charts
{
    /// <summary>One line trace (with markers when <paramref name="markers"/>).</summary>
    public static PlotlyFigure Line<TX>(IEnumerable<TX> x, IEnumerable<double> y, string? name = null, string? title = null, bool markers = false) where TX : IConvertible =>
        New(title).AddTrace(LineTrace(x, y, name, markers));

    /// <summary>Several line traces sharing one x axis: <c>Charts.Lines(steps, ("train", a), ("valid", b))</c>.</summary>
    public static PlotlyFigure Lines<TX>(IEnumerable<TX> x, params (string Name, IEnumerable<double> Y)[] series) where TX : IConvertible
    {
        var xs = x.ToList();
        var fig = New(null);
        foreach (var (name, y) in series) fig.AddTrace(LineTrace(xs, y, name, markers: false));
        return fig;
    }

    /// <summary>A scatter plot (markers only); <paramref name="text"/> gives each point a hover label.</summary>
    public static PlotlyFigure Scatter<TX>(IEnumerable<TX> x, IEnumerable<double> y, string? name = null, IEnumerable<string>? text = null, string? title = null)
        where TX : IConvertible
    {
        var trace = PChart.Point<TX, double, string>(x: x, y: y, Name: Opt(name), MultiText: Opt(text)).ToTrace();
        return New(title).AddTrace(trace);
    }

    /// <summary>A bar chart of one series; <paramref name="horizontal"/> puts categories on the y axis.</summary>
    public static PlotlyFigure Bar<TX>(IEnumerable<TX> categories, IEnumerable<double> values, string? name = null, string? title = null, bool horizontal = false) where TX : IConvertible =>
        New(title).AddTrace(BarTrace(categories, values, name, horizontal));

    /// <summary>Grouped bars, one trace per series: <c>Charts.Bars(tasks, ("base", a), ("sft", b))</c>. Use <c>.WithLayout("barmode", "stack")</c> to stack.</summary>
    public static PlotlyFigure Bars<TX>(IEnumerable<TX> categories, params (string Name, IEnumerable<double> Values)[] series) where TX : IConvertible
    {
        var cats = categories.ToList();
        var fig = New(null).WithLayout("barmode", "group");
        foreach (var (name, values) in series) fig.AddTrace(BarTrace(cats, values, name, horizontal: false));
        return fig;
    }

    /// <summary>A histogram of raw values; <paramref name="bins"/> sets the approximate number of bins (plotly picks when null).</summary>
    public static PlotlyFigure Histogram(IEnumerable<double> values, int? bins = null, string? name = null, string? title = null)
    {
        var trace = PChart.Histogram<double, double, string>(X: Opt(values), NBinsX: Opt(bins), Name: Opt(name)).ToTrace();
        return New(title).AddTrace(trace);
    }

    /// <summary>A heat map of <paramref name="z"/> (rows are y, columns are x), e.g. attention weights; labels are optional.</summary>
    public static PlotlyFigure Heatmap(double[,] z, IEnumerable<string>? xLabels = null, IEnumerable<string>? yLabels = null, string? title = null, string colorscale = "Viridis")
    {
        var rows = Enumerable.Range(0, z.GetLength(0)).Select(i => Enumerable.Range(0, z.GetLength(1)).Select(j => z[i, j]).ToArray()).ToArray();
        var trace = PChart.Heatmap<double, string, string, string>(zData: rows, X: Opt(xLabels), Y: Opt(yLabels)).ToTrace();
        trace["colorscale"] = colorscale;
        var fig = New(title).AddTrace(trace);
        fig.Layout["yaxis"] = new JsonObject { ["autorange"] = "reversed" };
        return fig;
    }

    /// <summary>
    /// A sunburst: node <paramref name="ids"/>, display <paramref name="labels"/>, <paramref name="parents"/> ("" for the
    /// root) and <paramref name="values"/> (with <c>branchvalues: "total"</c>, a parent's value must be at least the sum of
    /// its children's). <paramref name="colors"/> are CSS colours per node; <paramref name="hoverText"/> extra hover lines.
    /// </summary>
    public static PlotlyFigure Sunburst(IEnumerable<string> ids, IEnumerable<string> labels, IEnumerable<string> parents, IEnumerable<double> values,
        IEnumerable<string>? colors = null, IEnumerable<string>? hoverText = null, string? title = null, bool branchValuesTotal = true)
    {
        var idList = ids.ToList();
        var labelList = labels.ToList();
        var parentList = parents.ToList();
        var valueList = values.ToList();
        if (labelList.Count != idList.Count || parentList.Count != idList.Count || valueList.Count != idList.Count)
            throw new ArgumentException($"Sunburst needs as many labels, parents and values as ids (ids {idList.Count}, labels {labelList.Count}, parents {parentList.Count}, values {valueList.Count}).");
        var trace = new JsonObject
        {
            ["type"] = "sunburst",
            ["ids"] = Array(idList),
            ["labels"] = Array(labelList),
            ["parents"] = Array(parentList),
            ["values"] = Numbers(valueList),
            ["branchvalues"] = branchValuesTotal ? "total" : "remainder",
        };
        if (colors is not null)
        {
            var c = colors.ToList();
            if (c.Count != idList.Count) throw new ArgumentException($"Sunburst needs one colour per id ({idList.Count}), got {c.Count}.");
            trace["marker"] = new JsonObject { ["colors"] = Array(c) };
        }
        if (hoverText is not null)
        {
            trace["hovertext"] = Array(hoverText);
            trace["hoverinfo"] = "label+text+value";
        }
        var fig = New(title);
        fig.Layout["margin"] = new JsonObject { ["t"] = title is null ? 10 : 40, ["l"] = 0, ["r"] = 0, ["b"] = 0 };
        return fig.AddTrace(trace);
    }

    /// <summary>A line trace object (for <see cref="PlotlyFigure.AddTrace"/>).</summary>
    public static JsonObject LineTrace<TX>(IEnumerable<TX> x, IEnumerable<double> y, string? name = null, bool markers = false) where TX : IConvertible =>
        PChart.Line<TX, double, string>(x: x, y: y, Name: Opt(name), ShowMarkers: markers).ToTrace();

    /// <summary>A bar trace object (for <see cref="PlotlyFigure.AddTrace"/>).</summary>
    public static JsonObject BarTrace<TX>(IEnumerable<TX> categories, IEnumerable<double> values, string? name = null, bool horizontal = false) where TX : IConvertible =>
        horizontal ? PChart.Bar<double, TX, string>(values: values, Keys: Opt(categories), Name: Opt(name)).ToTrace()
                   : PChart.Column<double, TX, string>(values: values, Keys: Opt(categories), Name: Opt(name)).ToTrace();

    /// <summary>Numbers as a JSON array; NaN and infinities become null (a gap in plotly.js).</summary>
    public static JsonArray Numbers(IEnumerable<double> values) => new(values.Select(Num).ToArray());

    /// <summary>Any values as a JSON array (numbers stay numbers, strings stay strings; NaN becomes null).</summary>
    public static JsonArray Array<T>(IEnumerable<T> values) => new(values.Select(v => ToNode(v)).ToArray());

    private static JsonNode? Num(double v) => double.IsFinite(v) ? JsonValue.Create(v) : null;

    private static JsonNode? ToNode<T>(T v) => v switch
    {
        null => null,
        double d => Num(d),
        float f => Num(f),
        int or long or short or byte or uint or ulong or decimal => JsonValue.Create(Convert.ToDecimal(v, System.Globalization.CultureInfo.InvariantCulture)),
        string s => JsonValue.Create(s),
        bool b => JsonValue.Create(b),
        DateTime dt => JsonValue.Create(dt.ToString("o")),
        DateTimeOffset dto => JsonValue.Create(dto.ToString("o")),
        JsonNode n => n.DeepClone(),
        _ => JsonValue.Create(v.ToString()),
    };

    // Plotly.NET.CSharp's optional arguments: a null means "not given".
    private static Plotly.NET.CSharp.Optional<T> Opt<T>(T? value) where T : class => new(value!, value is not null);
    private static Plotly.NET.CSharp.Optional<T> Opt<T>(T? value) where T : struct => new(value.GetValueOrDefault(), value.HasValue);

    private static PlotlyFigure New(string? title)
    {
        var fig = new PlotlyFigure();
        fig.Layout["margin"] = new JsonObject { ["t"] = title is null ? 30 : 50, ["l"] = 60, ["r"] = 20, ["b"] = 50 };
        if (title is not null) fig.WithTitle(title);
        return fig;
    }
}
