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
    public void Figure_json_is_plotly_shaped_and_non_finite_numbers_become_gaps()
    {
        var fig = Charts.Line(new[] { 1, 2, 3 }, new[] { 1.0, double.NaN, double.PositiveInfinity }, name: "loss")
            .WithTitle("t").WithAxisTitles("step", "loss").WithLogY();
        var root = JsonNode.Parse(fig.ToJson())!;
        var trace = root["data"]![0]!;
        Assert.Equal("scatter", (string?)trace["type"]);
        Assert.Equal("[1,2,3]", trace["x"]!.ToJsonString());
        Assert.Equal("[1,null,null]", trace["y"]!.ToJsonString());
        Assert.Equal("log", (string?)root["layout"]!["yaxis"]!["type"]);
        Assert.Equal("step", (string?)root["layout"]!["xaxis"]!["title"]!["text"]);
        Assert.Equal("PlotlyFigure 't': scatter 'loss'[3]", fig.ToString());
    }

    [Fact]
    public void Html_output_cannot_be_broken_out_of_by_data()
    {
        PlotlyJs.UseCdn = true; // CDN loader only: the figure's own script is the only script block
        var fig = Charts.Bar(new[] { "</script><b>x" }, new[] { 1.0 }).WithTitle("</script>");
        string html;
        try { html = fig.ToHtml(); } finally { PlotlyJs.UseCdn = false; }
        Assert.Equal(1, CountOf(html, "</script>"));
        Assert.DoesNotContain("</script><b>", html);
        Assert.Equal("</script><b>x", (string?)JsonNode.Parse(fig.ToJson())!["data"]![0]!["x"]![0]); // the data survives, escaped
        // Each fragment gets its own element id.
        Assert.NotEqual(DivId(fig.ToHtml()), DivId(fig.ToHtml()));
    }

    [Fact]
    public void Sunburst_checks_lengths_and_carries_colours()
    {
        var ex = Assert.Throws<ArgumentException>(() => Charts.Sunburst(["r", "a"], ["root"], ["", "r"], [1, 1]));
        Assert.Contains("labels 1", ex.Message);
        var fig = Charts.Sunburst(["r", "a", "b"], ["root", "A", "B"], ["", "r", "r"], [1, 0.5, 0.5], colors: ["#000", "#111", "#222"]);
        var trace = JsonNode.Parse(fig.ToJson())!["data"]![0]!;
        Assert.Equal("sunburst", (string?)trace["type"]);
        Assert.Equal("total", (string?)trace["branchvalues"]);
        Assert.Equal("[\"#000\",\"#111\",\"#222\"]", trace["marker"]!["colors"]!.ToJsonString());
    }

    [Fact]
    public void Heatmap_rows_are_y_and_columns_are_x()
    {
        var fig = Charts.Heatmap(new double[,] { { 1, 2, 3 }, { 4, 5, 6 } }, ["a", "b", "c"], ["r1", "r2"]);
        var trace = JsonNode.Parse(fig.ToJson())!["data"]![0]!;
        Assert.Equal("[[1,2,3],[4,5,6]]", trace["z"]!.ToJsonString());
        Assert.Equal("[\"a\",\"b\",\"c\"]", trace["x"]!.ToJsonString());
    }

    [Fact]
    public void Local_plotly_js_is_inlined_once_per_session_and_in_every_document()
    {
        var file = Path.Combine(Directory.CreateTempSubdirectory("quest-plotly-").FullName, "plotly.min.js");
        File.WriteAllText(file, "window.Plotly = { fake: true };");
        var saved = PlotlyJs.LocalFile;
        try
        {
            PlotlyJs.LocalFile = file;
            var fig = Charts.Line(new[] { 1 }, new[] { 1.0 });
            Assert.Contains("window.Plotly = { fake: true };", fig.ToHtml());
            Assert.DoesNotContain("fake: true", fig.ToHtml());
            Assert.Contains("fake: true", fig.ToHtmlDocument());
            Assert.Contains("fake: true", fig.ToHtmlDocument());
            PlotlyJs.ResetSession();
            Assert.Contains("fake: true", fig.ToHtml());

            PlotlyJs.LocalFile = file + ".missing";
            var ex = Assert.Throws<FileNotFoundException>(() => fig.ToHtml());
            Assert.Contains("PlotlyJs.LocalFile", ex.Message);

            PlotlyJs.LocalFile = null;
            PlotlyJs.UseCdn = true;
            Assert.Contains(PlotlyJs.CdnUrl, fig.ToHtml());
            Assert.DoesNotContain("<script type=\"text/javascript\">(function", fig.ToHtmlDocument());
        }
        finally
        {
            PlotlyJs.LocalFile = saved;
            PlotlyJs.UseCdn = false;
        }
    }

    [Fact]
    public void By_default_plotly_js_comes_from_the_embedded_copy_not_the_network()
    {
        var saved = PlotlyJs.LocalFile;
        try
        {
            PlotlyJs.LocalFile = null;
            var js = PlotlyJs.Embedded();
            Assert.StartsWith("/**", js.TrimStart());
            Assert.Contains("plotly.js v" + PlotlyJs.EmbeddedVersion, js[..400]);
            Assert.True(js.Length > 3_000_000, $"{js.Length} chars");
            var fig = Charts.Line(new[] { 1, 2 }, new[] { 1.0, 2.0 });
            var page = fig.ToHtmlDocument();
            Assert.Contains("plotly.js v" + PlotlyJs.EmbeddedVersion, page);
            // no figure names a network address unless asked to (UseCdn): a later figure waits for the inlined copy
            // (the first fragment may inline plotly.js, whose own source names its CDN; later fragments carry only the loader)
            _ = fig.ToHtml();
            var later = fig.ToHtml();
            Assert.DoesNotContain("plotly.js v", later);
            Assert.DoesNotContain("cdn.plot.ly", later);
            Assert.Contains("window.Plotly", later);
            Assert.Contains("embedded plotly.js", PlotlyJs.Describe());
        }
        finally { PlotlyJs.LocalFile = saved; }
    }

    [Fact]
    public void A_plotly_net_chart_becomes_a_kit_figure_and_displays_offline()
    {
        var chart = Plotly.NET.CSharp.Chart.Line<int, double, string>(x: new[] { 1, 2, 3 }, y: new[] { 2.0, double.NaN, 0.5 }, Name: "loss");
        var fig = chart.ToFigure().WithTitle("from Plotly.NET");
        var root = JsonNode.Parse(fig.ToJson())!;
        Assert.Equal("scatter", (string?)root["data"]![0]!["type"]);
        Assert.Equal("[2,null,0.5]", root["data"]![0]!["y"]!.ToJsonString());
        Assert.Null(root["layout"]!["template"]);   // plotly.js's own look, like every other kit chart
        Assert.Null(root["layout"]!["width"]);
        QuestNotebook.Init();
        var html = Microsoft.DotNet.Interactive.Formatting.Formatter.ToDisplayString(chart, "text/html");
        Assert.Contains("class=\"quest-plotly\"", html);
        Assert.Contains("\"loss\"", html);
    }

    [Fact]
    public void SaveHtml_writes_a_complete_page()
    {
        var path = Path.Combine(Directory.CreateTempSubdirectory("quest-fig-").FullName, "loss.html");
        var written = Charts.Scatter(new[] { 1.0, 2.0 }, new[] { 3.0, 4.0 }, text: ["a", "b"]).WithTitle("pts").SaveHtml(path);
        var page = File.ReadAllText(written);
        Assert.StartsWith("<!DOCTYPE html>", page);
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
        var trace = JsonNode.Parse(live.ToFigure().ToJson())!["data"]![0]!;
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
        var title = JsonNode.Parse(live.ToFigure().ToJson())!["layout"]!["title"]!.ToJsonString();
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

    private static string DivId(string html) => html[(html.IndexOf("id=\"", StringComparison.Ordinal) + 4)..html.IndexOf("\" class", StringComparison.Ordinal)];
}
