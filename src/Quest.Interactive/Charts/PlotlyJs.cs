using System.Text;

namespace Quest.Interactive;

/// <summary>
/// Where charts get plotly.js from. Offline by default: the plotly.js that Plotly.NET carries (v<see cref="EmbeddedVersion"/>,
/// MIT, the resource Plotly.NET's <c>PlotlyJSReference.Full</c> inlines) is inlined once per kernel session in notebook
/// outputs and once into every saved page, so charts draw with no network. <see cref="UseCdn"/> (or
/// <c>QUEST_PLOTLY_JS=cdn</c>) loads it from <see cref="CdnUrl"/> instead, through Plotly.NET's require.js reference
/// (smaller outputs for online readers).
/// </summary>
/// <remarks>
/// This is the part of chart writing Plotly.NET does not do: its <c>Full</c> reference puts the 3.6 MB of plotly.js into
/// every chart's output, and its <c>NoReference</c> assumes the page has it. Notebooks need it inlined once per session
/// (a saved notebook with ten charts stays 3.6 MB, not 36 MB) and wrapped so that it sets <c>window.Plotly</c> on pages
/// with require.js (classic Jupyter), where plotly.js' own loader would register an anonymous module instead.
/// </remarks>
public static class PlotlyJs
{
    /// <summary>The CDN address of the plotly.js version Plotly.NET carries (used only with <see cref="UseCdn"/>).</summary>
    public const string DefaultCdnUrl = "https://cdn.plot.ly/plotly-2.28.0.min.js";
    /// <summary>The plotly.js version inside Plotly.NET 6.0.0.</summary>
    public const string EmbeddedVersion = "2.28.0";
    private const string EmbeddedResource = "Plotly.NET.plotly-" + EmbeddedVersion + ".min.js";

    private static readonly object s_gate = new();
    private static bool s_inlined;
    private static bool s_useCdn = string.Equals(Environment.GetEnvironmentVariable("QUEST_PLOTLY_JS"), "cdn", StringComparison.OrdinalIgnoreCase);
    private static string? s_embedded;

    /// <summary>The address plotly.js is loaded from when <see cref="UseCdn"/> is set.</summary>
    public static string CdnUrl { get; set; } = DefaultCdnUrl;

    /// <summary>Load plotly.js from <see cref="CdnUrl"/> instead of inlining Plotly.NET's copy (needs network). Default false.</summary>
    public static bool UseCdn
    {
        get => s_useCdn;
        set { lock (s_gate) { s_useCdn = value; s_inlined = false; } }
    }

    /// <summary>When true, every notebook chart inlines plotly.js (self-contained outputs, ~3.6 MB each); default false: only the first.</summary>
    public static bool InlineInEveryFigure { get; set; }

    /// <summary>Forgets that plotly.js was already inlined in this session (the next chart inlines it again).</summary>
    public static void ResetSession()
    {
        lock (s_gate) s_inlined = false;
    }

    /// <summary>What the next chart will use, for display: <c>embedded plotly.js 2.28.0 (from Plotly.NET)</c> or the CDN address.</summary>
    public static string Describe() => s_useCdn ? CdnUrl : $"embedded plotly.js {EmbeddedVersion} (from Plotly.NET)";

    /// <summary>The plotly.js text Plotly.NET carries (read once from its assembly's resources).</summary>
    public static string Embedded()
    {
        if (s_embedded is not null) return s_embedded;
        var assembly = typeof(Plotly.NET.GenericChart).Assembly;
        using var stream = assembly.GetManifestResourceStream(EmbeddedResource)
            ?? throw new InvalidDataException($"{assembly.Location} holds no resource {EmbeddedResource} (another Plotly.NET version?); set PlotlyJs.UseCdn = true to load plotly.js from the CDN.");
        using var reader = new StreamReader(stream, Encoding.UTF8);
        return s_embedded = reader.ReadToEnd().TrimStart('\uFEFF');
    }

    /// <summary>How a notebook chart's own script finds plotly.js: already on the page (inlined), or through require.js from the CDN.</summary>
    internal static Plotly.NET.PlotlyJSReference FragmentReference =>
        s_useCdn ? Plotly.NET.PlotlyJSReference.NewRequire(CdnUrl.EndsWith(".js", StringComparison.Ordinal) ? CdnUrl[..^3] : CdnUrl) : Plotly.NET.PlotlyJSReference.NoReference;

    /// <summary>How a saved single-chart page gets plotly.js: inlined whole (Plotly.NET's <c>Full</c>), or from the CDN.</summary>
    internal static Plotly.NET.PlotlyJSReference DocumentReference =>
        s_useCdn ? Plotly.NET.PlotlyJSReference.NewCDN(CdnUrl) : Plotly.NET.PlotlyJSReference.Full;

    /// <summary>The inline script block for plotly.js, wrapped so that it sets <c>window.Plotly</c> even on pages with require.js.</summary>
    private static string InlineBlock(string js) =>
        "<script type=\"text/javascript\">(function (define, exports, module) {\n"
        + js.Replace("</script", "<\\/script", StringComparison.OrdinalIgnoreCase)
        + "\n}).call(window);</script>\n";

    /// <summary>plotly.js for a notebook output: inlined when this session has not inlined it yet, else nothing.</summary>
    internal static string ScriptForFragment()
    {
        lock (s_gate)
        {
            if (s_useCdn || (s_inlined && !InlineInEveryFigure)) return "";
            var block = InlineBlock(Embedded());
            s_inlined = true;
            return block;
        }
    }

    /// <summary>plotly.js for the head of a page of several charts (<see cref="HtmlReport"/>): inlined, or a CDN script tag.</summary>
    internal static string ScriptForDocument() =>
        s_useCdn ? $"<script src=\"{System.Net.WebUtility.HtmlEncode(CdnUrl)}\" charset=\"utf-8\"></script>\n" : InlineBlock(Embedded());
}
