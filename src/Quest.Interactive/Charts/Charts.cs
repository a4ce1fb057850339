using Plotly.NET;
using Plotly.NET.CSharp;
using PChart = Plotly.NET.CSharp.Chart;

namespace Quest.Interactive;

/// <summary>
/// Factories for the charts notebooks need. Each returns a Plotly.NET <see cref="GenericChart"/> (the kit's figure
/// model) in the kit's style (<see cref="ChartStyle.Styled"/>: Plotly.NET's template, full width, 420 px high), to adjust
/// with Plotly.NET's own styles or the kit's C# shorthands (<see cref="ChartStyle"/>) and to show as a cell's last
/// value. A chart the kit has no factory for is one Plotly.NET call away and shows the same way.
/// <code>
/// Charts.Line(steps, losses, name: "train").WithTitle("Loss").WithAxisTitles("step", "loss")
/// Charts.Lines(steps, ("train", train), ("valid", valid))
/// Charts.Bar(new[] { "a", "b" }, new[] { 0.5, 0.9 })
/// Charts.Combine(Charts.Line(x, a, "a"), Plotly.NET.CSharp.Chart.Area&lt;int, double, string&gt;(x: x, y: b, Name: "b"))
/// </code>
/// </summary>
public static class Charts
{
    /// <summary>One line (with markers when <paramref name="markers"/>); <paramref name="dash"/> and <paramref name="color"/> style it.</summary>
    public static GenericChart Line<TX>(IEnumerable<TX> x, IEnumerable<double> y, string? name = null, string? title = null, bool markers = false,
        StyleParam.DrawingStyle? dash = null, string? color = null) where TX : IConvertible =>
        PChart.Line<TX, double, string>(x: x, y: y, Name: Opt(name), ShowMarkers: markers, LineDash: Opt(dash), LineColor: Opt(ColorOf(color)))
            .Styled(title);

    /// <summary>Several lines sharing one x axis: <c>Charts.Lines(steps, ("train", a), ("valid", b))</c>.</summary>
    public static GenericChart Lines<TX>(IEnumerable<TX> x, params (string Name, IEnumerable<double> Y)[] series) where TX : IConvertible
    {
        var xs = x.ToList();
        return Combine(series.Select(s => Line(xs, s.Y, s.Name)));
    }

    /// <summary>
    /// Markers only; <paramref name="text"/> gives each point a hover label, <paramref name="symbol"/>, <paramref name="size"/>
    /// and <paramref name="color"/> style the markers.
    /// </summary>
    public static GenericChart Scatter<TX>(IEnumerable<TX> x, IEnumerable<double> y, string? name = null, IEnumerable<string>? text = null, string? title = null,
        StyleParam.MarkerSymbol? symbol = null, int? size = null, string? color = null) where TX : IConvertible
    {
        var marker = new Plotly.NET.TraceObjects.Marker();
        if (size is { } s) marker.SetProperty("size", s);
        return PChart.Point<TX, double, string>(x: x, y: y, Name: Opt(name), MultiText: Opt(text), MarkerSymbol: Opt(symbol), MarkerColor: Opt(ColorOf(color)),
            Marker: marker).Styled(title);
    }

    /// <summary>Bars of one series; <paramref name="horizontal"/> puts the categories on the y axis.</summary>
    public static GenericChart Bar<TX>(IEnumerable<TX> categories, IEnumerable<double> values, string? name = null, string? title = null, bool horizontal = false) where TX : IConvertible =>
        (horizontal ? PChart.Bar<double, TX, string>(values: values, Keys: Opt(categories), Name: Opt(name))
                    : PChart.Column<double, TX, string>(values: values, Keys: Opt(categories), Name: Opt(name))).Styled(title);

    /// <summary>Grouped bars, one series each: <c>Charts.Bars(tasks, ("base", a), ("sft", b))</c>. <c>.WithBarMode(StyleParam.BarMode.Stack)</c> stacks them.</summary>
    public static GenericChart Bars<TX>(IEnumerable<TX> categories, params (string Name, IEnumerable<double> Values)[] series) where TX : IConvertible
    {
        var cats = categories.ToList();
        return Combine(series.Select(s => Bar(cats, s.Values, s.Name))).WithBarMode(StyleParam.BarMode.Group);
    }

    /// <summary>A histogram of raw values; <paramref name="bins"/> sets the approximate number of bins (plotly.js picks when null).</summary>
    public static GenericChart Histogram(IEnumerable<double> values, int? bins = null, string? name = null, string? title = null) =>
        PChart.Histogram<double, double, string>(X: Opt(values), NBinsX: Opt(bins), Name: Opt(name)).Styled(title);

