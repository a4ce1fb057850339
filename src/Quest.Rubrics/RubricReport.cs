using System.Globalization;
using System.Text;
using System.Text.Json;
using Quest.Core;

namespace Quest.Rubrics;

/// <summary>The scored state of one node.</summary>
public sealed record NodeReport
{
    /// <summary>The node.</summary>
    public required RubricNode Node { get; init; }
    /// <summary>Node id.</summary>
    public string Id => Node.Id;
    /// <summary>Score in [0, 1]; leaves 0 or 1.</summary>
    public required double Score { get; init; }
    /// <summary>passed / partial / failed / skipped.</summary>
    public required NodeStatus Status { get; init; }
    /// <summary>Static weight of the node in the final score (see <see cref="RubricTree.WeightOf"/>).</summary>
    public double Weight { get; init; }
    /// <summary>Leaves: what the check found (or why it was skipped).</summary>
    public string? Evidence { get; init; }
    /// <summary>Leaves: the judge's reasoning, when a judge decided.</summary>
    public string? Reasoning { get; init; }
    /// <summary>Leaves: structured evidence (e.g. <c>coverage</c>, <c>overlap</c>, <c>votes</c>).</summary>
    public IReadOnlyDictionary<string, object?>? Data { get; init; }
    /// <summary>LLM calls spent on this node and below.</summary>
    public int JudgeCalls { get; init; }
    /// <summary>Leaves: the id of the earlier leaf whose failure or skip skipped this one (its check never ran).</summary>
    public string? SkippedBy { get; init; }
    /// <summary>True when the sequential parent forced this node to 0/skipped after an earlier sibling scored below 1.</summary>
    public bool ForcedSkip { get; init; }
    /// <summary>Leaves: true when the check actually ran.</summary>
    public bool Checked { get; init; }
    /// <summary>Child reports in tree order.</summary>
    public required IReadOnlyList<NodeReport> Children { get; init; }

    /// <summary>Status as QUEST writes it: "passed", "partial", "failed", "skipped".</summary>
    public string StatusText => RubricReport.StatusName(Status);
}

/// <summary>The result of scoring one answer (or one set of leaf outcomes) against a <see cref="RubricTree"/>.</summary>
public sealed class RubricReport
{
    private readonly NodeReport[] _byIndex;

    internal RubricReport(RubricTree tree, NodeReport root, NodeReport[] byIndex)
    {
        Tree = tree; Root = root; _byIndex = byIndex;
        Nodes = tree.Nodes.Select((n, i) => (n.Id, byIndex[i])).ToDictionary(x => x.Id, x => x.Item2, StringComparer.Ordinal);
    }

    /// <summary>The tree that was used.</summary>
    public RubricTree Tree { get; }
    /// <summary>The final score (the root's aggregated score; QUEST's <c>final_score</c>).</summary>
    public double Score => Root.Score;
    /// <summary>The root's report (a tree of <see cref="NodeReport"/>).</summary>
    public NodeReport Root { get; }
    /// <summary>Every node's report by id.</summary>
    public IReadOnlyDictionary<string, NodeReport> Nodes { get; }
    /// <summary>Leaf reports in evaluation order.</summary>
    public IEnumerable<NodeReport> Leaves => Tree.Leaves.Select(l => Nodes[l.Id]);
    /// <summary>Total LLM calls.</summary>
    public int JudgeCalls => Root.JudgeCalls;
    /// <summary>Leaves whose check ran.</summary>
    public int LeavesChecked => Leaves.Count(l => l.Checked);
    /// <summary>The report of a node.</summary>
    public NodeReport this[string id] => Nodes[id];

    /// <summary>"passed" / "partial" / "failed" / "skipped" / "initialized".</summary>
    public static string StatusName(NodeStatus s) => s.ToString().ToLowerInvariant();

    /// <summary>
    /// The cross-check JSON: exactly <c>{"score": s, "nodes": {"id": {"score": s, "status": "…"}, …}}</c>, nodes in tree order.
    /// With <paramref name="details"/>, nodes also carry <c>evidence</c>, <c>reasoning</c>, <c>skipped_by</c>, <c>weight</c>
    /// and <c>data</c>, and the top level carries <c>tree</c> and <c>judge_calls</c>.
    /// </summary>
    public string ToJson(bool details = false, bool indented = true)
    {
        using var ms = new MemoryStream();
        using (var w = new Utf8JsonWriter(ms, new JsonWriterOptions { Indented = indented, Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            w.WriteStartObject();
            if (details) w.WriteString("tree", Tree.Name);
            w.WriteNumber("score", Score);
            if (details) { w.WriteNumber("judge_calls", JudgeCalls); w.WriteNumber("leaves_checked", LeavesChecked); }
            w.WritePropertyName("nodes");
            w.WriteStartObject();
            foreach (var n in Tree.Nodes)
            {
                var r = Nodes[n.Id];
                w.WritePropertyName(n.Id);
                w.WriteStartObject();
                w.WriteNumber("score", r.Score);
                w.WriteString("status", r.StatusText);
                if (details)
                {
                    w.WriteNumber("weight", r.Weight);
                    if (r.Evidence is not null) w.WriteString("evidence", r.Evidence);
                    if (r.Reasoning is not null) w.WriteString("reasoning", r.Reasoning);
                    if (r.SkippedBy is not null) w.WriteString("skipped_by", r.SkippedBy);
                    if (r.ForcedSkip) w.WriteBoolean("forced_skip", true);
                    if (r.Data is { Count: > 0 })
                    {
                        w.WritePropertyName("data");
                        JsonSerializer.Serialize(w, r.Data);
                    }
                }
                w.WriteEndObject();
            }
            w.WriteEndObject();
            w.WriteEndObject();
        }
        return Encoding.UTF8.GetString(ms.ToArray());
    }

    /// <summary>An indented plain-text rendering: one line per node with score, status and evidence.</summary>
    public string ToText()
    {
        var sb = new StringBuilder();
        sb.AppendLine(CultureInfo.InvariantCulture, $"{Tree.Name}: score {Score:0.###}");
        void Walk(NodeReport r, string indent)
        {
            var tags = (r.Node.Critical ? " [critical]" : "") + (r.Node.Strategy == RubricStrategy.Sequential && !r.Node.IsLeaf ? " [sequential]" : "");
            sb.Append(indent).Append(CultureInfo.InvariantCulture, $"{r.Id}{tags}: {r.Score:0.###} {r.StatusText}");
            if (r.Evidence is not null) sb.Append(" — ").Append(ToolText.TruncateMiddle(r.Evidence.ReplaceLineEndings(" "), 160));
            sb.AppendLine();
            foreach (var c in r.Children) Walk(c, indent + "  ");
        }
        Walk(Root, "  ");
        return sb.ToString();
    }

    /// <inheritdoc />
    public override string ToString() => $"{Tree.Name}: {Score.ToString("0.###", CultureInfo.InvariantCulture)} ({Leaves.Count(l => l.Status == NodeStatus.Passed)}/{Tree.Leaves.Count} leaves passed)";
}
