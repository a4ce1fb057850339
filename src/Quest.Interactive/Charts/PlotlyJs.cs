using System.Text;
using System.Text.Json;
using Quest.Core;

namespace Quest.Interactive;

/// <summary>
/// Where figures get plotly.js from. The default loads it from <see cref="CdnUrl"/> (fine for online users). Offline,
/// point <see cref="LocalFile"/> (or the <c>QUEST_PLOTLY_JS</c> environment variable) at a local <c>plotly.min.js</c>
/// and it is inlined instead: once per kernel session in notebook outputs, in every saved HTML page.
/// A local copy comes from npm without committing it:
/// <c>npm pack plotly.js-dist-min &amp;&amp; tar -xzf plotly.js-dist-min-*.tgz &amp;&amp; cp package/plotly.min.js data/artifacts/plotly.min.js</c>
/// (<c>data/artifacts/plotly.min.js</c> is picked up automatically).
/// </summary>
public static class PlotlyJs
{
    /// <summary>The plotly.js version the default CDN address names.</summary>
    public const string DefaultCdnUrl = "https://cdn.plot.ly/plotly-2.35.2.min.js";

    private static readonly object s_gate = new();
    private static bool s_inlined;
    private static string? s_localFile = DefaultLocalFile();
    private static string? s_cachedPath;
    private static string? s_cachedJs;

    /// <summary>The address plotly.js is loaded from when no local file is configured (or the page lacks it).</summary>
    public static string CdnUrl { get; set; } = DefaultCdnUrl;

    /// <summary>
    /// A local plotly.js file to inline; null for CDN only. Defaults to <c>$QUEST_PLOTLY_JS</c>, else
    /// <c>data/artifacts/plotly.min.js</c> (or <c>$QUEST_ARTIFACTS/plotly.min.js</c>) when that file exists.
    /// </summary>
    public static string? LocalFile
    {
        get => s_localFile;
        set { lock (s_gate) { s_localFile = value; s_inlined = false; } }
    }

    /// <summary>When true, every notebook figure inlines plotly.js (self-contained outputs, ~3.6 MB each); default false: only the first.</summary>
    public static bool InlineInEveryFigure { get; set; }

    /// <summary>Forgets that plotly.js was already inlined in this session (the next figure inlines it again).</summary>
    public static void ResetSession()
    {
        lock (s_gate) s_inlined = false;
    }

    private static string? DefaultLocalFile()
    {
        var env = Environment.GetEnvironmentVariable("QUEST_PLOTLY_JS");
        if (!string.IsNullOrWhiteSpace(env)) return env;
        var qa = Environment.GetEnvironmentVariable("QUEST_ARTIFACTS");
        var candidates = new List<string>();
        if (!string.IsNullOrWhiteSpace(qa)) candidates.Add(Path.Combine(qa, "plotly.min.js"));
        if (QuestPaths.RepoRoot is { } root) candidates.Add(Path.Combine(root, "data", "artifacts", "plotly.min.js"));
        return candidates.FirstOrDefault(File.Exists);
    }

    private static string? ReadLocal()
    {
        var path = s_localFile;
        if (string.IsNullOrWhiteSpace(path)) return null;
        if (!File.Exists(path))
            throw new FileNotFoundException($"PlotlyJs.LocalFile points at '{path}', which does not exist (set it to a plotly.min.js file or to null to use the CDN).", path);
        if (s_cachedPath != path)
        {
            s_cachedJs = File.ReadAllText(path);
            s_cachedPath = path;
        }
        return s_cachedJs;
    }

    /// <summary>The inline script block for a local plotly.js, wrapped so that it sets <c>window.Plotly</c> even on pages with require.js.</summary>
    private static string InlineBlock(string js) =>
        "<script type=\"text/javascript\">(function (define, exports, module) {\n"
        + js.Replace("</script", "<\\/script", StringComparison.OrdinalIgnoreCase)
        + "\n}).call(window);</script>\n";

    internal static string ScriptForFragment()
    {
        lock (s_gate)
        {
            var js = ReadLocal();
            if (js is null || (s_inlined && !InlineInEveryFigure)) return "";
            s_inlined = true;
            return InlineBlock(js);
        }
    }

    internal static string ScriptForDocument()
    {
        lock (s_gate)
        {
            var js = ReadLocal();
            return js is null ? "" : InlineBlock(js);
        }
    }

    /// <summary>JavaScript (inside the figure's function) that finds or loads plotly.js and then calls <c>draw(Plotly)</c>.</summary>
    internal static string LoaderScript()
    {
        var url = JsonSerializer.Serialize(CdnUrl);
        var sb = new StringBuilder();
        sb.Append("  if (window.Plotly) { draw(window.Plotly); return; }\n")
          .Append("  var url = ").Append(url).Append(";\n")
          .Append("  if (typeof require === 'function' && typeof require.config === 'function') {\n")
          .Append("    require.config({ paths: { questplotly: url.replace(/\\.js$/, '') } });\n")
          .Append("    require(['questplotly'], function (P) { window.Plotly = window.Plotly || P; draw(P); });\n")
          .Append("    return;\n  }\n")
          .Append("  var s = document.querySelector('script[data-quest-plotly]');\n")
          .Append("  if (!s) { s = document.createElement('script'); s.src = url; s.setAttribute('data-quest-plotly', '1'); document.head.appendChild(s); }\n")
          .Append("  s.addEventListener('load', function () { draw(window.Plotly); });\n");
        return sb.ToString();
    }
}
