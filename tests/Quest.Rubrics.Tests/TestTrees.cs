using Quest.Rubrics;

namespace Quest.Rubrics.Tests;

/// <summary>Helpers: trees whose leaves read their outcome from a table, and the shipped example files.</summary>
internal static class TestTrees
{
    public static string RubricsDir
    {
        get
        {
            var d = new DirectoryInfo(AppContext.BaseDirectory);
            while (d is not null && !Directory.Exists(Path.Combine(d.FullName, "rubrics"))) d = d.Parent;
            return Path.Combine(d?.FullName ?? throw new DirectoryNotFoundException("rubrics/"), "rubrics");
        }
    }

    public static string Example(string name) => Path.Combine(RubricsDir, name);

    /// <summary>A registry with a "table" check: passes when the leaf's id is in the set passed through Items["pass"];
    /// counts every run in Items["calls"].</summary>
    public static CheckRegistry TableRegistry()
    {
        var r = new CheckRegistry();
        r.Register("table", leaf =>
        {
            var calls = (List<string>)leaf.Context.Items["calls"]!;
            calls.Add(leaf.Node.Id);
            var pass = (IReadOnlySet<string>)leaf.Context.Items["pass"]!;
            return pass.Contains(leaf.Node.Id) ? LeafOutcome.Pass("in table") : LeafOutcome.Fail("not in table");
        });
        return r;
    }

    public static RubricContext TableContext(IEnumerable<string> passing, List<string>? calls = null) => new()
    {
        Items = new Dictionary<string, object?> { ["pass"] = passing.ToHashSet(), ["calls"] = calls ?? [] },
    };

    public static RubricNode L(string id, bool critical = false) => RubricNode.Leaf(id, id, CheckSpec.Custom("table"), critical);
    public static RubricNode P(string id, bool critical, params RubricNode[] kids) => RubricNode.Group(id, id, RubricStrategy.Parallel, critical, kids);
    public static RubricNode S(string id, bool critical, params RubricNode[] kids) => RubricNode.Group(id, id, RubricStrategy.Sequential, critical, kids);
    public static RubricTree Compile(RubricNode root) => RubricTree.Compile(root, checks: TableRegistry());
}
