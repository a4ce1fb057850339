using System.Globalization;
using System.Text;
using Quest.Rubrics;

namespace Quest.Interactive;

/// <summary>
/// Rubric trees and scoring reports as interactive HTML: nested collapsible <c>&lt;details&gt;</c> blocks, one per node,
/// with badges for critical (gate) and sequential nodes, each node's weight in the final score, and, for reports, the
/// score and status of every node (left border coloured green / amber / red / grey for passed / partial / failed /
/// skipped) plus each leaf's evidence and judge reasoning. <see cref="QuestNotebook.Init"/> registers these as the
/// HTML formatters of <see cref="RubricTree"/> and <see cref="RubricReport"/>, so a cell ending in a tree or a report
/// renders this way.
/// </summary>
public static class RubricHtml
{
    /// <summary>The tree: descriptions, flags, weights and each leaf's check. Levels below <paramref name="openDepth"/> start collapsed.</summary>
    public static HtmlFragment Tree(RubricTree tree, int openDepth = 3)
    {
        var sb = new StringBuilder("<div class=\"quest-rubric\" style=\"font-family:sans-serif;font-size:13px;line-height:1.45\">");
        sb.Append("<div style=\"margin-bottom:4px\"><b>").Append(Html.Escape(tree.Name)).Append("</b> ")
          .Append(Html.Badge($"{tree.Nodes.Count} nodes · {tree.Leaves.Count} leaves · depth {tree.Depth}", BadgeColor.Grey));
        if (tree.JudgeLeafCount > 0) sb.Append(Html.Badge($"{tree.JudgeLeafCount} judge", BadgeColor.Blue, "leaves checked by an LLM judge"));
        sb.Append("</div>");
        if (tree.Task is not null) sb.Append("<div style=\"color:#555;margin-bottom:6px\"><i>Task:</i> ").Append(Html.Escape(tree.Task)).Append("</div>");
        Node(sb, tree, tree.Root, null, 0, openDepth);
        return new HtmlFragment(sb.Append(Legend(false)).Append("</div>").ToString());
    }

    /// <summary>A report: the final score, then the tree with every node's score and status and the leaves' evidence.</summary>
    public static HtmlFragment Report(RubricReport report, int openDepth = 3)
    {
        var tree = report.Tree;
        var sb = new StringBuilder("<div class=\"quest-rubric-report\" style=\"font-family:sans-serif;font-size:13px;line-height:1.45\">");
        sb.Append("<div style=\"margin-bottom:6px\"><b>").Append(Html.Escape(tree.Name)).Append("</b> score ")
          .Append(Html.ScoreBadge(report.Score, "0.###"))
          .Append(Html.Badge($"{report.Leaves.Count(l => l.Status == NodeStatus.Passed)}/{tree.Leaves.Count} leaves passed", BadgeColor.Grey))
          .Append(Html.Badge($"{report.LeavesChecked} checked", BadgeColor.Grey, "leaves whose check ran (the others were skipped by a precondition)"));
        if (report.JudgeCalls > 0) sb.Append(Html.Badge($"{report.JudgeCalls} judge calls", BadgeColor.Blue));
        sb.Append("</div>");
        Node(sb, tree, tree.Root, report, 0, openDepth);
        return new HtmlFragment(sb.Append(Legend(true)).Append("</div>").ToString());
    }

    /// <summary>The status colour used by the tree, the sunburst and the tables.</summary>
    public static BadgeColor StatusColor(NodeStatus status) => status switch
    {
        NodeStatus.Passed => BadgeColor.Green,
        NodeStatus.Partial => BadgeColor.Amber,
        NodeStatus.Failed => BadgeColor.Red,
        _ => BadgeColor.Grey,
    };

    private static void Node(StringBuilder sb, RubricTree tree, RubricNode n, RubricReport? report, int depth, int openDepth)
    {
        var r = report?[n.Id];
        var head = new StringBuilder();
        if (r is not null) head.Append(Html.ScoreBadge(r.Score, "0.###")).Append(Html.Badge(r.StatusText, StatusColor(r.Status)));
        head.Append("<b>").Append(Html.Escape(n.Id)).Append("</b> ");
        if (n.Critical) head.Append(Html.Badge("critical", BadgeColor.Purple, "a gate: below 1 it zeroes its parent; never averaged"));
        if (!n.IsLeaf && n.Strategy == RubricStrategy.Sequential)
            head.Append(Html.Badge("sequential", BadgeColor.Blue, "children after the first one below 1 are forced to 0 and skipped"));
        var w = tree.WeightOf(n.Id);
        head.Append("<span style=\"color:#777;font-size:85%\" title=\"share of the final score\">")
            .Append(n.Critical ? "gate" : "w=" + w.ToString("0.###", CultureInfo.InvariantCulture)).Append("</span> ");
        head.Append("<span>").Append(Html.Escape(n.Description)).Append("</span>");

        var border = r is null ? (n.Critical ? Html.Css(BadgeColor.Purple) : "#90a4ae") : Html.Css(StatusColor(r.Status));
        sb.Append("<div style=\"border-left:3px solid ").Append(border).Append(";padding-left:6px;margin:2px 0\">");
        if (n.IsLeaf)
        {
            sb.Append("<div>").Append(head).Append("</div>");
            sb.Append("<div style=\"margin-left:1.2em;color:#555\">");
            if (n.Check is not null) sb.Append("<code style=\"font-size:90%\">").Append(Html.Escape(n.Check.ToString())).Append("</code>");
            if (r?.Evidence is { } ev) sb.Append("<div>").Append(r.SkippedBy is not null ? "⏭ " : "").Append(Html.Escape(ev)).Append("</div>");
            if (r?.Reasoning is { } why) sb.Append("<div><i>judge:</i> ").Append(Html.Escape(why)).Append("</div>");
            if (r?.Data is { } data && data.TryGetValue("coverage", out var cov) && cov is double c)
                sb.Append("<div>coverage ").Append(Bar(c)).Append(' ').Append(c.ToString("P0", CultureInfo.InvariantCulture)).Append("</div>");
            sb.Append("</div>");
        }
        else
        {
            var body = new StringBuilder();
            if (r?.ForcedSkip == true) body.Append("<div style=\"color:#777\">forced to 0: an earlier sibling of the sequential parent scored below 1</div>");
            foreach (var c in n.Children) Node(body, tree, c, report, depth + 1, openDepth);
            sb.Append(Html.Details(head.ToString(), body.ToString(), open: depth < openDepth).Html);
        }
        sb.Append("</div>");
    }

    private static string Bar(double fraction)
    {
        int px = (int)Math.Round(Math.Clamp(fraction, 0, 1) * 80);
        return $"<span style=\"display:inline-block;width:80px;height:8px;background:#e0e0e0;vertical-align:middle\"><span style=\"display:block;width:{px}px;height:8px;background:{Html.Css(BadgeColor.Green)}\"></span></span>";
    }

    private static string Legend(bool report) =>
        "<div style=\"color:#777;font-size:85%;margin-top:4px\">" +
        (report ? "green passed · amber partial · red failed · grey skipped. " : "") +
        "w = weight in the final score (non-critical children share their parent's weight equally); critical nodes are gates: " +
        "below 1 they zero their parent and never enter its mean. Click a node to fold it.</div>";
}
