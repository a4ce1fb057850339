using CsCheck;
using Quest.Rubrics;
using Xunit;
using static Quest.Rubrics.Tests.TestTrees;

namespace Quest.Rubrics.Tests;

/// <summary>Aggregation laws on random trees (CsCheck). Trees: depth ≤ 4, 1–4 children, random critical/sequential
/// flags (a critical parent forces critical children), random leaf outcomes.</summary>
public class PropertyTests
{
    /// <summary>A generated tree shape; leaves carry their outcome.</summary>
    public sealed record Shape(bool Critical, bool Sequential, Shape[] Children, bool Pass)
    {
        public override string ToString() => Children.Length == 0
            ? $"{(Critical ? "!" : "")}{(Pass ? "T" : "F")}"
            : $"{(Critical ? "!" : "")}{(Sequential ? "S" : "P")}({string.Join(",", Children.Select(c => c.ToString()))})";
    }

    private static readonly Gen<Shape> GenShape = Gen.Recursive<Shape>((depth, self) =>
    {
        var leaf = Gen.Select(Gen.Bool, Gen.Bool, (c, p) => new Shape(c, false, [], p));
        if (depth >= 3) return leaf;
        var inner = Gen.Select(Gen.Bool, Gen.Bool, self.Array[1, 4], (c, s, kids) => new Shape(c, s, kids, false));
        return Gen.Frequency((1, leaf), (2, inner));
    });

    // The root is an inner node (a bare leaf root is valid but uninteresting).
    private static readonly Gen<Shape> GenTree = Gen.Select(Gen.Bool, GenShape.Array[1, 4], (s, kids) => new Shape(false, s, kids, false));

    private static (RubricTree Tree, Dictionary<string, bool> Outcomes) Build(Shape root)
    {
        var outcomes = new Dictionary<string, bool>();
        int n = 0;
        RubricNode Make(Shape s, bool forceCritical)
        {
            var id = $"n{n++}";
            bool crit = s.Critical || forceCritical;
            if (s.Children.Length == 0) { outcomes[id] = s.Pass; return L(id, crit); }
            var kids = s.Children.Select(c => Make(c, crit)).ToArray();
            return s.Sequential ? S(id, crit, kids) : P(id, crit, kids);
        }
        var node = Make(root, false);
        return (Compile(node), outcomes);
    }

    private static void CheckInvariants(RubricReport r)
    {
        foreach (var n in r.Nodes.Values)
        {
            Assert.InRange(n.Score, 0, 1);
            switch (n.Status)
            {
                case NodeStatus.Passed: Assert.Equal(1, n.Score); break;
                case NodeStatus.Partial: Assert.True(n.Score > 0 && n.Score < 1); break;
                case NodeStatus.Failed or NodeStatus.Skipped: Assert.Equal(0, n.Score); break;
                default: Assert.Fail($"status {n.Status} in a finished report"); break;
            }
            if (n.Children.Count == 0) { Assert.True(n.Score is 0 or 1); continue; }
            // Gate law: a critical child below 1 zeroes its parent.
            if (n.Children.Any(c => c.Node.Critical && c.Score < 1)) Assert.Equal(0, n.Score);
            // Sequential law: after the first child below 1, every child is skipped with 0.
            if (n.Node.Strategy == RubricStrategy.Sequential)
            {
                int first = n.Children.ToList().FindIndex(c => c.Score < 1);
                if (first >= 0)
                    foreach (var c in n.Children.Skip(first + 1)) { Assert.Equal(NodeStatus.Skipped, c.Status); Assert.Equal(0, c.Score); }
            }
            // Critical nodes are binary.
            if (n.Node.Critical) Assert.True(n.Score is 0 or 1);
        }
    }

    [Fact]
    public void Scores_lie_in_unit_interval_and_statuses_match_scores()
    {
        GenTree.Sample(shape =>
        {
            var (tree, outcomes) = Build(shape);
            CheckInvariants(tree.ScoreOutcomes(outcomes));
        }, iter: 400);
    }

    [Fact]
    public void All_leaves_pass_scores_one()
    {
        GenTree.Sample(shape =>
        {
            var (tree, outcomes) = Build(shape);
            var r = tree.ScoreOutcomes(outcomes.Keys.ToDictionary(k => k, _ => true));
            Assert.Equal(1, r.Score);
            Assert.All(r.Nodes.Values, n => Assert.Equal(NodeStatus.Passed, n.Status));
        }, iter: 300);
    }

