using Quest.Rubrics;
using Xunit;
using static Quest.Rubrics.Tests.TestTrees;

namespace Quest.Rubrics.Tests;

/// <summary>Golden tests: hand-computed scores following QUEST's compute_score and evaluator.verify.</summary>
public class AggregationTests
{
    private static Dictionary<string, bool> O(params (string, bool)[] xs) => xs.ToDictionary(x => x.Item1, x => x.Item2);

    [Fact]
    public void Parallel_mean_of_non_critical_children()
    {
        var t = Compile(P("root", false, L("a"), L("b"), L("c"), L("d")));
        var r = t.ScoreOutcomes(O(("a", true), ("b", false), ("c", true), ("d", true)));
        Assert.Equal(0.75, r.Score, 12);
        Assert.Equal(NodeStatus.Partial, r.Root.Status);
        Assert.Equal(NodeStatus.Failed, r["b"].Status);
    }

    [Fact]
    public void Critical_children_gate_but_never_enter_the_mean()
    {
        var t = Compile(P("root", false, L("gate", critical: true), L("a"), L("b")));
        // gate passes: mean of a, b only (the gate's 1 is not averaged in)
        Assert.Equal(0.5, t.ScoreOutcomes(O(("gate", true), ("a", true), ("b", false))).Score, 12);
        // gate fails: 0, and a/b are skipped without being "checked" (critical sibling failed first)
        var r = t.ScoreOutcomes(O(("gate", false), ("a", true), ("b", true)));
        Assert.Equal(0, r.Score);
        Assert.Equal(NodeStatus.Failed, r.Root.Status);
        Assert.Equal(NodeStatus.Skipped, r["a"].Status);
        Assert.Equal("gate", r["a"].SkippedBy);
    }

    [Fact]
    public void Only_critical_children_passing_scores_one()
    {
        var t = Compile(P("root", false, P("g", true, L("x", true), L("y", true)), L("z", true)));
        var r = t.ScoreOutcomes(O(("x", true), ("y", true), ("z", true)));
        Assert.Equal(1, r.Score);
        Assert.Equal(NodeStatus.Passed, r.Root.Status);
    }

    [Fact]
    public async Task Sequential_short_circuit_forces_later_children_to_skipped()
    {
        // seq(a, b, c): b fails -> c forced to 0/skipped; score = (1 + 0 + 0)/3
        var t = Compile(S("root", false, L("a"), L("b"), L("c")));
        var calls = new List<string>();
        var r = await t.ScoreAsync("", TableContext(["a", "c"], calls), TestContext.Current.CancellationToken);
        Assert.Equal(1.0 / 3, r.Score, 12);
        Assert.Equal(NodeStatus.Partial, r.Root.Status);
        Assert.Equal(NodeStatus.Failed, r["b"].Status);
        Assert.Equal(NodeStatus.Skipped, r["c"].Status);
        Assert.Equal(["a", "b"], calls); // c's check never ran
    }

    [Fact]
    public void Sequential_partial_child_keeps_its_score_and_cuts_the_rest()
    {
        // seq(p(a,b), c): p = 0.5 keeps 0.5; c forced 0. Root = (0.5 + 0)/2 = 0.25
        var t = Compile(S("root", false, P("p", false, L("a"), L("b")), L("c")));
        var r = t.ScoreOutcomes(O(("a", true), ("b", false), ("c", true)));
        Assert.Equal(0.25, r.Score, 12);
        Assert.Equal(0.5, r["p"].Score, 12);
        Assert.Equal(NodeStatus.Skipped, r["c"].Status);
        Assert.True(r["c"].ForcedSkip || r["c"].SkippedBy is not null);
    }

    [Fact]
    public void Status_zero_is_failed_with_a_failed_child_else_skipped()
    {
        // root(parallel): gate (critical) fails; group g's leaves are skipped -> g scores 0 with no failed child -> skipped
        var t = Compile(P("root", false, L("gate", true), P("g", false, L("a"), L("b"))));
        var r = t.ScoreOutcomes(O(("gate", false), ("a", true), ("b", true)));
        Assert.Equal(NodeStatus.Skipped, r["g"].Status);
        Assert.Equal(NodeStatus.Failed, r.Root.Status);
    }

    [Fact]
    public async Task Later_critical_sibling_does_not_gate_earlier_leaves_but_still_zeroes_parent()
    {
        // Build order matters: a is checked before the critical gate, so it is not skipped.
        var t = Compile(P("root", false, L("a"), L("gate", true)));
        var calls = new List<string>();
        var r = await t.ScoreAsync("", TableContext(["a"], calls), TestContext.Current.CancellationToken);
        Assert.Equal(["a", "gate"], calls);
        Assert.Equal(NodeStatus.Passed, r["a"].Status);
        Assert.Equal(0, r.Score);
    }

