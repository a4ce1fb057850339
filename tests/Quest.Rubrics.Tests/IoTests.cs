using Quest.Core;
using Quest.Rubrics;
using Xunit;

namespace Quest.Rubrics.Tests;

public class IoTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Theory]
    [InlineData("multihop_fact.yaml", 8, 5)]
    [InlineData("list_partial_credit.yaml", 13, 11)]
    [InlineData("cited_report.yaml", 9, 6)]
    [InlineData("quest_json_example.json", 9, 6)]
    public void Examples_load(string file, int nodes, int leaves)
    {
        var t = RubricTree.Load(TestTrees.Example(file), new CheckRegistry());
        Assert.Equal(nodes, t.Nodes.Count);
        Assert.Equal(leaves, t.Leaves.Count);
        Assert.False(string.IsNullOrWhiteSpace(t.Task));
    }

    [Fact]
    public async Task Multihop_example_scores_as_documented()
    {
        var t = RubricTree.Load(TestTrees.Example("multihop_fact.yaml"), new CheckRegistry());
        var full = await t.ScoreAsync("Wolfgang Pauli was born in Vienna and taught at ETH Zurich, on the Limmat. Nobel Prize: 1945.", null, Ct);
        Assert.Equal(1, full.Score);
        // Chain broken at hop 2 (no Vienna): hop 3 is skipped although Zurich is named -> chain 1/3; final passes
        var broken = await t.ScoreAsync("Pauli taught in Zurich on the Limmat; Nobel in 1945.", null, Ct);
        Assert.Equal(1.0 / 3, broken.Score, 12);
        Assert.Equal(NodeStatus.Skipped, broken["hop-city"].Status);
        Assert.False(broken["hop-city"].Checked);
        // Wrong final answer gates everything
        var wrong = await t.ScoreAsync("Pauli, Vienna, Zurich, the Rhine, 1945.", null, Ct);
        Assert.Equal(0, wrong.Score);
    }

    [Fact]
    public void Quest_json_leaves_import_as_judge_leaves_and_score_from_outcomes()
    {
        var t = RubricTree.Load(TestTrees.Example("quest_json_example.json"), new CheckRegistry());
        Assert.All(t.Leaves, l => Assert.Equal("judge", l.Check!.Type));
        Assert.Equal(6, t.JudgeLeafCount);
        Assert.Equal(RubricStrategy.Sequential, t.Find("Reasoning_Chain")!.Strategy);
        Assert.True(t.Find("Answer_Provided")!.Critical);
        var r = t.ScoreOutcomes(new Dictionary<string, bool>
        {
            ["Answer_Provided"] = true, ["Wall_Year"] = true, ["Games_Year"] = true, ["Host_City"] = false,
            ["Community_Named"] = true, ["Community_Source"] = false,
        });
        // chain = (1+1+0)/3; institution: gate ok, mean(source)=0 -> 0; root = mean(2/3, 0) = 1/3
        Assert.Equal(1.0 / 3, r.Score, 12);
        Assert.Equal(NodeStatus.Failed, r["Community"].Status);
    }

    [Fact]
    public void Quest_root_name_shape_and_generator_children_map_import()
    {
        var json = """
            {"Root": {"description": "root", "critical": true, "aggregation_strategy": "sequential",
              "children": {"A": {"description": "a", "critical": false},
                           "B": {"description": "b", "critical_type": "CRITICAL", "children": []}}}}
            """;
        var t = RubricTree.FromQuestJson(json, new CheckRegistry());
        Assert.Equal("Root", t.Root.Id);
        Assert.False(t.Root.Critical); // the runtime root is non-critical
        Assert.Equal(["A", "B"], t.Root.Children.Select(c => c.Id));
        Assert.True(t.Find("B")!.Critical);
        Assert.Equal(RubricStrategy.Sequential, t.Root.Strategy);
    }

    [Fact]
    public void Yaml_model_quest_json_round_trip_is_lossless()
    {
        foreach (var file in new[] { "multihop_fact.yaml", "list_partial_credit.yaml", "cited_report.yaml", "quest_json_example.json" })
        {
            var t = RubricTree.Load(TestTrees.Example(file), new CheckRegistry());
            var yaml = t.ToYaml();
            var fromYaml = RubricTree.FromYaml(yaml, new CheckRegistry());
            var json = fromYaml.ToQuestJson();
            var fromJson = RubricTree.FromQuestJson(json, new CheckRegistry());
            var rootShape = RubricTree.FromQuestJson(t.ToQuestJson(QuestJsonShape.RootName), new CheckRegistry());
            foreach (var other in new[] { fromYaml, fromJson, rootShape })
            {
                Assert.Equal(Describe(t), Describe(other));
                Assert.Equal(t.Task, other.Task is "" ? null : other.Task ?? t.Task);
            }
            Assert.Equal(yaml, fromJson.ToYaml().Replace($"name: {fromJson.Name}", $"name: {t.Name}"));
        }

        static string Describe(RubricTree t) => string.Join("\n", t.Nodes.Select(n =>
            $"{n.Id}|{n.Description}|{n.Critical}|{n.Strategy}|{string.Join(",", n.Children.Select(c => c.Id))}|{n.Check}"));
    }

    [Fact]
    public void Exported_quest_json_has_quest_fields()
    {
        var t = RubricTree.Load(TestTrees.Example("multihop_fact.yaml"), new CheckRegistry());
        using var doc = System.Text.Json.JsonDocument.Parse(t.ToQuestJson(QuestJsonShape.RootName, includeChecks: false));
        var root = doc.RootElement.GetProperty("root");
        foreach (var f in new[] { "node_name", "description", "critical", "critical_type", "aggregation_strategy", "children" })
            Assert.True(root.TryGetProperty(f, out _), f);
        var leaf = root.GetProperty("children")[0].GetProperty("children")[0];
        Assert.True(leaf.GetProperty("is_leaf").GetBoolean());
        Assert.Equal("CRITICAL", leaf.GetProperty("critical_type").GetString());
        Assert.False(leaf.TryGetProperty("check", out _));
    }

    // ------------------------------------------------------------ bad input

    private static QuestInputException Bad(string text, bool json = false, CheckRegistry? reg = null)
    {
        var file = json ? "bad.json" : "bad.yaml";
        return Assert.Throws<QuestInputException>(() =>
            json ? RubricTree.FromQuestJson(text, reg ?? new CheckRegistry(), file) : RubricTree.FromYaml(text, reg ?? new CheckRegistry(), file));
    }

    [Fact]
    public void Malformed_yaml_names_line_and_column()
    {
        var e = Bad("root:\n  id: r\n  description: [unclosed\n  check: {type: exact}\n");
        Assert.Equal("bad.yaml", e.FileName);
        Assert.NotNull(e.Line);
        Assert.Contains("malformed YAML", e.Message);
        Assert.StartsWith("bad.yaml:", e.Message);
    }

    [Fact]
    public void Malformed_json_names_line_and_column()
    {
        var e = Bad("{\n  \"rubric_tree\": {\n    \"node_name\": \"x\",\n    \"description\": oops\n  }\n}", json: true);
        Assert.Equal(4, e.Line);
        Assert.Contains("malformed JSON", e.Message);
    }

    [Fact]
    public void Unknown_check_type_is_rejected_with_position_and_choices()
    {
        var e = Bad("root:\n  id: r\n  description: d\n  check: {type: exakt, expected: x}\n");
        Assert.Equal(4, e.Line);
        Assert.Contains("unknown check type 'exakt'", e.Message);
        Assert.Contains("exact", e.Expected);
    }

    [Fact]
    public void Unknown_check_argument_is_rejected()
    {
        var e = Bad("root:\n  id: r\n  description: d\n  check: {type: exact, expeted: x, expected: y}\n");
        Assert.Contains("unknown argument 'expeted'", e.Message);
        Assert.Equal(4, e.Line);
    }

    [Fact]
    public void Duplicate_ids_are_rejected()
    {
        var e = Bad("""
            root:
              id: r
              description: d
              children:
                - {id: a, description: x, check: {type: exact, expected: x}}
                - {id: a, description: y, check: {type: exact, expected: y}}
            """);
        Assert.Contains("duplicate id 'a'", e.Message);
        Assert.Equal(6, e.Line);
        var j = Bad("""{"r": {"node_name": "r", "description": "d", "children": [{"node_name": "r", "description": "x"}]}}""", json: true);
        Assert.Contains("duplicate node_name 'r'", j.Message);
    }

    [Theory]
    [InlineData("")]
    [InlineData("# only a comment\n")]
    [InlineData("root:\n")]
    [InlineData("root:\n  id: r\n  description: d\n  children: []\n")]
    public void Empty_trees_are_rejected(string yaml)
    {
        var e = Bad(yaml);
        Assert.Matches("empty|neither", e.Message);
    }

    [Fact]
    public void Empty_json_tree_is_rejected()
    {
        Assert.Contains("empty", Bad("", json: true).Message);
        Assert.Contains("empty", Bad("{\"task_description\": \"t\", \"rubric_tree\": {}}", json: true).Message);
    }

    [Fact]
    public void Critical_node_with_non_critical_child_is_rejected()
    {
        var e = Bad("""
            root:
              id: r
              description: d
              children:
                - id: gate
                  description: g
                  critical: true
                  children:
                    - {id: soft, description: s, check: {type: exact, expected: x}}
            """);
        Assert.Contains("critical node 'gate' has a non-critical child 'soft'", e.Message);
        Assert.Equal(9, e.Line);
        Assert.Throws<QuestInputException>(() => RubricTree.Compile(
            RubricNode.Group("g", "g", RubricStrategy.Parallel, true, RubricNode.Leaf("s", "s", CheckSpec.Exact("x")))));
    }

    [Theory]
    [InlineData("root:\n  description: d\n  check: {type: exact, expected: x}\n", "missing required field 'id'")]
    [InlineData("root:\n  id: r\n  check: {type: exact, expected: x}\n", "missing required field 'description'")]
    [InlineData("root:\n  id: r\n  description: d\n  check: {expected: x}\n", "missing required field 'type'")]
    [InlineData("root:\n  id: r\n  description: d\n  check: {type: exact}\n", "missing argument 'expected'")]
    [InlineData("root:\n  id: r\n  description: d\n  check: {type: number, expected: many}\n", "holds no number")]
    [InlineData("root:\n  id: r\n  description: d\n  strategy: random\n  check: {type: exact, expected: x}\n", "unknown strategy 'random'")]
    [InlineData("root:\n  id: r\n  description: d\n  critical: maybe\n  check: {type: exact, expected: x}\n", "'critical' is 'maybe'")]
    [InlineData("root:\n  id: r\n  description: d\n  colour: red\n  check: {type: exact, expected: x}\n", "unknown node key 'colour'")]
    [InlineData("root:\n  id: r\n  description: d\n  check: {type: regex, pattern: '(('}\n", "invalid regular expression")]
    [InlineData("root:\n  id: r\n  description: d\n  check: {type: list, items: [a, b], min: 3}\n", "min is 3 with 2 items")]
    [InlineData("- just\n- a list\n", "the top level is a list")]
    public void Missing_or_invalid_fields_are_rejected(string yaml, string message)
    {
        var e = Bad(yaml);
        Assert.Contains(message, e.Message);
        Assert.NotNull(e.Line);
    }

    [Fact]
    public void Quest_json_missing_description_is_rejected()
    {
        var e = Bad("{\"rubric_tree\": {\"node_name\": \"r\", \"description\": \"d\",\n \"children\": [{\"node_name\": \"a\"}]}}", json: true);
        Assert.Contains("missing required field 'description' on node 'a'", e.Message);
        Assert.Equal(2, e.Line);
    }

    [Theory]
    [InlineData("\"critical\": true, \"critical_type\": \"NON-CRITICAL\"", "says critical: true but critical_type")]
    [InlineData("\"critical\": false, \"critical_type\": \"CRITICAL\"", "says critical: false but critical_type")]
    [InlineData("\"node_name\": 7", "node_name is a number")]
    [InlineData("\"children\": null", "'children' of 'a' is null")]
    public void Quest_json_contradictions_and_wrong_types_are_rejected(string field, string message)
    {
        var name = field.StartsWith("\"node_name\"") ? "" : "\"node_name\": \"a\", ";
        var e = Bad("{\"rubric_tree\": {\"node_name\": \"r\", \"description\": \"d\",\n \"children\": [{" + name + "\"description\": \"x\", " + field + "}]}}", json: true);
        Assert.Contains(message, e.Message);
        Assert.Equal(2, e.Line);
        // The agreeing spellings still load.
        RubricTree.FromQuestJson("{\"node_name\": \"r\", \"description\": \"d\", \"children\": [{\"node_name\": \"a\", \"description\": \"x\", \"critical\": true, \"critical_type\": \"CRITICAL\"}]}");
    }

    [Fact]
    public void Rubric_files_read_strict_utf8_and_accept_a_bom()
    {
        var dir = Directory.CreateTempSubdirectory().FullName;
        var f = Path.Combine(dir, "t.json");
        var body = "{\"node_name\": \"r\", \"description\": \"d\", \"children\": [{\"node_name\": \"a\", \"description\": \"x\"}]}";
        File.WriteAllBytes(f, [0xEF, 0xBB, 0xBF, .. System.Text.Encoding.UTF8.GetBytes(body)]);
        Assert.Single(RubricTree.Load(f).Leaves);
        File.WriteAllBytes(f, [.. System.Text.Encoding.UTF8.GetBytes("{\"node_name\": \"r\",\n \"description\": \"d"), 0xFF, .. "\"}"u8.ToArray()]);
        var e = Assert.Throws<QuestInputException>(() => RubricTree.Load(f));
        Assert.Equal(2, e.Line);
        Assert.Contains("invalid UTF-8 at byte offset 37", e.Message);
    }

    [Fact]
    public void Leaf_outcomes_naming_unknown_ids_are_rejected_with_position()
    {
        var t = RubricTree.Load(TestTrees.Example("multihop_fact.yaml"), new CheckRegistry());
        var set = LeafOutcomeSet.Parse("{\n  \"final-river\": true,\n  \"hop-nope\": false\n}", "o.json");
        var e = Assert.Throws<QuestInputException>(() => t.ScoreOutcomes(set));
        Assert.Equal("o.json", e.FileName);
        Assert.Equal(3, e.Line);
        Assert.Equal(3, e.Column);
        Assert.Contains("unknown leaf id 'hop-nope'", e.Message);
        var inner = Assert.Throws<QuestInputException>(() => t.ScoreOutcomes(LeafOutcomeSet.Parse("{\"chain\": true}", "o.json")));
        Assert.Contains("inner node", inner.Message);
        var notBool = Assert.Throws<QuestInputException>(() => LeafOutcomeSet.Parse("{\"final-river\": \"maybe\"}", "o.json"));
        Assert.Contains("true or false", notBool.Message);
        Assert.Throws<QuestInputException>(() => LeafOutcomeSet.Parse("[true]", "o.json"));
        Assert.Throws<QuestInputException>(() => LeafOutcomeSet.Parse("{\"a\": true, \"a\": false}", "o.json"));
    }

    [Fact]
    public void Missing_file_is_a_quest_input_error()
    {
        var e = Assert.Throws<QuestInputException>(() => RubricTree.Load("/nonexistent/tree.yaml"));
        Assert.Contains("file not found", e.Message);
    }
}

