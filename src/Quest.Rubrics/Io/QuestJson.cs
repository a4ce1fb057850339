using System.Collections;
using System.Globalization;
using System.Text;
using System.Text.Json;
using Quest.Core;

namespace Quest.Rubrics;

/// <summary>Which wrapper <see cref="QuestJson.Write"/> produces.</summary>
public enum QuestJsonShape
{
    /// <summary><c>{root_name: node}</c> (QUEST's <c>format_rubric_tree_to_json</c>).</summary>
    RootName,
    /// <summary><c>{task_description, rubric_tree: node}</c> (QUEST's verifier-compiler examples).</summary>
    TaskAndTree,
}

/// <summary>
/// Import and export of QUEST's JSON rubric trees. Accepted on import:
/// <list type="bullet">
/// <item><c>{task_description, rubric_tree: node}</c> and <c>{task_description, rubric_tree: {root_name: node}}</c>;</item>
/// <item><c>{root_name: node}</c> (formatted tree) and a bare node;</item>
/// <item>nodes with <c>node_name</c> (or <c>id</c>), <c>description</c> (or <c>desc</c>/<c>claim</c>), <c>critical</c> (or
/// <c>critical_type</c> "CRITICAL"/"NON-CRITICAL"), <c>aggregation_strategy</c> (or <c>strategy</c>; empty = parallel),
/// <c>children</c> as a list or as the generator's <c>{ChildName: {…}}</c> map, optional <c>is_leaf</c>; other keys are ignored.</item>
/// </list>
/// QUEST leaves carry no machine check: a leaf without our <c>check</c> extension becomes a <c>judge</c> leaf whose claim is
/// its description, so leaf-outcome scoring always works and answer scoring works with an <c>IChatClient</c> judge.
/// The root is imported as non-critical, as QUEST's evaluator creates it (<c>evaluator.py::initialize</c>).
/// Export writes <c>node_name</c>, <c>description</c>, <c>critical</c>, <c>critical_type</c>, <c>aggregation_strategy</c>,
/// <c>children</c>, <c>is_leaf</c> (leaves) and, unless disabled, <c>check</c> (ignored by QUEST; keeps round trips lossless).
/// </summary>
public static class QuestJson
{
    /// <summary>Parses QUEST JSON text.</summary>
    public static RubricTree Parse(string json, CheckRegistry? checks = null, string? source = null)
    {
        var doc = DocReader.ParseJson(json, source) ?? throw new QuestInputException(source, null, null, "empty tree: the file holds no JSON", "a QUEST rubric tree object");
        if (doc is not DMap m) throw doc.Error($"the top level is a {doc.Kind}", "an object ({root_name: node} or {task_description, rubric_tree})");
        if (!LooksLikeQuest(m))
        {
            if (m.Has("root")) return RubricYaml.FromDoc(m, checks, source); // our YAML schema written as JSON
            throw m.Error("not a QUEST rubric tree", "{task_description, rubric_tree: node} or {root_name: {node_name, description, …}}");
        }
        return FromDoc(m, checks, source);
    }

    internal static bool LooksLikeQuest(DMap m)
    {
        if (m.Has("rubric_tree") || m.Has("node_name")) return true;
        if (m.Entries.Count != 1 || m.Entries[0].Value is not DMap inner) return false;
        if (inner.Has("node_name")) return true; // {root_name: node}, whatever the root's name
        // Generator output {Name: {description, critical, children: {…}}}; our schema's {root: {id, …}} is not QUEST.
        return m.Entries[0].Key.Value is not ("root" or "id") && !inner.Has("id") &&
               (inner.Has("description") || inner.Has("children") || inner.Has("critical"));
    }

