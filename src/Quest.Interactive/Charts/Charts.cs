using System.Text.Json.Nodes;

namespace Quest.Interactive;

/// <summary>
/// Factories for the charts notebooks need, each returning a <see cref="PlotlyFigure"/> to adjust and show.
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
    public static PlotlyFigure Line<TX>(IEnumerable<TX> x, IEnumerable<double> y, string? name = null, string? title = null, bool markers = false) =>
        New(title).AddTrace(LineTrace(x, y, name, markers));

    /// <summary>Several line traces sharing one x axis: <c>Charts.Lines(steps, ("train", a), ("valid", b))</c>.</summary>
    public static PlotlyFigure Lines<TX>(IEnumerable<TX> x, params (string Name, IEnumerable<double> Y)[] series)
    {
        var xs = x.ToList();
        var fig = New(null);
        foreach (var (name, y) in series) fig.AddTrace(LineTrace(xs, y, name, markers: false));
        return fig;
    }

    /// <summary>A scatter plot (markers only); <paramref name="text"/> gives each point a hover label.</summary>
    public static PlotlyFigure Scatter<TX>(IEnumerable<TX> x, IEnumerable<double> y, string? name = null, IEnumerable<string>? text = null, string? title = null)
    {
        var trace = new JsonObject
        {
            ["type"] = "scatter",
            ["mode"] = "markers",
            ["x"] = Array(x),
            ["y"] = Numbers(y),
        };
        if (name is not null) trace["name"] = name;
        if (text is not null) trace["text"] = Array(text);
        return New(title).AddTrace(trace);
    }

    /// <summary>A bar chart of one series; <paramref name="horizontal"/> puts categories on the y axis.</summary>
    public static PlotlyFigure Bar<TX>(IEnumerable<TX> categories, IEnumerable<double> values, string? name = null, string? title = null, bool horizontal = false) =>
        New(title).AddTrace(BarTrace(categories, values, name, horizontal));

    /// <summary>Grouped bars, one trace per series: <c>Charts.Bars(tasks, ("base", a), ("sft", b))</c>. Use <c>.WithLayout("barmode", "stack")</c> to stack.</summary>
    public static PlotlyFigure Bars<TX>(IEnumerable<TX> categories, params (string Name, IEnumerable<double> Values)[] series)
    {
        var cats = categories.ToList();
        var fig = New(null).WithLayout("barmode", "group");
        foreach (var (name, values) in series) fig.AddTrace(BarTrace(cats, values, name, horizontal: false));
        return fig;
    }

    /// <summary>A histogram of raw values; <paramref name="bins"/> sets the approximate number of bins (plotly picks when null).</summary>
    public static PlotlyFigure Histogram(IEnumerable<double> values, int? bins = null, string? name = null, string? title = null)
    {
        var trace = new JsonObject { ["type"] = "histogram", ["x"] = Numbers(values) };
        if (bins is { } b) trace["nbinsx"] = b;
        if (name is not null) trace["name"] = name;
        return New(title).AddTrace(trace);
    }

    /// <summary>A heat map of <paramref name="z"/> (rows are y, columns are x), e.g. attention weights; labels are optional.</summary>
    public static PlotlyFigure Heatmap(double[,] z, IEnumerable<string>? xLabels = null, IEnumerable<string>? yLabels = null, string? title = null, string colorscale = "Viridis")
    {
        var rows = new JsonArray();
        for (var i = 0; i < z.GetLength(0); i++)
        {
            var row = new JsonArray();
            for (var j = 0; j < z.GetLength(1); j++) row.Add(Num(z[i, j]));
            rows.Add(row);
        }
        var trace = new JsonObject { ["type"] = "heatmap", ["z"] = rows, ["colorscale"] = colorscale };
        if (xLabels is not null) trace["x"] = Array(xLabels);
        if (yLabels is not null) trace["y"] = Array(yLabels);
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
    public static JsonObject LineTrace<TX>(IEnumerable<TX> x, IEnumerable<double> y, string? name = null, bool markers = false)
    {
        var trace = new JsonObject
        {
            ["type"] = "scatter",
            ["mode"] = markers ? "lines+markers" : "lines",
            ["x"] = Array(x),
            ["y"] = Numbers(y),
        };
        if (name is not null) trace["name"] = name;
        return trace;
    }

    /// <summary>A bar trace object (for <see cref="PlotlyFigure.AddTrace"/>).</summary>
    public static JsonObject BarTrace<TX>(IEnumerable<TX> categories, IEnumerable<double> values, string? name = null, bool horizontal = false)
    {
        var trace = new JsonObject
        {
            ["type"] = "bar",
            [horizontal ? "y" : "x"] = Array(categories),
            [horizontal ? "x" : "y"] = Numbers(values),
        };
        if (horizontal) trace["orientation"] = "h";
        if (name is not null) trace["name"] = name;
        return trace;
    }

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

    private static PlotlyFigure New(string? title)
    {
        var fig = new PlotlyFigure();
        fig.Layout["margin"] = new JsonObject { ["t"] = title is null ? 30 : 50, ["l"] = 60, ["r"] = 20, ["b"] = 50 };
        if (title is not null) fig.WithTitle(title);
        return fig;
    }
}
