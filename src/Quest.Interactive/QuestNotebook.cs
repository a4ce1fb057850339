using System.Reflection;
using Microsoft.DotNet.Interactive.Formatting;

namespace Quest.Interactive;

/// <summary>
/// Notebook set-up. Every notebook's first code cell ends with <c>QuestNotebook.Init();</c>:
/// <code>
/// #r "../artifacts/lib/Quest.Interactive.dll"
/// using Quest.Interactive;
/// QuestNotebook.Init();
/// </code>
/// It registers the HTML formatters of the kit (figures, and every <see cref="INotebookFormatters"/> in the loaded
/// <c>Quest.*</c> assemblies: rubric trees, transcripts here; training reports, eval tables and data frames in
/// <c>Quest.Analysis</c> when a notebook references it), so a cell whose last expression is one of those objects renders as HTML in the
/// in-process kernel, in Polyglot Notebooks and in Jupyter's .NET kernel alike. Calling it again is harmless.
/// </summary>
public static class QuestNotebook
{
    private static readonly object s_gate = new();

    /// <summary>
    /// Registers the formatters and returns a short line naming the registrations. Each call registers again (cheap),
    /// so formatters come back even if something reset the formatter tables in between.
    /// </summary>
    public static string Init()
    {
        BindFSharpCore();
        lock (s_gate)
        {
            var names = new List<string>();
            foreach (var registration in Registrations())
            {
                registration.Register();
                names.Add(registration.GetType().Name);
            }
            return $"Quest notebook kit ready ({string.Join(", ", names)}).";
        }
    }

    /// <summary>
    /// Plotly.NET (the kit's chart-building API) references FSharp.Core 10.1; the Jupyter tool (dotnet-interactive
    /// 1.0.712001) has FSharp.Core 10.0 loaded from start-up, and a second copy cannot load beside it. Every FSharp.Core
    /// member Plotly.NET uses exists in 10.0, so requests for another FSharp.Core version bind to the loaded one
    /// (measured: ../shared/PLATFORM.md). A no-op where FSharp.Core is not loaded yet or resolves normally (the in-process
    /// kernel, the CLI). This method mentions no Plotly type, so it runs before any loads.
    /// </summary>
    private static void BindFSharpCore()
    {
        if (s_fsharpBound) return;
        s_fsharpBound = true;
        var loaded = AppDomain.CurrentDomain.GetAssemblies().FirstOrDefault(a => a.GetName().Name == "FSharp.Core");
        if (loaded is null) return;
        System.Runtime.Loader.AssemblyLoadContext.Default.Resolving += (_, name) => name.Name == "FSharp.Core" ? loaded : null;
    }

    private static bool s_fsharpBound;

    /// <summary>
    /// Displays <paramref name="value"/> in the running notebook cell (as the kernel's <c>display(…)</c> does); false,
    /// and nothing shown, outside a notebook kernel (the CLI, a script, a test without a kernel).
    /// </summary>
    public static bool Display(object value)
    {
        try { return DisplayInKernel(value); }
        catch (FileNotFoundException) { return false; } // no kernel assembly in this process (a script, the CLI)
    }

    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.NoInlining)]
    private static bool DisplayInKernel(object value)
    {
        var context = Microsoft.DotNet.Interactive.KernelInvocationContext.Current;
        if (context is null) return false;
        Microsoft.DotNet.Interactive.KernelInvocationContextExtensions.Display(context, value, HtmlFormatter.MimeType);
        return true;
    }

    /// <summary>
    /// Registers <paramref name="toHtml"/> as the text/html rendering of <typeparamref name="T"/> and makes HTML its
    /// preferred output (for <see cref="INotebookFormatters"/> implementations and notebooks' own types).
    /// </summary>
    public static void RegisterHtml<T>(Func<T, string> toHtml)
    {
        ArgumentNullException.ThrowIfNull(toHtml);
        Formatter.Register<T>((value, writer) => writer.Write(toHtml(value)), HtmlFormatter.MimeType);
        Formatter.SetPreferredMimeTypesFor(typeof(T), HtmlFormatter.MimeType);
    }

    /// <summary>
    /// The registrations <see cref="Init"/> runs: every non-abstract <see cref="INotebookFormatters"/> in this assembly
    /// and in the other loaded <c>Quest.*</c> assemblies (a notebook's <c>#r</c> loads them), by type name.
    /// </summary>
    private static IEnumerable<INotebookFormatters> Registrations() =>
        AppDomain.CurrentDomain.GetAssemblies()
            .Where(a => a == typeof(QuestNotebook).Assembly || (a.GetName().Name?.StartsWith("Quest.", StringComparison.Ordinal) == true && !a.IsDynamic
                        && a.GetReferencedAssemblies().Any(r => r.Name == typeof(QuestNotebook).Assembly.GetName().Name)))
            .SelectMany(a => { try { return a.GetTypes(); } catch (ReflectionTypeLoadException e) { return e.Types.OfType<Type>().ToArray(); } })
            .Distinct()
            .Where(t => typeof(INotebookFormatters).IsAssignableFrom(t) && t is { IsAbstract: false, IsInterface: false })
            .OrderBy(t => t.FullName, StringComparer.Ordinal)
            .Select(t => (INotebookFormatters)Activator.CreateInstance(t, nonPublic: true)!);
}

/// <summary>
/// A set of formatter registrations that <see cref="QuestNotebook.Init"/> runs. Implement it (a class with a
/// parameterless constructor, may be internal) next to the display code of a room, e.g.
/// <c>internal sealed class RubricFormatters : INotebookFormatters { public void Register() =&gt; QuestNotebook.RegisterHtml&lt;RubricTree&gt;(t =&gt; RubricHtml.Tree(t)); }</c>.
/// </summary>
public interface INotebookFormatters
{
    /// <summary>Registers formatters (called by every <see cref="QuestNotebook.Init"/>; registering again replaces).</summary>
    void Register();
}

/// <summary>Formatters for the kit's own display types (HTML fragments; charts: <see cref="ChartFormatters"/>).</summary>
internal sealed class DisplayFormatters : INotebookFormatters
{
    public void Register()
    {
        QuestNotebook.RegisterHtml<HtmlFragment>(h => h.Html);
    }
}
