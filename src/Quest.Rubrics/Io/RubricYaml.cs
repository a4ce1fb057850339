using System.Collections;
using System.Globalization;
using Quest.Core;
using YamlDotNet.Core;
using YamlDotNet.Core.Events;
using YamlDotNet.RepresentationModel;

namespace Quest.Rubrics;

/// <summary>
/// The YAML authoring format for rubric trees.
/// <code>
/// name: capital-chain                # optional display name (default: file name)
/// task: "Which river flows …?"       # optional task description; judge prompts include it
/// root:                              # the root node (required)
///   id: root                         # every node: a unique id (required)
///   description: The answer is right # every node: what it verifies (required)
///   strategy: sequential             # parallel (default) | sequential
///   critical: false                  # default false; a critical node gates its parent, never enters its mean
///   children:                        # inner nodes: a non-empty list of nodes …
///     - id: final
///       description: Names Paris
///       critical: true
///       check: {type: exact, expected: Paris, aliases: [Paris France]}   # … leaves: exactly one check
/// </code>
/// Check types and their arguments:
/// <list type="bullet">
/// <item><c>exact</c>: <c>expected</c>, <c>aliases</c> (list), <c>match</c> (whole | anywhere). Case, punctuation,
/// whitespace, articles and diacritics are ignored.</item>
/// <item><c>number</c>: <c>expected</c> (number or text such as "3.5 million km"), <c>unit</c>, <c>abs</c>, <c>rel</c>.</item>
/// <item><c>contains</c>: <c>expected</c> (text or list), <c>mode</c> (all | any), <c>case_sensitive</c>.
/// <c>regex</c>: <c>pattern</c>, <c>ignore_case</c>.</item>
/// <item><c>list</c>: <c>items</c> (each a text or a list of aliases), <c>min</c> or <c>min_fraction</c> (default: all).</item>
/// <item><c>cites</c>: <c>evidence</c>, <c>threshold</c> (token overlap, default 0.7), <c>source</c> (URL filter).</item>
/// <item><c>judge</c>: <c>claim</c> (default: the description), <c>sources</c> (URLs), <c>sources_from_answer</c>, <c>instructions</c>.</item>
/// <item>any name registered in a <see cref="CheckRegistry"/> (custom C# checks), with free arguments.</item>
/// </list>
/// A check without arguments may be written as its type alone: <c>check: judge</c>.
/// A file whose top level holds <c>rubric_tree</c>, <c>node_name</c> fields or a single <c>{root_name: node}</c> entry is
/// read as QUEST's JSON format instead (YAML is a superset of JSON).
/// </summary>
public static class RubricYaml
{
    private static readonly string[] TopKeys = ["name", "task", "root"];
    private static readonly string[] NodeKeys = ["id", "description", "critical", "strategy", "children", "check"];

    /// <summary>The schema summary written at the top of exported YAML.</summary>
    public const string SchemaHeader =
        """
        # Quest rubric tree (YAML). Schema:
        #   name: <display name>            task: <task description, used by judge prompts>
        #   root: <node>
        #   node: id (unique, required), description (required), critical (bool, default false),
        #         strategy (parallel | sequential, default parallel), and either children: [<node>, ...] or check: {type: ..., ...}
        #   check types: exact {expected, aliases, match: whole|anywhere} | number {expected, unit, abs, rel}
        #         | contains {expected, mode: all|any} | regex {pattern, ignore_case, negate} | list {items, min | min_fraction}
        #         | cites {evidence, threshold, source} | judge {claim, sources, sources_from_answer, instructions} | <custom>
        # Scoring (QUEST): sequential parents zero every child after the first one below 1; a critical child below 1 zeroes
        # its parent; otherwise the parent scores the mean of its non-critical children.

        """;

    /// <summary>Parses YAML text into a compiled tree. Errors throw <see cref="QuestInputException"/> with line and column.</summary>
    /// <param name="yaml">The text.</param>
    /// <param name="checks">Check registry (default <see cref="CheckRegistry.Default"/>).</param>
    /// <param name="source">File name for messages.</param>
    public static RubricTree Parse(string yaml, CheckRegistry? checks = null, string? source = null)
    {
        var doc = DocReader.ParseYaml(yaml, source) ?? throw new QuestInputException(source, null, null, "empty tree: the file holds no YAML", "a map with 'root:'");
        return FromDoc(doc, checks, source);
    }

