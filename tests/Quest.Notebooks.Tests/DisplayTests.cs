using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.DotNet.Interactive.Formatting;
using Quest.Interactive;
using Html = Quest.Interactive.Html; // Microsoft.DotNet.Interactive.Formatting has an Html class too
using Xunit;

namespace Quest.Notebooks.Tests;

/// <summary>The display kit (figures, HTML helpers, tables, live charts) outside a kernel.</summary>
public sealed class DisplayTests
{
    [Fact]
    public void Chart_json_is_plotly_shaped_in_the_kit_style_and_non_finite_numbers_become_gaps()
    {
        var chart = Charts.Line(new[] { 1, 2, 3 }, new[] { 1.0, double.NaN, double.PositiveInfinity }, name: "loss")
            .WithTitle("t").WithAxisTitles("step", "loss").WithLogY();
        var root = chart.ToJsonNode();
        var trace = root["data"]![0]!;
        Assert.Equal("scatter", (string?)trace["type"]);
        Assert.Equal([1.0, 2.0, 3.0], trace["x"]!.AsArray().Select(x => (double)x!));
        // plotly.js draws a gap for a value that is not a number; Plotly.NET writes NaN and infinities as such strings
        Assert.Equal(1.0, (double)trace["y"]![0]!);
        Assert.Equal(["NaN", "Infinity"], trace["y"]!.AsArray().Skip(1).Select(y => (string)y!));
        var layout = root["layout"]!;
        Assert.Equal("log", (string?)layout["yaxis"]!["type"]);
        Assert.Equal("loss", (string?)layout["yaxis"]!["title"]!["text"]);   // a later style keeps the earlier ones
        Assert.Equal("step", (string?)layout["xaxis"]!["title"]!["text"]);
        Assert.NotNull(layout["template"]);            // Plotly.NET's look, whose axes grow margins to fit labels
        Assert.Null(layout["width"]);                  // the page's width, not Plotly.NET's 600 px
        Assert.Equal(ChartStyle.DefaultHeight, (int)layout["height"]!);
        Assert.Equal(600, (int)chart.WithHeight(600).ToJsonNode()["layout"]!["height"]!);
        Assert.Equal("Chart 't': scatter 'loss'[3]", chart.Describe());
    }

    [Fact]
    public void Html_output_cannot_be_broken_out_of_by_data()
    {
        PlotlyJs.UseCdn = true; // Plotly.NET's require.js loader only: the chart's own script is the only script block
        var chart = Charts.Bar(new[] { "</script><b>x" }, new[] { 1.0 }).WithTitle("</script>");
        string html, page;
        try { html = chart.ToHtml(); page = chart.ToHtmlDocument(); } finally { PlotlyJs.UseCdn = false; }
        Assert.Equal(1, CountOf(html, "</script>"));
        Assert.DoesNotContain("</script><b>", html);
        Assert.DoesNotContain("</script><b>", page);
        Assert.Equal("</script><b>x", (string?)chart.ToJsonNode()["data"]![0]!["x"]![0]); // the data survives, escaped
        // Each fragment gets its own element id.
        Assert.NotEqual(DivId(chart.ToHtmlDiv()), DivId(chart.ToHtmlDiv()));
    }

    [Fact]
    public void Sunburst_checks_lengths_and_carries_colours_and_hover_text()
    {
        var ex = Assert.Throws<ArgumentException>(() => Charts.Sunburst(["r", "a"], ["root"], ["", "r"], [1, 1]));
        Assert.Contains("labels 1", ex.Message);
        var chart = Charts.Sunburst(["r", "a", "b"], ["root", "A", "B"], ["", "r", "r"], [1, 0.5, 0.5], colors: ["#000", "#111", "#222"], hoverText: ["x", "y", "z"]);
        var trace = chart.ToJsonNode()["data"]![0]!;
        Assert.Equal("sunburst", (string?)trace["type"]);
        Assert.Equal("total", (string?)trace["branchvalues"]);
        Assert.Equal(["r", "a", "b"], trace["ids"]!.AsArray().Select(x => (string)x!));
        Assert.Equal(["#000", "#111", "#222"], trace["marker"]!["colors"]!.AsArray().Select(x => (string)x!));
        Assert.Equal(["x", "y", "z"], trace["hovertext"]!.AsArray().Select(x => (string)x!));
        Assert.Null(trace["text"]);   // hover lines are not printed on the sectors
    }

