using System.Diagnostics;
using Microsoft.DotNet.Interactive;
using Microsoft.DotNet.Interactive.Formatting;

namespace Quest.Interactive;

/// <summary>
/// A line chart that is displayed once and redrawn in place as points arrive, for training loops:
/// <code>
/// var live = new LiveChart("Training loss", yTitle: "loss").Show();
/// await foreach (var r in trainer.RunAsync(ct)) live.Add(r.Step, ("train", r.Loss), ("valid", r.ValidLoss));
/// live.Flush();
/// </code>
/// or in one call: <c>var reports = await LiveChart.Track(trainer.RunAsync(ct), r =&gt; r.Step, ("loss", r =&gt; r.Loss));</c>.
/// Redraws are throttled to <see cref="MinUpdateInterval"/>; <see cref="Flush"/> draws the final state. Outside a
/// notebook kernel nothing is displayed, but the points are kept and <see cref="ToChart"/> still works.
/// The kit's own because Plotly.NET draws a chart once: redrawing one output in place while a cell runs is .NET
/// Interactive's <c>DisplayedValue.Update</c>, fed a new Plotly.NET chart each time.
/// </summary>
public sealed class LiveChart
{
    private readonly object _gate = new();
    private readonly Dictionary<string, List<(double X, double Y)>> _series = new(StringComparer.Ordinal);
    private readonly List<string> _order = new();
    private readonly Stopwatch _sinceRender = new();
    private readonly Stopwatch _sinceFirst = new();
    private DisplayedValue? _display;
    private bool _dirty;
    private int _done, _total;

    /// <summary>Creates a chart (not yet shown).</summary>
    /// <param name="title">Chart title.</param>
    /// <param name="xTitle">X-axis title.</param>
    /// <param name="yTitle">Y-axis title.</param>
    /// <param name="logY">Logarithmic y axis.</param>
    public LiveChart(string? title = null, string xTitle = "step", string? yTitle = null, bool logY = false)
    {
        Title = title;
        XTitle = xTitle;
        YTitle = yTitle;
        LogY = logY;
    }

    /// <summary>Chart title.</summary>
    public string? Title { get; }
    /// <summary>X-axis title.</summary>
    public string XTitle { get; }
    /// <summary>Y-axis title.</summary>
    public string? YTitle { get; }
    /// <summary>Logarithmic y axis.</summary>
    public bool LogY { get; }

    /// <summary>Minimum time between redraws while points arrive (default 0.5 s); <see cref="Flush"/> ignores it.</summary>
    public TimeSpan MinUpdateInterval { get; set; } = TimeSpan.FromMilliseconds(500);

    /// <summary>At most this many points per series are drawn (evenly thinned, last point kept); all are kept in <see cref="Points"/>.</summary>
    public int MaxPointsDrawn { get; set; } = 2000;

    /// <summary>How many times the chart was drawn (first display plus in-place updates).</summary>
    public int Renders { get; private set; }

    /// <summary>True once <see cref="Show"/> displayed the chart in a kernel.</summary>
    public bool IsDisplayed => _display is not null;

    /// <summary>The points received so far, per series name, in arrival order.</summary>
    public IReadOnlyDictionary<string, IReadOnlyList<(double X, double Y)>> Points
    {
        get
        {
            lock (_gate) return _order.ToDictionary(n => n, n => (IReadOnlyList<(double, double)>)_series[n].ToList());
        }
    }

    /// <summary>
    /// Counts <paramref name="total"/> <see cref="Add(double, ValueTuple{string, double?}[])"/> calls as the whole job, so
    /// the title shows progress and an estimate of the time left (<see cref="Progress"/>), the notebook's progress bar.
    /// </summary>
    public LiveChart WithProgress(int total)
    {
        if (total < 1) throw new ArgumentOutOfRangeException(nameof(total), total, "at least one step");
        lock (_gate) _total = total;
        return this;
    }

    /// <summary>
    /// <c>120/3000 · 0:26 elapsed · about 10:05 left</c> when <see cref="WithProgress"/> gave a total (the time left
    /// extrapolates the mean time per step so far); null otherwise or before the first point.
    /// </summary>
    public string? Progress
    {
        get
        {
            lock (_gate)
            {
                if (_total == 0 || _done == 0) return null;
                var elapsed = _sinceFirst.Elapsed;
                var left = TimeSpan.FromTicks(elapsed.Ticks / _done * Math.Max(0, _total - _done));
                return $"{Math.Min(_done, _total)}/{_total} · {Clock(elapsed)} elapsed · {(_done >= _total ? "done" : $"about {Clock(left)} left")}";
            }
        }
    }

