using System.Globalization;
using System.Net;
using System.Text;

namespace Quest.Interactive;

/// <summary>
/// Small HTML builders for notebook output. Each returns an <see cref="HtmlFragment"/>: a notebook displays it as HTML
/// (after <see cref="QuestNotebook.Init"/>), and <c>ToString()</c> gives the markup, so pieces compose with string interpolation:
/// <c>Html.Details($"{Html.Badge("passed", BadgeColor.Green)} root", Html.Pre(text))</c>.
/// Arguments named <c>text</c> are escaped; arguments named <c>html</c> are inserted as they are.
/// </summary>
public static class Html
{
    /// <summary>Escapes text for HTML (&amp;, &lt;, &gt;, quotes).</summary>
    public static string Escape(string? text) => WebUtility.HtmlEncode(text ?? "");

    /// <summary>Wraps markup so a notebook renders it as HTML.</summary>
    public static HtmlFragment Raw(string html) => new(html);

    /// <summary>Escaped text in a &lt;pre&gt; block (wrapping long lines), e.g. a transcript or a tool result.</summary>
    public static HtmlFragment Pre(string? text, int? maxHeightPx = null) =>
        new($"<pre style=\"white-space:pre-wrap;word-break:break-word;margin:2px 0;{(maxHeightPx is { } h ? $"max-height:{h}px;overflow:auto;" : "")}\">{Escape(text)}</pre>");

    /// <summary>A collapsible block: <paramref name="summaryHtml"/> is always visible, <paramref name="bodyHtml"/> when opened.</summary>
    public static HtmlFragment Details(string summaryHtml, string bodyHtml, bool open = false) =>
        new($"<details{(open ? " open" : "")} style=\"margin-left:0.2em\"><summary style=\"cursor:pointer\">{summaryHtml}</summary><div style=\"margin-left:1.2em\">{bodyHtml}</div></details>");

    /// <summary>A small coloured label, e.g. a status or a score.</summary>
    public static HtmlFragment Badge(string text, BadgeColor color = BadgeColor.Grey, string? tooltip = null)
    {
        var (bg, fg) = Colors(color);
        var title = tooltip is null ? "" : $" title=\"{Escape(tooltip)}\"";
        return new($"<span class=\"quest-badge\"{title} style=\"display:inline-block;padding:0 6px;margin:0 2px;border-radius:8px;font-size:85%;font-family:sans-serif;background:{bg};color:{fg}\">{Escape(text)}</span>");
    }

    /// <summary>The badge colour for a score in [0, 1]: green at 1, red at 0, amber in between, grey when null or NaN.</summary>
    public static BadgeColor ScoreColor(double? score) => score switch
    {
        null => BadgeColor.Grey,
        double.NaN => BadgeColor.Grey,
        >= 1.0 => BadgeColor.Green,
        <= 0.0 => BadgeColor.Red,
        _ => BadgeColor.Amber,
    };

    /// <summary>A score badge, "0.67" coloured by <see cref="ScoreColor"/>.</summary>
    public static HtmlFragment ScoreBadge(double? score, string format = "0.00") =>
        Badge(score is { } s && !double.IsNaN(s) ? s.ToString(format, CultureInfo.InvariantCulture) : "–", ScoreColor(score));

    /// <summary>The CSS background colour of a badge colour (for charts that should match badges).</summary>
    public static string Css(BadgeColor color) => Colors(color).Background;

    /// <summary>A heading (level 1-6) with escaped text.</summary>
    public static HtmlFragment Heading(string text, int level = 3) =>
        new($"<h{Math.Clamp(level, 1, 6)}>{Escape(text)}</h{Math.Clamp(level, 1, 6)}>");

    /// <summary>Joins fragments (no separator) into one displayable piece.</summary>
    public static HtmlFragment Concat(params object?[] fragments)
    {
        var sb = new StringBuilder();
        foreach (var f in fragments) sb.Append(f switch { null => "", HtmlFragment h => h.Html, string s => Escape(s), _ => Escape(f.ToString()) });
        return new(sb.ToString());
    }

    /// <summary>A key/value list as a compact two-column table (values escaped unless they are HTML).</summary>
    public static HtmlFragment KeyValues(IEnumerable<KeyValuePair<string, object?>> items)
    {
        var sb = new StringBuilder("<table class=\"quest-kv\" style=\"border-collapse:collapse\">");
        foreach (var (k, v) in items)
            sb.Append("<tr><th style=\"text-align:left;padding:1px 8px 1px 0;vertical-align:top\">").Append(Escape(k))
              .Append("</th><td style=\"text-align:left;padding:1px 0\">").Append(Tables.Cell(v)).Append("</td></tr>");
        return new(sb.Append("</table>").ToString());
    }

    private static (string Background, string Foreground) Colors(BadgeColor c) => c switch
    {
        BadgeColor.Green => ("#2e7d32", "#ffffff"),
        BadgeColor.Amber => ("#f9a825", "#000000"),
        BadgeColor.Red => ("#c62828", "#ffffff"),
        BadgeColor.Blue => ("#1565c0", "#ffffff"),
        BadgeColor.Purple => ("#6a1b9a", "#ffffff"),
        _ => ("#9e9e9e", "#ffffff"),
    };
}

/// <summary>
/// A piece of HTML markup that notebooks render as HTML (its formatter is registered by <see cref="QuestNotebook.Init"/>).
/// <c>ToString()</c> and the implicit conversion to string give the markup, so fragments compose by interpolation.
/// </summary>
/// <remarks>Deliberately not <c>IHtmlContent</c>: the Jupyter kernel tool ships another version of that assembly, and
/// every cell touching the type would print a CS1701 warning.</remarks>
/// <param name="Html">The markup.</param>
public sealed record HtmlFragment(string Html)
{
    /// <summary>The markup.</summary>
    public override string ToString() => Html;

    /// <summary>The markup.</summary>
    public static implicit operator string(HtmlFragment fragment) => fragment.Html;
}

/// <summary>Badge colours, with conventional meanings: green passed, amber partial, red failed, grey skipped/unknown.</summary>
public enum BadgeColor
{
    /// <summary>Skipped, unknown, neutral.</summary>
    Grey,
    /// <summary>Passed.</summary>
    Green,
    /// <summary>Partial credit.</summary>
    Amber,
    /// <summary>Failed.</summary>
    Red,
    /// <summary>Informational.</summary>
    Blue,
    /// <summary>Highlight (e.g. critical).</summary>
    Purple,
}