    internal static RubricTree FromDoc(DMap top, CheckRegistry? checks, string? source)
    {
        string? task = null;
        DMap nodeMap; string? wrapperName = null;
        if (top.Has("rubric_tree"))
        {
            task = DocReader.Text(top, "task_description", false, "a text");
            var rt = top.Get("rubric_tree")!;
            if (rt is DScalar { IsNull: true } || rt is DMap { Entries.Count: 0 }) throw rt.Error("empty tree: 'rubric_tree' is empty", "a node");
            nodeMap = rt as DMap ?? throw rt.Error($"'rubric_tree' is a {rt.Kind}", "a node object");
            if (!nodeMap.Has("node_name") && !nodeMap.Has("description") && nodeMap.Entries.Count == 1 && nodeMap.Entries[0].Value is DMap w)
            { wrapperName = nodeMap.Entries[0].Key.Value; nodeMap = w; }
        }
        else if (top.Has("node_name")) nodeMap = top;
        else
        {
            if (top.Entries.Count == 0) throw top.Error("empty tree", "{root_name: node}");
            if (top.Entries.Count > 1) throw top.Entries[1].Key.Error("more than one root", "a single {root_name: node} entry");
            wrapperName = top.Entries[0].Key.Value;
            nodeMap = top.Entries[0].Value as DMap ?? throw top.Entries[0].Value.Error("the root is not an object", "a node object");
        }
        var ids = new Dictionary<string, SourceLocation>(StringComparer.Ordinal);
        var root = ReadNode(nodeMap, wrapperName, ids, isRoot: true);
        var name = source is null ? root.Id : Path.GetFileNameWithoutExtension(source);
        return RubricTree.Compile(root, task, checks, name, source);
    }

    private static RubricNode ReadNode(DMap m, string? keyName, Dictionary<string, SourceLocation> ids, bool isRoot)
    {
        var nameDoc = m.Get("node_name") ?? m.Get("id");
        if (nameDoc is DScalar { ScalarKind: ScalarKind.Number or ScalarKind.Bool } badName)
            throw badName.Error($"node_name is a {badName.Kind} ({badName.Value})", "a string, e.g. \"node_name\": \"" + badName.Value + "\"");
        if (nameDoc is not null and not DScalar) throw nameDoc.Error($"node_name is a {nameDoc.Kind}", "a string");
        var id = nameDoc is DScalar { IsNull: false } ns ? ns.Value! : keyName
            ?? throw m.Error("missing required field 'node_name'", "'node_name' on every node (or the node keyed by its name)");
        var idLoc = nameDoc?.Loc ?? m.Loc;
        if (string.IsNullOrWhiteSpace(id)) throw (nameDoc ?? m).Error("empty node_name", "a non-empty unique name");
        if (ids.TryGetValue(id, out var first))
            throw (nameDoc ?? m).Error($"duplicate node_name '{id}' (first used at line {first.Line})", "node names unique within the tree");
        ids[id] = idLoc;
        string? desc = null;
        foreach (var k in new[] { "description", "desc", "claim" })
            if (m.Get(k) is not null) { desc = DocReader.Text(m, k, false, "a text"); break; }
        if (desc is null) throw m.Error($"missing required field 'description' on node '{id}'", "'description': what the node verifies");
        var ct = DocReader.Text(m, "critical_type", false, "CRITICAL or NON-CRITICAL");
        bool? typed = ct?.Trim().ToUpperInvariant() switch
        {
            null => null,
            "CRITICAL" => true,
            "NON-CRITICAL" or "NON_CRITICAL" or "NONCRITICAL" => false,
            _ => throw m.Get("critical_type")!.Error($"unknown critical_type '{ct}'", "CRITICAL or NON-CRITICAL"),
        };
        var flag = DocReader.Bool(m, "critical");
        if (flag is bool f && typed is bool t && f != t)
            throw m.Get("critical")!.Error($"node '{id}' says critical: {(f ? "true" : "false")} but critical_type: \"{ct}\"", "critical and critical_type that agree (or only one of them)");
        bool critical = flag ?? typed ?? false;
        if (isRoot) critical = false;
        var stratKey = m.Has("aggregation_strategy") ? "aggregation_strategy" : "strategy";
        var strategy = RubricYaml.ParseStrategy(DocReader.Text(m, stratKey, false, "parallel or sequential"), m.Get(stratKey));
        var children = new List<RubricNode>();
        switch (m.Get("children"))
        {
            case null: break;
            case DScalar { IsNull: true } nul:
                throw nul.Error($"'children' of '{id}' is null", "a list (or map) of nodes; leave the key out on a leaf");
            case DSeq seq:
                foreach (var item in seq.Items)
                    children.Add(ReadNode(item as DMap ?? throw item.Error($"a child of '{id}' is a {item.Kind}", "a node object"), null, ids, false));
                break;
            case DMap named:
                foreach (var (k, v) in named.Entries)
                    children.Add(ReadNode(v as DMap ?? throw v.Error($"child '{k.Value}' of '{id}' is a {v.Kind}", "a node object"), k.Value, ids, false));
                break;
            case var other: throw other.Error($"'children' of '{id}' is a {other.Kind}", "a list (or map) of nodes");
        }
        if (DocReader.Bool(m, "is_leaf") == true && children.Count > 0)
            throw m.Get("is_leaf")!.Error($"node '{id}' says is_leaf but has {children.Count} children", "is_leaf only on nodes without children");
        CheckSpec? check = null;
        if (children.Count == 0)
            check = m.Get("check") is { } cd && cd is not DScalar { IsNull: true } ? RubricYaml.ReadCheck(cd, id) : new CheckSpec("judge") { Location = m.Loc };
        return new RubricNode { Id = id, Description = desc, Critical = critical, Strategy = strategy, Children = children, Check = check, Location = idLoc };
    }