    private static string Clock(TimeSpan t) => t.TotalHours >= 1 ? t.ToString(@"h\:mm\:ss", System.Globalization.CultureInfo.InvariantCulture) : t.ToString(@"m\:ss", System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>Displays the chart in the current notebook cell (no-op outside a kernel) and returns this chart.</summary>
    public LiveChart Show()
    {
        lock (_gate)
        {
            var context = KernelInvocationContext.Current;
            if (context is null || _display is not null) return this;
            // plotly.js (when this session has not inlined it yet) goes into an output of its own: the chart's output is
            // replaced on every update, and an update that dropped the script would leave a saved notebook blank.
            var script = PlotlyJs.ScriptForFragment();
            if (script.Length > 0) KernelInvocationContextExtensions.Display(context, Html.Raw(script), "text/html");
            _display = context.Display(ToChart(), "text/html");
            Renders++;
            _sinceRender.Restart();
            _dirty = false;
            return this;
        }
    }

    /// <summary>Adds one point to one series (NaN/∞ are kept and drawn as a gap).</summary>
    public void Add(double x, string series, double y) => Add(x, (series, (double?)y));

    /// <summary>Adds a point at <paramref name="x"/> to each named series; a null y skips that series for this x.</summary>
    public void Add(double x, params (string Series, double? Y)[] points)
    {
        lock (_gate)
        {
            if (_done++ == 0) _sinceFirst.Start();
            foreach (var (name, y) in points)
            {
                if (y is not { } value) continue;
                if (!_series.TryGetValue(name, out var list))
                {
                    list = new List<(double, double)>();
                    _series[name] = list;
                    _order.Add(name);
                }
                list.Add((x, value));
                _dirty = true;
            }
            if (_dirty && _display is not null && _sinceRender.Elapsed >= MinUpdateInterval) RenderLocked();
        }
    }

    /// <summary>Redraws now if points arrived since the last draw.</summary>
    public void Flush()
    {
        lock (_gate)
        {
            if (_dirty && _display is not null) RenderLocked();
        }
    }

    /// <summary>The current state as a static chart (thinned to <see cref="MaxPointsDrawn"/> per series).</summary>
    public Plotly.NET.GenericChart ToChart()
    {
        lock (_gate)
        {
            var chart = Charts.Combine(_order.Select(name =>
            {
                var pts = Thin(_series[name], MaxPointsDrawn);
                return Charts.Line(pts.Select(p => p.X), pts.Select(p => p.Y), name);
            })).WithAxisTitles(XTitle, YTitle);
            var progress = Progress;
            if (Title is not null || progress is not null) chart = chart.WithTitle(Title is null ? progress! : progress is null ? Title : $"{Title} ({progress})");
            return LogY ? chart.WithLogY() : chart;
        }
    }

    /// <summary>
    /// Shows a live chart, consumes <paramref name="source"/> adding one point per item and series, flushes, and returns
    /// the items (so the notebook can tabulate them afterwards).
    /// </summary>
    public static async Task<List<T>> Track<T>(IAsyncEnumerable<T> source, Func<T, double> x, (string Name, Func<T, double?> Y)[] series,
        string? title = null, string? yTitle = null, bool logY = false, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(source);
        var chart = new LiveChart(title, yTitle: yTitle, logY: logY).Show();
        var items = new List<T>();
        try
        {
            await foreach (var item in source.WithCancellation(cancellationToken))
            {
                items.Add(item);
                chart.Add(x(item), series.Select(s => (s.Name, s.Y(item))).ToArray());
            }
        }
        finally
        {
            chart.Flush();
        }
        return items;
    }

    /// <summary><see cref="Track{T}(IAsyncEnumerable{T}, Func{T, double}, ValueTuple{string, Func{T, double?}}[], string?, string?, bool, CancellationToken)"/> for one series.</summary>
    public static Task<List<T>> Track<T>(IAsyncEnumerable<T> source, Func<T, double> x, string name, Func<T, double?> y,
        string? title = null, bool logY = false, CancellationToken cancellationToken = default) =>
        Track(source, x, [(name, y)], title, null, logY, cancellationToken);

    private void RenderLocked()
    {
        _display!.Update(ToChart());
        Renders++;
        _dirty = false;
        _sinceRender.Restart();
    }

    private static List<(double X, double Y)> Thin(List<(double X, double Y)> pts, int max)
    {
        if (max < 2 || pts.Count <= max) return pts;
        var result = new List<(double, double)>(max);
        var stride = (pts.Count - 1) / (double)(max - 1);
        for (var i = 0; i < max - 1; i++) result.Add(pts[(int)Math.Round(i * stride)]);
        result.Add(pts[^1]);
        return result;
    }
}