    [Fact]
    public void Flipping_a_critical_leaf_to_fail_closes_its_gates()
    {
        // From an all-pass tree, fail one critical leaf L. Then its parent scores 0, and so does every ancestor reached
        // while climbing through critical nodes (each critical node below 1 zeroes its parent); the root drops below 1.
        GenTree.Sample(shape =>
        {
            var (tree, outcomes) = Build(shape);
            foreach (var leaf in tree.Leaves.Where(l => l.Critical))
            {
                var o = outcomes.Keys.ToDictionary(k => k, k => k != leaf.Id);
                var r = tree.ScoreOutcomes(o);
                Assert.Equal(NodeStatus.Failed, r[leaf.Id].Status);
                var cur = leaf;
                while (cur.Critical && tree.ParentOf(cur.Id) is { } parent)
                {
                    Assert.Equal(0, r[parent.Id].Score);
                    cur = parent;
                }
                Assert.True(r.Score < 1);
            }
        }, iter: 200);
    }

    [Fact]
    public void Any_failed_leaf_drops_the_root_below_one_and_passing_more_never_lowers_it()
    {
        GenTree.Sample(shape =>
        {
            var (tree, outcomes) = Build(shape);
            var r = tree.ScoreOutcomes(outcomes);
            if (outcomes.Values.Any(v => !v)) Assert.True(r.Score < 1);
            // Monotonicity: turning any failing leaf into a pass never decreases the final score.
            foreach (var id in outcomes.Where(kv => !kv.Value).Select(kv => kv.Key))
            {
                var better = new Dictionary<string, bool>(outcomes) { [id] = true };
                Assert.True(tree.ScoreOutcomes(better).Score >= r.Score - 1e-12);
            }
        }, iter: 200);
    }

    [Fact]
    public void Sequential_skip_law_checks_never_run_after_a_failure_in_a_chain()
    {
        // Scoring through checks: a leaf's check runs iff none of its preconditions failed or was skipped, and the
        // report equals the report from the same outcomes given directly.
        GenTree.Sample(shape =>
        {
            var (tree, outcomes) = Build(shape);
            var calls = new List<string>();
            var viaChecks = tree.ScoreAsync("", TableContext(outcomes.Where(kv => kv.Value).Select(kv => kv.Key), calls)).Result;
            var viaOutcomes = tree.ScoreOutcomes(outcomes);
            Assert.Equal(viaOutcomes.ToJson(), viaChecks.ToJson());
            // Concurrent scoring (dependency-ordered) gives the identical report, skip causes included.
            var concurrent = tree.ScoreAsync("", TableContext(outcomes.Where(kv => kv.Value).Select(kv => kv.Key)) with { MaxConcurrency = 4 }).Result;
            Assert.Equal(viaChecks.ToJson(details: true), concurrent.ToJson(details: true));
            var skipped = viaChecks.Leaves.Where(l => l.SkippedBy is not null).Select(l => l.Id).ToHashSet();
            Assert.Equal(tree.Leaves.Select(l => l.Id).Where(id => !skipped.Contains(id)), calls);
            foreach (var node in tree.Nodes.Where(n => n.Strategy == RubricStrategy.Sequential && !n.IsLeaf))
            {
                var kids = node.Children;
                for (int i = 0; i < kids.Count; i++)
                    if (viaChecks[kids[i].Id].Score < 1)
                        foreach (var later in kids.Skip(i + 1).SelectMany(k => k.DepthFirst()).Where(d => d.IsLeaf))
                            Assert.DoesNotContain(later.Id, calls);
            }
        }, iter: 200);
    }

    [Fact]
    public void With_open_gates_and_no_chains_the_score_is_the_weighted_sum_of_leaves()
    {
        // Parallel-only trees whose critical leaves all pass: final = Σ weight(N) × score(N) over the non-critical nodes N
        // without non-critical children (leaves, or groups of gates), weights being 1/#non-critical siblings per level.
        GenTree.Sample(shape =>
        {
            var (tree, outcomes) = Build(shape);
            if (tree.Nodes.Any(n => n.Strategy == RubricStrategy.Sequential && !n.IsLeaf)) return;
            var o = outcomes.ToDictionary(kv => kv.Key, kv => tree.Find(kv.Key)!.Critical || kv.Value);
            var r = tree.ScoreOutcomes(o);
            var terminals = tree.Nodes.Where(n => !n.Critical && n.Children.All(c => c.Critical) && n != tree.Root || (n == tree.Root && n.Children.All(c => c.Critical)));
            var expected = terminals.Sum(n => tree.WeightOf(n.Id) * r[n.Id].Score);
            Assert.Equal(expected, r.Score, 9);
            Assert.All(tree.Leaves.Where(l => !l.Critical), l => Assert.Equal(o[l.Id] ? 1 : 0, r[l.Id].Score));
        }, iter: 300);
    }
}
