using System.Globalization;
using Plotly.NET;
using System.Text;
using Quest.Rubrics;
using Quest.Synthesis;
using Quest.Synthesis.Teacher;

namespace Quest.Interactive;

/// <summary>
/// Synthesized tasks and synthesis runs as HTML and charts: a task card (question, answer, reference path, negatives
/// with their scores, the rubric tree), a task table, and the rejection summary as a table and a stacked bar chart.
/// <see cref="QuestNotebook.Init"/> registers the card as the HTML of <see cref="SynthTask"/> and the summary as the
/// HTML of <see cref="SynthesisResult"/>.
/// </summary>
public static class SynthesisHtml
{
    /// <summary>A task card. The rubric tree is parsed from the task's JSON when <paramref name="tree"/> is null.</summary>
    public static HtmlFragment TaskCard(SynthTask task, RubricTree? tree = null, bool showTree = true)
    {
        var sb = new StringBuilder("<div class=\"quest-task\" style=\"font-family:sans-serif;font-size:13px;line-height:1.45;border:1px solid #ccc;border-radius:6px;padding:8px;margin:4px 0\">");
        sb.Append("<div style=\"margin-bottom:4px\"><b>").Append(Html.Escape(task.Id)).Append("</b> ")
          .Append(Html.Badge(task.Family, BadgeColor.Blue))
          .Append(Html.Badge(task.Complexity, BadgeColor.Grey, "complexity class: breadth × depth"))
          .Append(Html.Badge(task.Split, task.Split == "test" ? BadgeColor.Amber : BadgeColor.Green))
          .Append(Html.Badge(task.Type, BadgeColor.Grey));
        if (task.NeedCitation) sb.Append(Html.Badge("citations", BadgeColor.Blue, "reward = 0.75·base + 0.25·valid_rate·base"));
        sb.Append("</div>");
        sb.Append("<div style=\"margin:6px 0\"><i>Question:</i> ").Append(Html.Escape(task.Question)).Append("</div>");
        sb.Append("<div><i>Answer:</i> <b>").Append(Html.Escape(task.Answer)).Append("</b>");
        if (task.Aliases.Count > 0) sb.Append(" <span style=\"color:#666\">(also: ").Append(Html.Escape(string.Join(", ", task.Aliases))).Append(")</span>");
        sb.Append("</div>");
        var steps = new StringBuilder("<ol style=\"margin:2px 0 2px 18px;padding:0\">");
        foreach (var s in task.Reference.Steps)
        {
            steps.Append("<li>").Append(Html.Escape(s.Thought));
            if (s.Query is not null) steps.Append(" <code>search: ").Append(Html.Escape(s.Query)).Append("</code>");
            if (s.Url is not null) steps.Append(" <code>visit: ").Append(Html.Escape(s.Url)).Append("</code>");
            steps.Append("</li>");
        }
        steps.Append("</ol>");
        sb.Append(Html.Details($"Reference path ({task.Reference.Steps.Count} steps)", steps.ToString()));
        sb.Append(Html.Details("Reference answer", Html.Pre(task.Reference.AnswerText, 260)));
        if (task.Negatives.Count > 0)
        {
            var neg = new StringBuilder();
            foreach (var n in task.Negatives)
                neg.Append("<div style=\"margin:3px 0\">").Append(Html.ScoreBadge(n.Score, "0.###")).Append(' ').Append(Html.Badge(n.Kind, BadgeColor.Grey))
                   .Append(Html.Details("answer", Html.Pre(n.Answer, 160))).Append("</div>");
            sb.Append(Html.Details($"Negatives ({task.Negatives.Count}, all scored below 1)", neg.ToString()));
        }
        if (task.Criteria is { Count: > 0 })
            sb.Append(Html.Details($"Report criteria ({task.Criteria.Count})", Tables.ToHtml(task.Criteria.Select(c => new
            {
                dimension = c.Dimension, weight = c.Weight, dimension_weight = task.DimensionWeights?.GetValueOrDefault(c.Dimension) ?? 1, check = c.Check, value = c.Value ?? "", text = c.Text,
            }))));
        if (showTree && task.Rubric is not null)
        {
            tree ??= RubricTree.FromQuestJson(task.Rubric.ToJsonString(), source: task.Id);
            sb.Append(Html.Details("Rubric tree", RubricHtml.Tree(tree, openDepth: 2), open: false));
        }
        return new HtmlFragment(sb.Append("</div>").ToString());
    }