    [Fact]
    public void Heatmap_rows_are_y_drawn_top_down_and_columns_are_x()
    {
        var chart = Charts.Heatmap(new double[,] { { 1, 2, 3 }, { 4, 5, 6 } }, ["a", "b", "c"], ["r1", "r2"], colorscale: ColorScales.RedYellowGreen);
        var root = chart.ToJsonNode();
        var trace = root["data"]![0]!;
        Assert.Equal([[1.0, 2, 3], [4.0, 5, 6]], trace["z"]!.AsArray().Select(r => r!.AsArray().Select(v => (double)v!).ToArray()));
        Assert.Equal(["a", "b", "c"], trace["x"]!.AsArray().Select(x => (string)x!));
        Assert.Equal("reversed", (string?)root["layout"]!["yaxis"]!["autorange"]);
        Assert.Equal("#d73027", (string?)trace["colorscale"]![0]![1]);
    }

    [Fact]
    public void Error_bars_bar_mode_and_vertical_lines_reach_the_plotly_json()
    {
        var chart = Charts.Bars(new[] { "a", "b" }, ("x", [1.0, 2.0]), ("y", [0.5, 0.5]))
            .WithBarMode(Plotly.NET.StyleParam.BarMode.Stack)
            .WithYErrorBars([0.1, 0.2], [0.3, 0.4])
            .WithVerticalLines([(1.5, "#c33")]);
        var root = chart.ToJsonNode();
        Assert.Equal("stack", (string?)root["layout"]!["barmode"]);
        Assert.Equal(2, root["data"]!.AsArray().Count);
        var err = root["data"]![0]!["error_y"]!;
        Assert.Equal([0.1, 0.2], err["array"]!.AsArray().Select(v => (double)v!));
        Assert.Equal([0.3, 0.4], err["arrayminus"]!.AsArray().Select(v => (double)v!));
        Assert.False((bool)err["symmetric"]!);
        var shape = root["layout"]!["shapes"]![0]!;
        Assert.Equal(1.5, (double)shape["x0"]!);
        Assert.Equal("#c33", (string?)shape["line"]!["color"]);
        // An empty combination is an empty chart that still takes a title (Plotly.NET's Combine refuses an empty list).
        Assert.Equal("Chart 'none': scatter[0]", Charts.Combine([]).WithTitle("none").Describe());
    }

    [Fact]
    public void Plotly_js_is_inlined_once_per_session_and_into_every_page_and_the_cdn_only_when_asked()
    {
        var js = PlotlyJs.Embedded();
        Assert.StartsWith("/**", js.TrimStart());
        Assert.Contains("plotly.js v" + PlotlyJs.EmbeddedVersion, js[..400]);
        Assert.True(js.Length > 3_000_000, $"{js.Length} chars");
        Assert.Contains("embedded plotly.js", PlotlyJs.Describe());
        var marker = "plotly.js v" + PlotlyJs.EmbeddedVersion;
        var chart = Charts.Line(new[] { 1, 2 }, new[] { 1.0, 2.0 });
        try
        {
            PlotlyJs.ResetSession();
            Assert.Contains(marker, chart.ToHtml());
            var later = chart.ToHtml();
            Assert.DoesNotContain(marker, later);
            Assert.DoesNotContain("cdn", later);           // no network address: the page has plotly.js already
            Assert.Contains("Plotly.newPlot", later);
            Assert.Contains(marker, chart.ToHtmlDocument());
            Assert.Contains(marker, chart.ToHtmlDocument());
            Assert.Contains(marker, new HtmlReport("r").Add(chart).ToHtml());
            PlotlyJs.ResetSession();
            Assert.Contains(marker, chart.ToHtml());

            PlotlyJs.UseCdn = true;
            var online = chart.ToHtml();
            Assert.DoesNotContain(marker, online);
            Assert.Contains(PlotlyJs.CdnUrl[..^3], online);   // Plotly.NET's require.js reference
            var page = chart.ToHtmlDocument();
            Assert.DoesNotContain(marker, page);
            Assert.Contains(PlotlyJs.CdnUrl, page);
        }
        finally
        {
            PlotlyJs.UseCdn = false;
        }
    }