    /// <summary>Writes a tree as QUEST JSON.</summary>
    /// <param name="tree">The tree.</param>
    /// <param name="shape">Wrapper shape.</param>
    /// <param name="includeChecks">Write each leaf's check as an extra <c>check</c> field.</param>
    public static string Write(RubricTree tree, QuestJsonShape shape = QuestJsonShape.TaskAndTree, bool includeChecks = true)
    {
        using var ms = new MemoryStream();
        using (var w = new Utf8JsonWriter(ms, new JsonWriterOptions { Indented = true, Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            w.WriteStartObject();
            if (shape == QuestJsonShape.TaskAndTree)
            {
                w.WriteString("task_description", tree.Task ?? "");
                w.WritePropertyName("rubric_tree");
                WriteNode(w, tree.Root, includeChecks);
            }
            else
            {
                w.WritePropertyName(tree.Root.Id);
                WriteNode(w, tree.Root, includeChecks);
            }
            w.WriteEndObject();
        }
        return Encoding.UTF8.GetString(ms.ToArray()) + "\n";
    }

    private static void WriteNode(Utf8JsonWriter w, RubricNode n, bool includeChecks)
    {
        w.WriteStartObject();
        w.WriteString("node_name", n.Id);
        w.WriteString("description", n.Description);
        w.WriteBoolean("critical", n.Critical);
        w.WriteString("critical_type", n.Critical ? "CRITICAL" : "NON-CRITICAL");
        w.WriteString("aggregation_strategy", n.IsLeaf ? "" : n.Strategy == RubricStrategy.Sequential ? "sequential" : "parallel");
        w.WritePropertyName("children");
        w.WriteStartArray();
        foreach (var c in n.Children) WriteNode(w, c, includeChecks);
        w.WriteEndArray();
        if (n.IsLeaf)
        {
            w.WriteBoolean("is_leaf", true);
            if (includeChecks && n.Check is not null)
            {
                w.WritePropertyName("check");
                w.WriteStartObject();
                w.WriteString("type", n.Check.Type);
                foreach (var (k, v) in n.Check.Args) { w.WritePropertyName(k); WriteValue(w, v); }
                w.WriteEndObject();
            }
        }
        w.WriteEndObject();
    }

    private static void WriteValue(Utf8JsonWriter w, object? v)
    {
        switch (v)
        {
            case null: w.WriteNullValue(); break;
            case string s: w.WriteStringValue(s); break;
            case bool b: w.WriteBooleanValue(b); break;
            case IConvertible cv when v is not string: w.WriteNumberValue(cv.ToDouble(CultureInfo.InvariantCulture)); break;
            case IDictionary d:
                w.WriteStartObject();
                foreach (DictionaryEntry e in d) { w.WritePropertyName(e.Key.ToString()!); WriteValue(w, e.Value); }
                w.WriteEndObject();
                break;
            case IEnumerable e:
                w.WriteStartArray();
                foreach (var x in e) WriteValue(w, x);
                w.WriteEndArray();
                break;
            default: w.WriteStringValue(v.ToString()); break;
        }
    }
}
