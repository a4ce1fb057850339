using System.Diagnostics;
using System.Text;
using System.Text.RegularExpressions;
using Microsoft.DotNet.Interactive;
using Microsoft.DotNet.Interactive.Commands;
using Microsoft.DotNet.Interactive.CSharp;
using Microsoft.DotNet.Interactive.Documents;
using Microsoft.DotNet.Interactive.Documents.Jupyter;
using Microsoft.DotNet.Interactive.Events;
using Microsoft.DotNet.Interactive.Formatting;
using KernelInfo = Microsoft.DotNet.Interactive.Documents.KernelInfo;

namespace Quest.Notebooks.Tests;

/// <summary>One executed code cell: its number among code cells (1-based), first line, time, and what it produced.</summary>
public sealed record CellRun(int Number, string FirstLine, TimeSpan Elapsed, IReadOnlyList<KernelEvent> Events)
{
    /// <summary>Every formatted value (returned, displayed, updated) the cell produced, as (mime type, text).</summary>
    public IEnumerable<(string MimeType, string Value)> Outputs =>
        Events.OfType<DisplayEvent>().SelectMany(e => e.FormattedValues).Select(f => (f.MimeType, f.Value));
}

/// <summary>The outcome of running one notebook: the cells that ran and, if one failed, why.</summary>
public sealed record NotebookRun(string Notebook, IReadOnlyList<CellRun> Cells, string? Failure, TimeSpan Elapsed)
{
    /// <summary>True when every code cell ran without a CommandFailed.</summary>
    public bool Succeeded => Failure is null;
}

/// <summary>
/// Runs a .ipynb the way a reader would: every C# code cell in order, on one fresh in-process C# kernel, stopping at the
/// first failing cell. <c>#r "../artifacts/lib/X.dll"</c> (the form notebooks use to reach the built library) is
/// rewritten to <c>X.dll</c> in <see cref="LibraryDirectory"/> (the test output, which holds every Quest assembly).
/// The working directory is the notebook's folder while it runs, as in Jupyter.
/// </summary>
public static class NotebookRunner
{
    private static readonly Regex LibReference = new(@"(#r\s+"")(?:\.\./)*artifacts/lib/([^""]+)("")", RegexOptions.Compiled);

    /// <summary>The folder referenced assemblies are taken from: the test's own output folder.</summary>
    public static string LibraryDirectory { get; } = AppContext.BaseDirectory;

    /// <summary>The repository root (the folder holding Quest.Notebooks.sln), found from the working directory or the test output.</summary>
    public static string RepoRoot { get; } = FindRepoRoot();

    /// <summary>The kernel names a .ipynb may use; csharp is the default.</summary>
    public static KernelInfoCollection KernelInfos { get; } = new()
    {
        new KernelInfo("csharp", languageName: "C#", aliases: ["c#", "C#", "cs"]),
        new KernelInfo("fsharp", languageName: "F#", aliases: ["f#", "F#"]),
        new KernelInfo("pwsh", languageName: "PowerShell", aliases: ["powershell"]),
        new KernelInfo("value"),
        new KernelInfo("mermaid"),
        new KernelInfo("http"),
    };

    static NotebookRunner() => KernelInfos.DefaultKernelName = "csharp";

    /// <summary>Rewrites <c>#r "../artifacts/lib/X.dll"</c> to the absolute path of X.dll in <paramref name="libDir"/>.</summary>
    public static string RewriteReferences(string code, string libDir) =>
        LibReference.Replace(code, m => m.Groups[1].Value + Path.Combine(libDir, m.Groups[2].Value) + m.Groups[3].Value);

    /// <summary>The code cells of a notebook (C# only; markdown and raw cells are skipped), in order.</summary>
    public static IReadOnlyList<string> CodeCells(string notebookPath)
    {
        var doc = Notebook.Parse(File.ReadAllText(notebookPath), KernelInfos);
        var cells = new List<string>();
        foreach (var e in doc.Elements)
        {
            if (e.KernelName is "markdown" or "md") continue;
            if (e.KernelName is not ("csharp" or null or ""))
                throw new InvalidOperationException($"{Path.GetFileName(notebookPath)}: a code cell uses kernel '{e.KernelName}'; the harness runs C# cells only.");
            cells.Add(e.Contents);
        }
        return cells;
    }