    [Fact]
    public void A_plotly_net_chart_displays_offline_through_the_kit()
    {
        var chart = Plotly.NET.CSharp.Chart.Line<int, double, string>(x: new[] { 1, 2, 3 }, y: new[] { 2.0, double.NaN, 0.5 }, Name: "loss");
        QuestNotebook.Init();
        var html = Microsoft.DotNet.Interactive.Formatting.Formatter.ToDisplayString(chart, "text/html");
        Assert.Contains("Plotly.newPlot", html);
        Assert.Contains("\"loss\"", html);
        Assert.DoesNotContain("require.min.js", html);
        Assert.Equal("Chart '(untitled)': scatter 'loss'[3]", Microsoft.DotNet.Interactive.Formatting.Formatter.ToDisplayString(chart, "text/plain"));
    }

    [Fact]
    public void SaveHtml_writes_a_complete_page()
    {
        var path = Path.Combine(Directory.CreateTempSubdirectory("quest-fig-").FullName, "loss.html");
        var written = Charts.Scatter(new[] { 1.0, 2.0 }, new[] { 3.0, 4.0 }, text: ["a", "b"]).WithTitle("pts").SaveHtml(path);
        var page = File.ReadAllText(written);
        Assert.StartsWith("<!DOCTYPE html>", page, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("<title>pts</title>", page);
        Assert.Contains("\"text\":[\"a\",\"b\"]", page);
    }

    [Fact]
    public void Html_helpers_escape_text_and_keep_markup()
    {
        Assert.Equal("a &lt;b&gt; &amp; &quot;c&quot;", Html.Escape("a <b> & \"c\""));
        var badge = Html.Badge("<ok>", BadgeColor.Green, tooltip: "t\"ip");
        Assert.Contains("&lt;ok&gt;", badge.Html);
        Assert.Contains("title=\"t&quot;ip\"", badge.Html);
        Assert.Contains(Html.Css(BadgeColor.Green), badge.Html);
        var details = Html.Details($"{badge} root", Html.Pre("x < y"), open: true);
        Assert.StartsWith("<details open", details.Html);
        Assert.Contains("quest-badge", details.Html);
        Assert.Contains("x &lt; y", details.Html);
        Assert.Equal(BadgeColor.Amber, Html.ScoreColor(0.5));
        Assert.Equal(BadgeColor.Red, Html.ScoreColor(0));
        Assert.Equal(BadgeColor.Green, Html.ScoreColor(1));
        Assert.Equal(BadgeColor.Grey, Html.ScoreColor(double.NaN));
        Assert.Equal("a&lt;b<i>i</i>", Html.Concat("a<b", Html.Raw("<i>i</i>")).Html);
    }

    private sealed record Row(string Name, double Score, int Count);

    [Fact]
    public void Tables_select_columns_format_numbers_and_limit_rows()
    {
        var rows = Enumerable.Range(1, 5).Select(i => new Row($"<r{i}>", 1.0 / i, i)).ToList();
        var html = Tables.ToHtml(rows, columns: ["Score", "Name"], maxRows: 3, caption: "cap").Html;
        Assert.True(html.IndexOf(">Score<", StringComparison.Ordinal) < html.IndexOf(">Name<", StringComparison.Ordinal));
        Assert.DoesNotContain(">Count<", html);
        Assert.Contains("&lt;r3&gt;", html);
        Assert.DoesNotContain("&lt;r4&gt;", html);
        Assert.Contains("0.3333", html);
        Assert.Contains("2 more row(s) not shown (5 in all)", html);
        var ex = Assert.Throws<ArgumentException>(() => Tables.ToHtml(rows, columns: ["Nope"]));
        Assert.Contains("Unknown column(s) Nope", ex.Message);
        Assert.Contains("Name, Score, Count", ex.Message);

        var dicts = new[] { new Dictionary<string, object?> { ["a"] = 1 }, new Dictionary<string, object?> { ["b"] = Html.Badge("x") } };
        var dictHtml = Tables.ToHtml(dicts).Html;
        Assert.Contains(">a<", dictHtml);
        Assert.Contains(">b<", dictHtml);
        Assert.Contains("quest-badge", dictHtml);
    }

    [Theory]
    [InlineData(0.123456, "0.1235")]
    [InlineData(3.0, "3")]
    [InlineData(12345.67, "12345.7")]
    [InlineData(0.00001234, "1.234e-05")]
    [InlineData(double.NaN, "NaN")]
    public void Doubles_get_four_significant_digits(double value, string expected) =>
        Assert.Equal(expected, Tables.FormatDouble(value));

    [Fact]
    public void Live_chart_outside_a_kernel_keeps_points_and_thins_what_it_draws()
    {
        var live = new LiveChart("loss", logY: true) { MaxPointsDrawn = 10 }.Show();
        Assert.False(live.IsDisplayed);
        for (var i = 0; i < 100; i++) live.Add(i, ("train", 1.0 / (i + 1)), ("valid", i % 10 == 0 ? 2.0 : null));
        live.Flush();
        Assert.Equal(0, live.Renders);
        Assert.Equal(100, live.Points["train"].Count);
        Assert.Equal(10, live.Points["valid"].Count);
        var trace = live.ToChart().ToJsonNode()["data"]![0]!;
        var xs = trace["x"]!.AsArray().Select(x => (double)x!).ToList();
        Assert.Equal(10, xs.Count);
        Assert.Equal(0, xs[0]);
        Assert.Equal(99, xs[^1]);
        Assert.Equal(xs.Order(), xs);
    }

    [Fact]
    public void Live_chart_with_a_total_shows_progress_and_the_time_left_in_its_title()
    {
        var live = new LiveChart("sft: training loss").WithProgress(8);
        Assert.Null(live.Progress);   // nothing done yet: no estimate
        for (var i = 1; i <= 2; i++) { live.Add(i, ("loss", 1.0 / i)); Thread.Sleep(20); }
        Assert.StartsWith("2/8 · 0:00 elapsed · about ", live.Progress);
        Assert.EndsWith(" left", live.Progress);
        var title = live.ToChart().ToJsonNode()["layout"]!["title"]!.ToJsonString();
        Assert.Contains("sft: training loss (2/8", title);
        for (var i = 3; i <= 8; i++) live.Add(i, ("loss", 1.0 / i));
        Assert.EndsWith("· done", live.Progress);
        Assert.Throws<ArgumentOutOfRangeException>(() => new LiveChart().WithProgress(0));
        Assert.Null(new LiveChart("no total").Progress);
    }

    [Fact]
    public async Task Track_consumes_the_stream_and_returns_every_item()
    {
        static async IAsyncEnumerable<(int Step, double Loss)> Steps()
        {
            for (var i = 1; i <= 7; i++) { await Task.Yield(); yield return (i, 1.0 / i); }
        }
        var items = await LiveChart.Track(Steps(), r => r.Step, "loss", r => r.Loss, cancellationToken: TestContext.Current.CancellationToken);
        Assert.Equal(Enumerable.Range(1, 7), items.Select(i => i.Step));
    }

    [Fact]
    public void Init_registers_html_formatters_for_figures_and_fragments()
    {
        var line = QuestNotebook.Init();
        Assert.Contains("DisplayFormatters", line);
        var html = Charts.Line(new[] { 1 }, new[] { 2.0 }).ToDisplayString(HtmlFormatter.MimeType);
        Assert.Contains("newPlot", html);
        Assert.Equal("<b>raw</b>", Html.Raw("<b>raw</b>").ToDisplayString(HtmlFormatter.MimeType));
    }

    private static int CountOf(string s, string what)
    {
        var n = 0;
        for (var i = s.IndexOf(what, StringComparison.Ordinal); i >= 0; i = s.IndexOf(what, i + 1, StringComparison.Ordinal)) n++;
        return n;
    }

    private static string DivId(string html)
    {
        int at = html.IndexOf("id=\"", StringComparison.Ordinal) + 4;
        return html[at..html.IndexOf('"', at)];
    }
}
