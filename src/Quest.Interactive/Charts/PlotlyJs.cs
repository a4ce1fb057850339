using System.Text;
using System.Text.Json;
using Quest.Core;

namespace Quest.Interactive;

/// <summary>
/// Where figures get plotly.js from. Offline by default: the plotly.js that Plotly.NET carries (v<see cref="EmbeddedVersion"/>,
/// MIT, an embedded resource of <c>Plotly.NET.dll</c>, which ships beside this library) is inlined once per kernel
/// session in notebook outputs and into every saved HTML page, so charts draw with no network. <see cref="LocalFile"/>
/// (or the <c>QUEST_PLOTLY_JS</c> environment variable) picks another local <c>plotly.min.js</c>; <see cref="UseCdn"/>
/// (or <c>QUEST_PLOTLY_JS=cdn</c>) loads it from <see cref="CdnUrl"/> instead (smaller outputs for online readers).
/// </summary>
public static class PlotlyJs
{
    /// <summary>The plotly.js version the CDN address names (used only with <see cref="UseCdn"/>).</summary>
    public const string DefaultCdnUrl = "https://cdn.plot.ly/plotly-2.28.0.min.js";
    /// <summary>The plotly.js version inside Plotly.NET 6.0.0.</summary>
    public const string EmbeddedVersion = "2.28.0";
    private const string EmbeddedResource = "Plotly.NET.plotly-" + EmbeddedVersion + ".min.js";

    private static readonly object s_gate = new();
    private static bool s_inlined;
    private static string? s_localFile = DefaultLocalFile();
    private static bool s_useCdn = string.Equals(Environment.GetEnvironmentVariable("QUEST_PLOTLY_JS"), "cdn", StringComparison.OrdinalIgnoreCase);
    private static string? s_cachedPath;
    private static string? s_cachedJs;
    private static string? s_embedded;

    /// <summary>The address plotly.js is loaded from when <see cref="UseCdn"/> is set.</summary>
    public static string CdnUrl { get; set; } = DefaultCdnUrl;

    /// <summary>Load plotly.js from <see cref="CdnUrl"/> instead of inlining a local copy (needs network). Default false.</summary>
    public static bool UseCdn
    {
        get => s_useCdn;
        set { lock (s_gate) { s_useCdn = value; s_inlined = false; } }
    }

    /// <summary>
    /// A local plotly.js file to inline instead of the embedded copy; null for the embedded copy. Defaults to
    /// <c>$QUEST_PLOTLY_JS</c> (a path), else <c>data/artifacts/plotly.min.js</c> (or <c>$QUEST_ARTIFACTS/plotly.min.js</c>) when that file exists.
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

    /// <summary>What the next figure will use, for display: <c>embedded plotly.js 2.28.0</c>, the local file's path, or the CDN address.</summary>
    public static string Describe() => s_useCdn ? CdnUrl : s_localFile ?? $"embedded plotly.js {EmbeddedVersion} (from Plotly.NET)";

    /// <summary>The embedded plotly.js text, read (once) from the <c>Plotly.NET.dll</c> beside this library without loading that assembly.</summary>
    public static string Embedded()
    {
        if (s_embedded is not null) return s_embedded;
        var dirs = new[] { Path.GetDirectoryName(typeof(PlotlyJs).Assembly.Location), AppContext.BaseDirectory };
        var dll = dirs.Where(d => !string.IsNullOrEmpty(d)).Select(d => Path.Combine(d!, "Plotly.NET.dll")).FirstOrDefault(File.Exists)
            ?? throw new FileNotFoundException($"Plotly.NET.dll (which carries plotly.js) is not beside {typeof(PlotlyJs).Assembly.Location}; "
                + "reference the published library (artifacts/lib), set PlotlyJs.LocalFile to a plotly.min.js, or PlotlyJs.UseCdn = true.");
        using var pe = new System.Reflection.PortableExecutable.PEReader(File.OpenRead(dll));
        var md = System.Reflection.Metadata.PEReaderExtensions.GetMetadataReader(pe);
        foreach (var h in md.ManifestResources)
        {
            var r = md.GetManifestResource(h);
            if (md.GetString(r.Name) != EmbeddedResource) continue;
            var dir = pe.PEHeaders.CorHeader!.ResourcesDirectory;
            var block = pe.GetSectionData(dir.RelativeVirtualAddress).GetContent();
            int at = (int)r.Offset, len = BitConverter.ToInt32(block.AsSpan(at, 4));
            return s_embedded = Encoding.UTF8.GetString(block.AsSpan(at + 4, len)).TrimStart('\uFEFF');
        }
        throw new InvalidDataException($"{dll} holds no resource {EmbeddedResource} (another Plotly.NET version?)");
    }

    private static string? DefaultLocalFile()
    {
        var env = Environment.GetEnvironmentVariable("QUEST_PLOTLY_JS");
        if (!string.IsNullOrWhiteSpace(env) && !env.Equals("cdn", StringComparison.OrdinalIgnoreCase)) return env;
        var qa = Environment.GetEnvironmentVariable("QUEST_ARTIFACTS");
        var candidates = new List<string>();
        if (!string.IsNullOrWhiteSpace(qa)) candidates.Add(Path.Combine(qa, "plotly.min.js"));
        if (QuestPaths.RepoRoot is { } root) candidates.Add(Path.Combine(root, "data", "artifacts", "plotly.min.js"));
        return candidates.FirstOrDefault(File.Exists);
    }

    private static string? ReadLocal()
    {
        if (s_useCdn) return null;
        var path = s_localFile;
        if (string.IsNullOrWhiteSpace(path)) return Embedded();
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

    /// <summary>
    /// JavaScript (inside the figure's function, which defines <c>draw</c> and the div <c>id</c>) that finds plotly.js and
    /// then calls <c>draw(Plotly)</c>. With a local copy (the default) it names no network address: it waits for the
    /// inlined copy (an earlier cell's) to define <c>window.Plotly</c>, and after 10 s writes in the figure's place how to
    /// get it. Only with <see cref="UseCdn"/> does it load <see cref="CdnUrl"/>.
    /// </summary>
    internal static string LoaderScript(string id)
    {
        var sb = new StringBuilder();
        sb.Append("  if (window.Plotly) { draw(window.Plotly); return; }\n");
        if (!s_useCdn)
        {
            var hint = JsonSerializer.Serialize("plotly.js is not loaded on this page: run the notebook's first chart cell again "
                + "(it inlines plotly.js), or set PlotlyJs.InlineInEveryFigure = true.");
            sb.Append("  var waited = 0, timer = setInterval(function () {\n")
              .Append("    if (window.Plotly) { clearInterval(timer); draw(window.Plotly); return; }\n")
              .Append("    if ((waited += 100) >= 10000) { clearInterval(timer); var el = document.getElementById(").Append(JsonSerializer.Serialize(id))
              .Append("); if (el) el.textContent = ").Append(hint).Append("; }\n")
              .Append("  }, 100);\n");
            return sb.ToString();
        }
        var url = JsonSerializer.Serialize(CdnUrl);
        sb.Append("  var url = ").Append(url).Append(";\n")
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