    internal static RubricTree FromDoc(Doc doc, CheckRegistry? checks, string? source)
    {
        if (doc is DScalar { IsNull: true }) throw doc.Error("empty tree", "a map with 'root:'");
        if (doc is not DMap top) throw doc.Error($"the top level is a {doc.Kind}", "a map with 'root:' (and optional 'name:', 'task:')");
        if (QuestJson.LooksLikeQuest(top)) return QuestJson.FromDoc(top, checks, source);
        DMap rootMap;
        string? name = null, task = null;
        if (top.Has("root"))
        {
            foreach (var (k, _) in top.Entries)
                if (!TopKeys.Contains(k.Value)) throw k.Error($"unknown top-level key '{k.Value}'", "name, task, root");
            name = DocReader.Text(top, "name", false, "a text");
            task = DocReader.Text(top, "task", false, "a text");
            var r = top.Get("root")!;
            if (r is DScalar { IsNull: true }) throw r.Error("empty tree: 'root' is empty", "a node with id, description and children or check");
            rootMap = r as DMap ?? throw r.Error($"'root' is a {r.Kind}", "a node map");
        }
        else if (top.Has("id")) rootMap = top;
        else throw top.Error("no 'root:' in the tree file", "a map with 'root:' holding the root node");
        var ids = new Dictionary<string, SourceLocation>(StringComparer.Ordinal);
        var root = ReadNode(rootMap, ids);
        name ??= source is null ? root.Id : Path.GetFileNameWithoutExtension(source);
        return RubricTree.Compile(root, task, checks, name, source);
    }

    private static RubricNode ReadNode(DMap m, Dictionary<string, SourceLocation> ids)
    {
        foreach (var (k, _) in m.Entries)
            if (!NodeKeys.Contains(k.Value))
                throw k.Error($"unknown node key '{k.Value}'" + (k.Value is "node_name" or "aggregation_strategy" ? " (QUEST JSON field in a YAML-schema node)" : ""),
                    string.Join(", ", NodeKeys));
        var id = DocReader.Text(m, "id", true, "'id: <unique text>'")!;
        if (string.IsNullOrWhiteSpace(id)) throw m.Get("id")!.Error("empty id", "a non-empty unique id");
        if (ids.TryGetValue(id, out var first))
            throw m.Get("id")!.Error($"duplicate id '{id}' (first used at line {first.Line})", "ids unique within the tree");
        ids[id] = m.Get("id")!.Loc;
        var description = DocReader.Text(m, "description", true, $"'description: <text>' on node '{id}'")!;
        var critical = DocReader.Bool(m, "critical") ?? false;
        var strategyText = DocReader.Text(m, "strategy", false, "parallel or sequential");
        var strategy = ParseStrategy(strategyText, m.Get("strategy"));
        var childrenDoc = m.Get("children");
        var checkDoc = m.Get("check");
        if (childrenDoc is not null && checkDoc is not null && childrenDoc is not DScalar { IsNull: true })
            throw checkDoc.Error($"node '{id}' has both children and a check", "children on inner nodes, a check on leaves");
        var children = new List<RubricNode>();
        if (childrenDoc is DSeq seq)
        {
            if (seq.Items.Count == 0 && checkDoc is null) throw seq.Error($"node '{id}' has an empty children list", "at least one child, or a check");
            foreach (var c in seq.Items)
                children.Add(ReadNode(c as DMap ?? throw c.Error($"a child of '{id}' is a {c.Kind}", "a node map"), ids));
        }
        else if (childrenDoc is not null and not DScalar { IsNull: true }) throw childrenDoc.Error($"'children' of '{id}' is a {childrenDoc.Kind}", "a list of nodes");
        CheckSpec? check = null;
        if (checkDoc is not null) check = ReadCheck(checkDoc, id);
        if (children.Count == 0 && check is null) throw m.Error($"node '{id}' has neither children nor a check", "'children: [...]' or 'check: {type: …}'");
        return new RubricNode { Id = id, Description = description, Critical = critical, Strategy = strategy, Children = children, Check = check, Location = m.Loc };
    }

    internal static RubricStrategy ParseStrategy(string? text, Doc? at) => text?.Trim().ToLowerInvariant() switch
    {
        null or "" or "parallel" => RubricStrategy.Parallel,
        "sequential" => RubricStrategy.Sequential,
        _ => throw (at ?? new DScalar()).Error($"unknown strategy '{text}'", "parallel or sequential"),
    };