    [Fact]
    public async Task Precondition_skipping_reaches_across_ancestor_levels()
    {
        // root(seq): first = p(x), second = q(critical? no) with nested leaves; x fails -> every leaf under 'second' skipped.
        var t = Compile(S("root", false, P("first", false, L("x")), P("second", false, P("deep", false, L("y"), L("z")))));
        Assert.Equal(["x"], t.PreconditionsOf("y"));
        Assert.Equal(["x"], t.PreconditionsOf("z")); // y is a parallel sibling: it does not gate z
        var calls = new List<string>();
        var r = await t.ScoreAsync("", TableContext(["y", "z"], calls), TestContext.Current.CancellationToken);
        Assert.Equal(["x"], calls);
        Assert.All(new[] { "y", "z" }, id => Assert.Equal(NodeStatus.Skipped, r[id].Status));
        Assert.Equal(0, r.Score);
    }

    [Fact]
    public void Critical_sibling_of_an_ancestor_gates_nested_leaves()
    {
        // root: [exists (critical leaf), body(parallel): [a, b]]; exists fails -> a and b skipped (sibling of ancestor 'body').
        var t = Compile(P("root", false, L("exists", true), P("body", false, L("a"), L("b"))));
        Assert.Contains("exists", t.PreconditionsOf("b"));
        var r = t.ScoreOutcomes(O(("exists", false), ("a", true), ("b", true)));
        Assert.Equal("exists", r["b"].SkippedBy);
    }

    [Fact]
    public void Hand_computed_mixed_tree()
    {
        // root(parallel)
        //   crit (critical, parallel): c1, c2 (critical leaves)           -> gate
        //   chain (sequential): h1, h2, h3                                  -> h2 fails: (1 + 0 + 0)/3
        //   list (parallel): i1..i4                                         -> 3/4
        // root = mean(chain, list) = (1/3 + 3/4)/2 = 13/24
        var t = Compile(P("root", false,
            P("crit", true, L("c1", true), L("c2", true)),
            S("chain", false, L("h1"), L("h2"), L("h3")),
            P("list", false, L("i1"), L("i2"), L("i3"), L("i4"))));
        var r = t.ScoreOutcomes(O(("c1", true), ("c2", true), ("h1", true), ("h2", false), ("h3", true),
            ("i1", true), ("i2", true), ("i3", false), ("i4", true)));
        Assert.Equal(13.0 / 24, r.Score, 12);
        Assert.Equal(1.0 / 3, r["chain"].Score, 12);
        Assert.Equal(0.75, r["list"].Score, 12);
        Assert.Equal(NodeStatus.Passed, r["crit"].Status);
        // Weights: crit gates (0); chain and list share the root: 1/2 each; i1 = 1/8, h1 = 1/6
        Assert.Equal(0, t.WeightOf("crit"));
        Assert.Equal(0.125, t.WeightOf("i1"), 12);
        Assert.Equal(1.0 / 6, t.WeightOf("h1"), 12);
    }

    [Fact]
    public void Missing_outcomes_count_as_failed()
    {
        var t = Compile(P("root", false, L("a"), L("b")));
        var r = t.ScoreOutcomes(O(("a", true)));
        Assert.Equal(0.5, r.Score, 12);
        Assert.Equal("no outcome given", r["b"].Evidence);
    }

    [Fact]
    public void Static_aggregate_matches_quest_rules()
    {
        Assert.Equal(0, RubricTree.Aggregate(RubricStrategy.Parallel, [(1, false), (0.5, true)]).Score);
        Assert.Equal(1, RubricTree.Aggregate(RubricStrategy.Parallel, [(1, true)]).Score);
        var (s, kids) = RubricTree.Aggregate(RubricStrategy.Sequential, [(1, false), (0.5, false), (1, false)]);
        Assert.Equal(0.5, s, 12);
        Assert.Equal([1, 0.5, 0], kids);
    }

    [Fact]
    public void Cross_check_json_has_the_exact_shape()
    {
        var t = Compile(S("root", false, L("a"), L("b")));
        var json = t.ScoreOutcomes(O(("a", true), ("b", false))).ToJson();
        using var doc = System.Text.Json.JsonDocument.Parse(json);
        var top = doc.RootElement.EnumerateObject().Select(p => p.Name).ToArray();
        Assert.Equal(["score", "nodes"], top);
        Assert.Equal(0.5, doc.RootElement.GetProperty("score").GetDouble());
        var b = doc.RootElement.GetProperty("nodes").GetProperty("b");
        Assert.Equal(["score", "status"], b.EnumerateObject().Select(p => p.Name).ToArray());
        Assert.Equal("failed", b.GetProperty("status").GetString());
        Assert.Equal(["root", "a", "b"], doc.RootElement.GetProperty("nodes").EnumerateObject().Select(p => p.Name).ToArray());
    }
}