    /// <summary>
    /// Runs every code cell of <paramref name="notebookPath"/>. Never throws for a failing cell: the returned
    /// <see cref="NotebookRun.Failure"/> names the notebook, the cell and the error. <paramref name="log"/> receives one
    /// line per cell with its time.
    /// </summary>
    public static async Task<NotebookRun> RunAsync(string notebookPath, Action<string>? log = null, TimeSpan? timeout = null, CancellationToken cancellationToken = default)
    {
        var name = Path.GetFileName(notebookPath);
        var cells = CodeCells(notebookPath);
        var runs = new List<CellRun>();
        var total = Stopwatch.StartNew();
        var limit = timeout ?? TimeSpan.FromMinutes(10);
        var previousDir = Directory.GetCurrentDirectory();
        Directory.SetCurrentDirectory(Path.GetDirectoryName(Path.GetFullPath(notebookPath))!);
        using var kernel = new CSharpKernel().UseKernelHelpers();
        try
        {
            for (var i = 0; i < cells.Count; i++)
            {
                var number = i + 1;
                var firstLine = FirstLine(cells[i]);
                if (string.IsNullOrWhiteSpace(cells[i])) continue;
                var code = RewriteReferences(cells[i], LibraryDirectory);
                var sw = Stopwatch.StartNew();
                var send = kernel.SendAsync(new SubmitCode(code), cancellationToken);
                var remaining = limit - total.Elapsed;
                var finished = await Task.WhenAny(send, Task.Delay(remaining > TimeSpan.Zero ? remaining : TimeSpan.Zero, cancellationToken));
                if (finished != send)
                {
                    var why = $"{name}: code cell {number} (\"{firstLine}\") did not finish: the notebook exceeded its time limit of {limit.TotalSeconds:0} s.";
                    log?.Invoke(why);
                    return new NotebookRun(name, runs, why, total.Elapsed);
                }
                var result = await send;
                sw.Stop();
                var events = result.Events.ToList();
                runs.Add(new CellRun(number, firstLine, sw.Elapsed, events));
                log?.Invoke($"  cell {number,3}  {sw.Elapsed.TotalSeconds,7:0.00} s  {firstLine}");
                if (events.OfType<CommandFailed>().FirstOrDefault() is { } failed)
                {
                    var why = $"{name}: code cell {number} (\"{firstLine}\") failed: {Describe(failed)}";
                    log?.Invoke(why);
                    return new NotebookRun(name, runs, why, total.Elapsed);
                }
            }
            log?.Invoke($"{name}: {runs.Count} code cells in {total.Elapsed.TotalSeconds:0.00} s");
            return new NotebookRun(name, runs, null, total.Elapsed);
        }
        finally
        {
            Directory.SetCurrentDirectory(previousDir);
        }
    }

    /// <summary>The first non-blank line of a cell, shortened to 80 characters.</summary>
    public static string FirstLine(string code)
    {
        var line = code.Split('\n').Select(l => l.Trim()).FirstOrDefault(l => l.Length > 0) ?? "";
        return line.Length <= 80 ? line : line[..77] + "...";
    }

    private static string Describe(CommandFailed failed)
    {
        var sb = new StringBuilder();
        if (failed.Exception is { } ex)
        {
            // The user's exception is what matters; kernel plumbing frames below it are noise.
            if (ex.GetType().Name.Contains("CompilationError", StringComparison.Ordinal))
                return "compilation error: " + ex.Message; // the diagnostics; no useful stack
            sb.Append(ex.GetType().FullName).Append(": ").Append(ex.Message);
            for (Exception? outer = ex, inner = ex.InnerException; inner is not null; outer = inner, inner = inner.InnerException)
                if (inner.Message != outer.Message)
                    sb.Append(" ---> ").Append(inner.GetType().FullName).Append(": ").Append(inner.Message);
            var trace = ex.StackTrace?.Split('\n').Select(l => l.TrimEnd()).Where(l => l.Length > 0).Take(8);
            if (trace is not null) sb.Append('\n').Append(string.Join('\n', trace));
        }
        else
        {
            sb.Append(failed.Message);
        }
        return sb.ToString();
    }

    private static string FindRepoRoot()
    {
        foreach (var start in new[] { Directory.GetCurrentDirectory(), AppContext.BaseDirectory })
            for (var d = new DirectoryInfo(start); d is not null; d = d.Parent)
                if (File.Exists(Path.Combine(d.FullName, "Quest.Notebooks.sln"))) return d.FullName;
        throw new InvalidOperationException($"Quest.Notebooks.sln not found above {Directory.GetCurrentDirectory()} or {AppContext.BaseDirectory}.");
    }
}
