using Microsoft.Data.Analysis;
using Quest.Eval;
using Quest.Interactive;
using Quest.Models.Training;
using Quest.Recipe;

namespace Quest.Analysis;

/// <summary>
/// Notebook formatters of the training and analysis types (registered by <c>QuestNotebook.Init()</c> once a notebook
/// references Quest.Analysis): data frames and eval rows as tables, step reports as their fixed-format line, the run
/// summary as its table and ablation.
/// </summary>
internal sealed class AnalysisFormatters : INotebookFormatters
{
    // A notebook's `#r` does not load this assembly until a cell uses one of its types, which is usually after
    // QuestNotebook.Init() ran; registering when the assembly loads makes its types display as HTML from their first use.
#pragma warning disable CA2255 // a module initializer in a library: intended, see above
    [System.Runtime.CompilerServices.ModuleInitializer]
    internal static void OnLoad() => new AnalysisFormatters().Register();
#pragma warning restore CA2255

    public void Register()
    {
        QuestNotebook.RegisterHtml<DataFrame>(df => RunFrames.ToHtml(df));
        QuestNotebook.RegisterHtml<StepReport>(r => Html.Pre(r.ToString()).Html);
        QuestNotebook.RegisterHtml<RlStepReport>(r => Html.Pre(r.ToString()).Html);
        QuestNotebook.RegisterHtml<RecipeSummary>(s => Html.Pre(s.FormatTable()).Html);
        QuestNotebook.RegisterHtml<StageComparison>(c => Html.Pre(Evaluation.FormatComparisons([c])).Html);
        // a run under the repository shows as its relative path (a notebook's output names no machine's folders)
        static string DisplayPath(string dir) => Path.GetRelativePath(Quest.Core.QuestPaths.RepoRoot ?? "/", dir) is var rel && !rel.StartsWith("..", StringComparison.Ordinal) && !Path.IsPathRooted(rel) ? rel : Path.GetFileName(dir);
        QuestNotebook.RegisterHtml<RunData>(r => Tables.ToHtml(r.Stages.Select(s => new { s.Stage, Seconds = Math.Round(s.Seconds, 1), Metrics = string.Join(", ", s.Metrics.Take(6).Select(kv => $"{kv.Key} {kv.Value:0.###}")) }), caption: r.Name + " · " + DisplayPath(r.Dir)).Html);
    }
}