    /// <summary>One row per task: id, family, class, split, question (shortened), answer.</summary>
    public static HtmlFragment TaskTable(IEnumerable<SynthTask> tasks, int maxRows = 50) =>
        Tables.ToHtml(tasks.Select(t => new
        {
            id = t.Id, family = t.Family, complexity = t.Complexity, split = t.Split,
            question = t.Question.Length > 110 ? t.Question[..109] + "…" : t.Question,
            answer = t.Answer.Length > 60 ? t.Answer[..59] + "…" : t.Answer,
            negatives = t.Negatives.Count,
        }), maxRows: maxRows);

    /// <summary>The rejection summary: one row per check (and the accepted count), one column per family.</summary>
    public static HtmlFragment RejectionTable(SynthesisResult result)
    {
        var fams = Families(result);
        var rows = new List<Dictionary<string, object?>>();
        var acc = new Dictionary<string, object?> { ["check"] = "accepted" };
        foreach (var f in fams) acc[f] = result.Tasks.Count(t => t.Family == f);
        acc["total"] = result.Tasks.Count;
        rows.Add(acc);
        foreach (var reason in Reasons(result))
        {
            var r = new Dictionary<string, object?> { ["check"] = "rejected: " + reason };
            foreach (var f in fams) r[f] = result.RejectedByFamily.GetValueOrDefault((f, reason));
            r["total"] = result.Rejected.GetValueOrDefault(reason);
            rows.Add(r);
        }
        return Tables.ToHtml(rows, caption: $"{result.Tasks.Count} tasks accepted from {result.Candidates} candidates");
    }

    /// <summary>Stacked bars per family: accepted tasks and each rejection reason.</summary>
    public static GenericChart RejectionChart(SynthesisResult result)
    {
        var fams = Families(result);
        var series = new List<(string, IEnumerable<double>)> { ("accepted", fams.Select(f => (double)result.Tasks.Count(t => t.Family == f)).ToList()) };
        foreach (var reason in Reasons(result))
            series.Add((reason, fams.Select(f => (double)result.RejectedByFamily.GetValueOrDefault((f, reason))).ToList()));
        return Charts.Bars(fams, [.. series]).WithBarMode(StyleParam.BarMode.Stack).WithTitle("Candidates per family: accepted and rejected by check");
    }

    /// <summary>Tasks per complexity class (C1…C9), one bar series per family.</summary>
    public static GenericChart ComplexityChart(IEnumerable<SynthTask> tasks)
    {
        var list = tasks.ToList();
        var classes = Enumerable.Range(1, 9).Select(i => $"C{i}").ToList();
        var series = list.Select(t => t.Family).Distinct()
            .Select(f => (f, (IEnumerable<double>)classes.Select(c => (double)list.Count(t => t.Family == f && t.Complexity == c)).ToList())).ToArray();
        return Charts.Bars(classes, series).WithBarMode(StyleParam.BarMode.Stack).WithTitle("Tasks per complexity class (breadth × depth)");
    }

    /// <summary>Teacher results: task, family, sessions, turns, reward.</summary>
    public static HtmlFragment TeacherTable(IEnumerable<TeacherResult> results) =>
        Tables.ToHtml(results.Select(r => new
        {
            task = r.Task.Id, family = r.Task.Family, sessions = r.Trajectory.Sessions.Count, rounds = r.Trajectory.Rounds,
            tool_calls = r.Trajectory.ToolCalls.Values.Sum(), @base = r.Reward.Base, valid_rate = r.Reward.CitationApplied ? r.Reward.ValidRate.ToString("0.##", CultureInfo.InvariantCulture) : "-",
            reward = r.Reward.Total,
        }));

    private static List<string> Families(SynthesisResult r) =>
        r.Tasks.Select(t => t.Family).Concat(r.RejectedByFamily.Keys.Select(k => k.Family)).Distinct().ToList();

    private static List<string> Reasons(SynthesisResult r) =>
        r.RejectedByFamily.Keys.Select(k => k.Reason).Distinct().OrderBy(x => x, StringComparer.Ordinal).ToList();
}

/// <summary>Registers the synthesis displays (task cards, run summaries).</summary>
internal sealed class SynthesisFormatters : INotebookFormatters
{
    public void Register()
    {
        QuestNotebook.RegisterHtml<SynthTask>(t => SynthesisHtml.TaskCard(t).Html);
        QuestNotebook.RegisterHtml<SynthesisResult>(r => SynthesisHtml.RejectionTable(r).Html);
    }
}
