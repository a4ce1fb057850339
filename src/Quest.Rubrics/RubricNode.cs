namespace Quest.Rubrics;

/// <summary>How a node combines its children (QUEST's <c>aggregation_strategy</c>).</summary>
public enum RubricStrategy
{
    /// <summary>Children are independent: gate on the critical ones, average the others.</summary>
    Parallel,
    /// <summary>Children form a chain: every child after the first one scoring below 1 is forced to 0 and marked skipped.</summary>
    Sequential,
}

/// <summary>Status of a node after scoring, as in QUEST's <c>VerificationNode</c>.</summary>
public enum NodeStatus
{
    /// <summary>Not evaluated yet (never appears in a finished report).</summary>
    Initialized,
    /// <summary>Score 1.</summary>
    Passed,
    /// <summary>Score strictly between 0 and 1.</summary>
    Partial,
    /// <summary>Score 0 and (for inner nodes) some child failed.</summary>
    Failed,
    /// <summary>Score 0 without a failure of its own: a precondition failed, or a sequential chain stopped before it.</summary>
    Skipped,
}

/// <summary>Where a node or value was written: file, 1-based line and column.</summary>
public sealed record SourceLocation(string? File, long Line, long Column)
{
    /// <inheritdoc />
    public override string ToString() => $"{File ?? "<input>"}:{Line}:{Column}";
}

/// <summary>
/// One node of a rubric tree. Inner nodes have <see cref="Children"/>; leaves have a <see cref="Check"/> and score 0 or 1.
/// </summary>
/// <remarks>
/// Semantics are those of QUEST's verification tree: a <see cref="Critical"/> child only gates its parent (any critical
/// child below 1 zeroes the parent), the non-critical children are averaged, and a critical node may only have critical
/// children. Build nodes with <see cref="Leaf"/> and <c>Group</c>, or load them from YAML / QUEST JSON through
/// <see cref="RubricTree"/>.
/// </remarks>
public sealed class RubricNode
{
    /// <summary>Unique id within the tree (QUEST's <c>node_name</c>).</summary>
    public required string Id { get; init; }
    /// <summary>What the node verifies, in words (QUEST's <c>description</c>; the judge's claim by default).</summary>
    public string Description { get; init; } = "";
    /// <summary>A critical node gates its parent: below 1 it zeroes the parent; it never enters the parent's mean.</summary>
    public bool Critical { get; init; }
    /// <summary>Parallel (default) or sequential aggregation of the children.</summary>
    public RubricStrategy Strategy { get; init; } = RubricStrategy.Parallel;
    /// <summary>Children in evaluation order; empty for a leaf.</summary>
    public IReadOnlyList<RubricNode> Children { get; init; } = [];
    /// <summary>The leaf's check (null on inner nodes).</summary>
    public CheckSpec? Check { get; init; }
    /// <summary>Where the node was written, when loaded from a file.</summary>
    public SourceLocation? Location { get; init; }

    /// <summary>True when the node has no children.</summary>
    public bool IsLeaf => Children.Count == 0;

    /// <summary>Creates a leaf.</summary>
    /// <param name="id">Unique id.</param>
    /// <param name="description">What it checks.</param>
    /// <param name="check">The check, e.g. <c>CheckSpec.Exact("Paris")</c>.</param>
    /// <param name="critical">Whether it gates its parent.</param>
    public static RubricNode Leaf(string id, string description, CheckSpec check, bool critical = false) =>
        new() { Id = id, Description = description, Check = check, Critical = critical };

    /// <summary>Creates an inner node.</summary>
    /// <param name="id">Unique id.</param>
    /// <param name="description">What the group verifies.</param>
    /// <param name="strategy">Parallel or sequential.</param>
    /// <param name="critical">Whether it gates its parent (all children must then be critical).</param>
    /// <param name="children">Children in evaluation order.</param>
    public static RubricNode Group(string id, string description, RubricStrategy strategy, bool critical, params RubricNode[] children) =>
        new() { Id = id, Description = description, Strategy = strategy, Critical = critical, Children = children };

    /// <summary>Creates a non-critical parallel inner node.</summary>
    public static RubricNode Group(string id, string description, params RubricNode[] children) =>
        Group(id, description, RubricStrategy.Parallel, false, children);

    /// <summary>All nodes below and including this one, depth first (the evaluation order).</summary>
    public IEnumerable<RubricNode> DepthFirst()
    {
        yield return this;
        foreach (var c in Children)
            foreach (var d in c.DepthFirst())
                yield return d;
    }

    /// <inheritdoc />
    public override string ToString() => $"{Id}{(Critical ? " [critical]" : "")}{(Strategy == RubricStrategy.Sequential ? " [sequential]" : "")}";
}
