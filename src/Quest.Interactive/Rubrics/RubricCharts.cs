using System.Globalization;
using Plotly.NET;
using Quest.Rubrics;

namespace Quest.Interactive;

/// <summary>
/// Plotly charts of rubric trees and reports.
/// <para><b>Sunburst sizing.</b> Each non-critical node is sized by its exact weight in the final score (the root has 1;
/// a non-critical child gets its parent's weight divided by the number of non-critical siblings). Critical nodes have
/// weight 0 — they gate, they never add — so they would be invisible. They are drawn instead as thin slivers of a fixed
/// size: all gates together take <see cref="GateShare"/> of the chart, split equally between the top-most gates (critical
/// nodes whose parent is not critical), and equally again down a gate's critical subtree. The slivers are added on top
/// (Plotly's <c>branchvalues: remainder</c>), so the sizes of the non-critical nodes stay exactly proportional to their
/// weights; the hover text always shows the true weight ("gate" for critical nodes).</para>
/// </summary>
public static class RubricCharts
{
    /// <summary>The part of the sunburst all gate slivers take together (default 0.08).</summary>
    public static double GateShare { get; set; } = 0.08;

    /// <summary>A sunburst of the tree, coloured by status when a report is given (else soft nodes blue, gates purple).</summary>
    public static GenericChart Sunburst(RubricTree tree, RubricReport? report = null, string? title = null)
    {
        var ids = new List<string>(); var labels = new List<string>(); var parents = new List<string>();
        var values = new List<double>(); var colors = new List<string>(); var hover = new List<string>();
        var gateValue = GateValues(tree);
        foreach (var n in tree.Nodes)
        {
            var parent = tree.ParentOf(n.Id);
            ids.Add(n.Id);
            labels.Add(n.Id.Length > 24 ? n.Id[..23] + "…" : n.Id);
            parents.Add(parent?.Id ?? "");
            double w = tree.WeightOf(n.Id);
            // remainder mode: a node's own value is added to its children's. Leaves carry their weight; an inner node
            // whose children are all gates carries its own weight (its children add nothing); gates carry their sliver.
            double own = gateValue.TryGetValue(n.Id, out var g) ? g
                : n.IsLeaf || n.Children.All(c => c.Critical) ? w : 0;
            values.Add(own);
            var r = report?[n.Id];
            colors.Add(r is not null ? Html.Css(RubricHtml.StatusColor(r.Status))
                : n.Critical ? Html.Css(BadgeColor.Purple) : Shade(tree, n));
            var weight = n.Critical ? "gate (weight 0)" : "weight " + w.ToString("0.###", CultureInfo.InvariantCulture);
            var status = r is null ? "" : $"<br>score {r.Score.ToString("0.###", CultureInfo.InvariantCulture)} · {r.StatusText}";
            var flags = (n.Critical ? "<br>CRITICAL" : "") + (!n.IsLeaf && n.Strategy == RubricStrategy.Sequential ? "<br>SEQUENTIAL" : "");
            hover.Add($"{weight}{status}{flags}<br>{Wrap(n.Description)}");
        }
        var fig = Charts.Sunburst(ids, labels, parents, values, colors, hover,
            title ?? (report is null ? tree.Name : $"{tree.Name}: score {report.Score.ToString("0.###", CultureInfo.InvariantCulture)}"),
            branchValuesTotal: false);
        return fig;
    }

    /// <summary>Answers × leaves: each cell a leaf's outcome (1 passed, 0 failed, 0.5 drawn for skipped), rows labelled with the final score.</summary>
    public static GenericChart LeafHeatmap(IReadOnlyList<RubricReport> reports, IReadOnlyList<string>? names = null, string? title = null)
    {
        if (reports.Count == 0) throw new ArgumentException("no reports", nameof(reports));
        var tree = reports[0].Tree;
        var leaves = tree.Leaves;
        var z = new double[reports.Count, leaves.Count];
        for (int i = 0; i < reports.Count; i++)
            for (int j = 0; j < leaves.Count; j++)
            {
                var r = reports[i][leaves[j].Id];
                z[i, j] = r.Status == NodeStatus.Skipped ? 0.5 : r.Score;
            }
        var rows = reports.Select((r, i) => $"{(names is not null && i < names.Count ? names[i] : $"answer {i + 1}")} ({r.Score.ToString("0.##", CultureInfo.InvariantCulture)})");
        return Charts.Heatmap(z, leaves.Select(l => l.Id + (l.Critical ? " ★" : "")), rows, title ?? $"{tree.Name}: leaf outcomes (0.5 = skipped, ★ = critical)", ColorScales.RedYellowGreen);
    }

    private static Dictionary<string, double> GateValues(RubricTree tree)
    {
        var result = new Dictionary<string, double>(StringComparer.Ordinal);
        var tops = tree.Nodes.Where(n => n.Critical && tree.ParentOf(n.Id) is { Critical: false }).ToList();
        if (tops.Count == 0) return result;
        double each = GateShare / tops.Count;
        foreach (var top in tops)
        {
            // Split the sliver over the gate's leaves (inner gate nodes carry 0 in remainder mode).
            var gateLeaves = top.DepthFirst().Where(d => d.IsLeaf).ToList();
            foreach (var d in top.DepthFirst()) result[d.Id] = d.IsLeaf ? each / gateLeaves.Count : 0;
        }
        return result;
    }

    private static string Shade(RubricTree tree, RubricNode n)
    {
        int depth = 0;
        for (var p = tree.ParentOf(n.Id); p is not null; p = tree.ParentOf(p.Id)) depth++;
        string[] blues = ["#1565c0", "#1e88e5", "#42a5f5", "#90caf9", "#bbdefb"];
        return blues[Math.Min(depth, blues.Length - 1)];
    }

    private static string Wrap(string text)
    {
        var words = text.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        var lines = new List<string>(); var line = "";
        foreach (var w in words)
        {
            if (line.Length + w.Length > 60) { lines.Add(line); line = ""; }
            line = line.Length == 0 ? w : line + " " + w;
        }
        if (line.Length > 0) lines.Add(line);
        return string.Join("<br>", lines.Take(4).Select(System.Net.WebUtility.HtmlEncode));
    }
}

/// <summary>Registers the HTML formatters of rubric trees and reports (run by <see cref="QuestNotebook.Init"/>).</summary>
internal sealed class RubricFormatters : INotebookFormatters
{
    public void Register()
    {
        QuestNotebook.RegisterHtml<RubricTree>(t => RubricHtml.Tree(t).Html);
        QuestNotebook.RegisterHtml<RubricReport>(r => RubricHtml.Report(r).Html);
    }
}