    internal static CheckSpec ReadCheck(Doc d, string nodeId)
    {
        if (d is DScalar { IsNull: false } s) return new CheckSpec(s.Value!) { Location = s.Loc, KeyLocations = new Dictionary<string, SourceLocation> { ["type"] = s.Loc } };
        if (d is not DMap m) throw d.Error($"'check' of '{nodeId}' is a {d.Kind}", "a map such as {type: exact, expected: …}");
        var type = DocReader.Text(m, "type", true, $"'type:' in the check of '{nodeId}' (exact, number, contains, regex, list, cites, judge or a registered name)")!;
        var args = m.Entries.Where(e => e.Key.Value != "type").Select(e => new KeyValuePair<string, object?>(e.Key.Value!, DocReader.ToPlain(e.Value)));
        return new CheckSpec(type, args)
        {
            Location = m.Loc,
            KeyLocations = m.Entries.ToDictionary(e => e.Key.Value!, e => e.Value.Loc, StringComparer.Ordinal),
        };
    }

    /// <summary>Writes a tree as YAML in this schema (with <see cref="SchemaHeader"/>). Parsing it back yields the same tree.</summary>
    public static string Write(RubricTree tree)
    {
        var top = new YamlMappingNode();
        top.Add("name", Scalar(tree.Name));
        if (tree.Task is not null) top.Add("task", Scalar(tree.Task));
        top.Add("root", NodeToYaml(tree.Root));
        var sw = new StringWriter(CultureInfo.InvariantCulture);
        sw.Write(SchemaHeader);
        new YamlStream(new YamlDocument(top)).Save(sw, assignAnchors: false);
        var text = sw.ToString();
        // YamlDotNet ends documents with "...": drop it for a clean file.
        if (text.TrimEnd().EndsWith("...", StringComparison.Ordinal)) text = text.TrimEnd()[..^3].TrimEnd() + "\n";
        return text;
    }

    private static YamlMappingNode NodeToYaml(RubricNode n)
    {
        var m = new YamlMappingNode { { "id", Scalar(n.Id) }, { "description", Scalar(n.Description) } };
        if (n.Critical) m.Add("critical", new YamlScalarNode("true"));
        if (n.Strategy == RubricStrategy.Sequential) m.Add("strategy", new YamlScalarNode("sequential"));
        if (n.Check is not null)
        {
            var c = new YamlMappingNode { { "type", Scalar(n.Check.Type) } };
            c.Style = MappingStyle.Flow;
            foreach (var (k, v) in n.Check.Args) c.Add(k, ValueToYaml(v, flow: true));
            m.Add("check", c);
        }
        if (n.Children.Count > 0)
        {
            var seq = new YamlSequenceNode();
            foreach (var ch in n.Children) seq.Add(NodeToYaml(ch));
            m.Add("children", seq);
        }
        return m;
    }

    private static YamlScalarNode Scalar(string s)
    {
        var node = new YamlScalarNode(s);
        // Quote texts that would read back as booleans or null, or that need escaping. (Numbers may stay plain: the reader
        // keeps plain scalars as text and the check arguments convert on use.)
        if (s.Length == 0 || s.ToLowerInvariant() is "true" or "false" or "null" or "~" || s.Contains('\n') || s.Contains(": ") || s.Contains(" #") ||
            "-?:,[]{}#&*!|>'\"%@`".Contains(s[0]) || s != s.Trim())
            node.Style = ScalarStyle.DoubleQuoted;
        return node;
    }

    private static YamlNode ValueToYaml(object? v, bool flow) => v switch
    {
        null => new YamlScalarNode("null"),
        string s => Scalar(s),
        bool b => new YamlScalarNode(b ? "true" : "false"),
        IFormattable f => new YamlScalarNode(f.ToString(null, CultureInfo.InvariantCulture)),
        IDictionary d => MapToYaml(d),
        IEnumerable e => new YamlSequenceNode(e.Cast<object?>().Select(x => ValueToYaml(x, flow))) { Style = SequenceStyle.Flow },
        _ => Scalar(v.ToString() ?? ""),
    };

    private static YamlMappingNode MapToYaml(IDictionary d)
    {
        var m = new YamlMappingNode { Style = MappingStyle.Flow };
        foreach (DictionaryEntry e in d) m.Add(e.Key.ToString()!, ValueToYaml(e.Value, true));
        return m;
    }
}