    /// <summary>
    /// A heat map of <paramref name="z"/> (rows are y, drawn top to bottom; columns are x), e.g. attention weights or
    /// rubric leaves by model; labels are optional, <paramref name="colorscale"/> defaults to Viridis (see <see cref="ColorScales"/>).
    /// </summary>
    public static GenericChart Heatmap(double[,] z, IEnumerable<string>? xLabels = null, IEnumerable<string>? yLabels = null, string? title = null,
        StyleParam.Colorscale? colorscale = null)
    {
        var rows = Enumerable.Range(0, z.GetLength(0)).Select(i => Enumerable.Range(0, z.GetLength(1)).Select(j => z[i, j]).ToArray()).ToArray();
        return PChart.Heatmap<double, string, string, string>(zData: rows, X: Opt(xLabels), Y: Opt(yLabels), ColorScale: colorscale ?? StyleParam.Colorscale.Viridis,
            ReverseYAxis: true).Styled(title);
    }

    /// <summary>
    /// A sunburst: node <paramref name="ids"/>, display <paramref name="labels"/>, <paramref name="parents"/> ("" for the
    /// root) and <paramref name="values"/> (with <paramref name="branchValuesTotal"/>, a parent's value must be at least the
    /// sum of its children's; else a node's own value is added to its children's). <paramref name="colors"/> are CSS
    /// colours per node; <paramref name="hoverText"/> extra hover lines.
    /// </summary>
    public static GenericChart Sunburst(IEnumerable<string> ids, IEnumerable<string> labels, IEnumerable<string> parents, IEnumerable<double> values,
        IEnumerable<string>? colors = null, IEnumerable<string>? hoverText = null, string? title = null, bool branchValuesTotal = true)
    {
        var idList = ids.ToList();
        var labelList = labels.ToList();
        var parentList = parents.ToList();
        var valueList = values.ToList();
        if (labelList.Count != idList.Count || parentList.Count != idList.Count || valueList.Count != idList.Count)
            throw new ArgumentException($"Sunburst needs as many labels, parents and values as ids (ids {idList.Count}, labels {labelList.Count}, parents {parentList.Count}, values {valueList.Count}).");
        var colorList = colors?.ToList();
        if (colorList is not null && colorList.Count != idList.Count) throw new ArgumentException($"Sunburst needs one colour per id ({idList.Count}), got {colorList.Count}.");
        var hover = hoverText?.ToList();
        var chart = PChart.Sunburst<string, string, double, string, string>(labels: labelList, parents: parentList, Values: valueList, Ids: idList,
            SectionColors: Opt(colorList?.Select(Color.fromString)),
            BranchValues: branchValuesTotal ? StyleParam.BranchValues.Total : StyleParam.BranchValues.Remainder);
        // extra hover lines go to hovertext (Plotly.NET's Text would print them on the sectors)
        if (hover is not null) chart = chart.WithTraceProperty("hovertext", hover).WithTraceProperty("hoverinfo", "label+text+value");
        return chart.Styled(title).WithMargins(top: title is null ? 10 : 40, left: 0, right: 0, bottom: 0);
    }

    /// <summary>
    /// Several charts drawn in one (Plotly.NET's <c>Chart.Combine</c>), in the kit's style; an empty list is an empty
    /// chart (titles and axes still apply) instead of Plotly.NET's error.
    /// </summary>
    public static GenericChart Combine(IEnumerable<GenericChart> charts)
    {
        var list = charts.ToList();
        return (list.Count == 0 ? PChart.Invisible() : PChart.Combine(list)).Styled(null);
    }

    /// <inheritdoc cref="Combine(IEnumerable{GenericChart})"/>
    public static GenericChart Combine(params GenericChart[] charts) => Combine((IEnumerable<GenericChart>)charts);

    // Plotly.NET.CSharp's optional arguments: a null means "not given".
    internal static Optional<T> Opt<T>(T? value) where T : class => new(value!, value is not null);
    internal static Optional<T> Opt<T>(T? value) where T : struct => new(value.GetValueOrDefault(), value.HasValue);
    internal static Color? ColorOf(string? css) => css is null ? null : Color.fromString(css);
}

/// <summary>Colour scales plotly.js does not name (Plotly.NET's <see cref="StyleParam.Colorscale"/> lists the named ones).</summary>
public static class ColorScales
{
    /// <summary>Red (0) through yellow to green (1): failed → passed.</summary>
    public static StyleParam.Colorscale RedYellowGreen { get; } = Custom((0, "#d73027"), (0.5, "#fee08b"), (1, "#1a9850"));

    /// <summary>White (0) to dark red (1): how often something failed.</summary>
    public static StyleParam.Colorscale Reds { get; } = Custom((0, "#fff5f0"), (0.5, "#fb6a4a"), (1, "#67000d"));

    /// <summary>A scale from (position 0..1, CSS colour) stops.</summary>
    public static StyleParam.Colorscale Custom(params (double At, string Css)[] stops) =>
        StyleParam.Colorscale.NewCustom(stops.Select(s => Tuple.Create(s.At, Color.fromString(s.Css))));
}