public class IoEdgeTests
{
    [Fact]
    public void Yaml_tab_indentation_and_duplicate_keys_point_at_the_offending_line()
    {
        var tab = Assert.Throws<QuestInputException>(() => RubricTree.FromYaml("root:\n\tid: a\n", new CheckRegistry(), "t.yaml"));
        Assert.Equal(2, tab.Line);
        var dup = Assert.Throws<QuestInputException>(() => RubricTree.FromYaml("root:\n  id: a\n  id: b\n  description: d\n  check: judge\n", new CheckRegistry(), "t.yaml"));
        Assert.Equal(3, dup.Line);
        Assert.Contains("Duplicate key", dup.Message);
    }

    [Fact]
    public void Check_type_alone_is_a_check_without_arguments()
    {
        var t = RubricTree.FromYaml("root:\n  id: a\n  description: the claim\n  check: judge\n", new CheckRegistry());
        Assert.Equal("judge", t.Root.Check!.Type);
        Assert.Equal(1, t.JudgeLeafCount);
    }
}

public class HostileYamlTests
{
    [Fact]
    public void An_alias_cycle_is_an_input_error_not_a_stack_overflow()
    {
        var yaml = "root: &a\n  id: r\n  description: loops\n  children: [*a]\n";
        var ex = Assert.Throws<Quest.Core.QuestInputException>(() => RubricYaml.Parse(yaml, source: "cycle.yaml"));
        Assert.Contains("cycle", ex.Message);
        Assert.Contains("cycle.yaml:", ex.Message);
    }

    [Fact]
    public void Nesting_ten_thousand_deep_is_an_input_error_naming_the_line()
    {
        var deep = "root: " + new string('[', 10_000) + new string(']', 10_000) + "\n";
        var ex = Assert.Throws<Quest.Core.QuestInputException>(() => RubricYaml.Parse(deep, source: "deep.yaml"));
        Assert.Contains("nested more than", ex.Message);
        Assert.Contains("deep.yaml:1:", ex.Message);
        // a DAG that reuses a finished node through an alias is fine
        var dag = "root:\n  id: r\n  description: d\n  children:\n    - &leaf {id: a, description: x, check: {type: exact, expected: X}}\n    - {id: b, description: y, check: {type: exact, expected: Y}}\n";
        Assert.Equal(2, RubricYaml.Parse(dag).Root.Children.Count);
    }
}
