using Quest.Core;

namespace Quest.Rubrics;

/// <summary>
/// A compiled rubric tree: validated once (unique ids, critical invariant, every leaf's check compiled), then used to
/// score any number of answers cheaply. Scoring follows QUEST's verification tree exactly:
/// <list type="number">
/// <item>Leaves are checked in tree order (depth first, QUEST's build order). Before a leaf is checked, every level up
/// to the root is inspected: if a leaf under a critical sibling, or under an earlier sibling of a sequential parent, has
/// already failed or been skipped, the leaf is skipped (score 0) and its check never runs (no judge call).</item>
/// <item>Aggregation (<c>Aggregate</c>): in a sequential node every child after the first child scoring below 1 is
/// forced to 0 and marked skipped; then any critical child below 1 zeroes the node; else the node scores the mean of the
/// non-critical children (1 when there are none). Status: 1 passed, 0 failed when some child failed else skipped, else partial.</item>
/// </list>
/// </summary>
public sealed class RubricTree
{
    private readonly RubricNode[] _nodes;        // depth-first pre-order
    private readonly int[] _parent;
    private readonly int[][] _children;
    private readonly int[] _leafNodes;           // node index of each leaf, in evaluation order
    private readonly int[] _leafPos;             // node index -> leaf position or -1
    private readonly int[][] _preconditions;     // leaf position -> earlier leaf positions that gate it
    private readonly ILeafCheck[] _checks;
    private readonly double[] _weights;
    private readonly Dictionary<string, int> _index;

    /// <summary>Display name of the tree (file name or <c>name:</c>).</summary>
    public string Name { get; }
    /// <summary>The task (question) the tree verifies answers to; judge prompts include it.</summary>
    public string? Task { get; }
    /// <summary>The root node.</summary>
    public RubricNode Root { get; }
    /// <summary>The file it was loaded from, if any.</summary>
    public string? SourceFile { get; }
    /// <summary>The registry its checks were compiled with.</summary>
    public CheckRegistry Checks { get; }
    /// <summary>All nodes, depth first (evaluation order).</summary>
    public IReadOnlyList<RubricNode> Nodes => _nodes;
    /// <summary>The leaves in evaluation order.</summary>
    public IReadOnlyList<RubricNode> Leaves { get; }
    /// <summary>Number of leaves whose check calls the LLM judge.</summary>
    public int JudgeLeafCount { get; }
    /// <summary>Depth of the tree (a single leaf has depth 1).</summary>
    public int Depth { get; }

    private RubricTree(RubricNode root, string name, string? task, string? sourceFile, CheckRegistry checks)
    {
        Root = root; Name = name; Task = task; SourceFile = sourceFile; Checks = checks;
        var nodes = new List<RubricNode>(); var parent = new List<int>(); var depth = new List<int>();
        var index = new Dictionary<string, int>(StringComparer.Ordinal);
        void Walk(RubricNode n, int p, int d)
        {
            if (string.IsNullOrWhiteSpace(n.Id)) throw Err(n.Location, "a node has an empty id", "'id: <unique text>'");
            if (index.TryGetValue(n.Id, out var first))
                throw Err(n.Location, $"duplicate id '{n.Id}' (first used{At(nodes[first].Location)})", "ids unique within the tree");
            if (n.Children.Count > 0 && n.Check is not null)
                throw Err(n.Check.Location ?? n.Location, $"node '{n.Id}' has both children and a check", "a check only on leaves");
            if (n.Children.Count == 0 && n.Check is null)
                throw Err(n.Location, $"node '{n.Id}' has neither children nor a check", "'children: [...]' (non-empty) or 'check: {type: …}'");
            index[n.Id] = nodes.Count; nodes.Add(n); parent.Add(p); depth.Add(d);
            int me = nodes.Count - 1;
            foreach (var c in n.Children)
            {
                if (c is null) throw Err(n.Location, $"node '{n.Id}' has a null child", "a node");
                if (n.Critical && !c.Critical)
                    throw Err(c.Location ?? n.Location, $"critical node '{n.Id}' has a non-critical child '{c.Id}'", "only critical children under a critical node (QUEST invariant)");
                Walk(c, me, d + 1);
            }
        }
        Walk(root, -1, 1);
        _nodes = nodes.ToArray(); _parent = parent.ToArray(); _index = index;
        Depth = depth.Max();
        _children = new int[_nodes.Length][];
        for (int i = 0; i < _nodes.Length; i++) _children[i] = [];
        var kids = Enumerable.Range(0, _nodes.Length).Select(_ => new List<int>()).ToArray();
        for (int i = 1; i < _nodes.Length; i++) kids[_parent[i]].Add(i);
        for (int i = 0; i < _nodes.Length; i++) _children[i] = kids[i].ToArray();

        _leafNodes = Enumerable.Range(0, _nodes.Length).Where(i => _children[i].Length == 0).ToArray();
        _leafPos = Enumerable.Repeat(-1, _nodes.Length).ToArray();
        for (int k = 0; k < _leafNodes.Length; k++) _leafPos[_leafNodes[k]] = k;
        Leaves = _leafNodes.Select(i => _nodes[i]).ToList();
        _checks = _leafNodes.Select(i => checks.Create(_nodes[i])).ToArray();
        JudgeLeafCount = _checks.Count(c => c.NeedsJudge);

        _preconditions = new int[_leafNodes.Length][];
        for (int k = 0; k < _leafNodes.Length; k++)
        {
            var set = new SortedSet<int>();
            for (int cur = _leafNodes[k]; _parent[cur] >= 0; cur = _parent[cur])
            {
                int p = _parent[cur];
                bool seq = _nodes[p].Strategy == RubricStrategy.Sequential;
                foreach (var s in _children[p])
                {
                    if (s == cur) continue;
                    if (_nodes[s].Critical || (seq && s < cur))
                        foreach (var leaf in LeavesUnder(s))
                            if (_leafPos[leaf] < k) set.Add(_leafPos[leaf]); // later leaves are still "initialized": they gate nothing
                }
            }
            _preconditions[k] = set.ToArray();
        }

        _weights = new double[_nodes.Length];
        _weights[0] = 1;
        for (int i = 0; i < _nodes.Length; i++)
        {
            int soft = _children[i].Count(c => !_nodes[c].Critical);
            foreach (var c in _children[i]) _weights[c] = _nodes[c].Critical ? 0 : _weights[i] / soft;
        }
    }

    private IEnumerable<int> LeavesUnder(int node)
    {
        // Pre-order indices: a subtree is a contiguous range.
        int end = node + 1;
        while (end < _nodes.Length && IsDescendant(end, node)) end++;
        for (int i = node; i < end; i++) if (_children[i].Length == 0) yield return i;
    }

    private bool IsDescendant(int i, int ancestor)
    {
        for (int p = _parent[i]; p >= 0; p = _parent[p]) if (p == ancestor) return true;
        return false;
    }

    private static string At(SourceLocation? l) => l is null ? "" : $" at line {l.Line}";
    // An error at a node: its own location, else the tree's source file (set before any check in the constructor).
    private QuestInputException Err(SourceLocation? at, string problem, string expected) =>
        new(at?.File ?? SourceFile, at?.Line, at?.Column, problem, expected);

    // ---------------------------------------------------------------- construction

    /// <summary>Validates and compiles a tree built in code. Throws <see cref="QuestInputException"/> on bad structure or checks.</summary>
    /// <param name="root">The root node.</param>
    /// <param name="task">The task description (for judge prompts).</param>
    /// <param name="checks">Check registry (default: <see cref="CheckRegistry.Default"/>).</param>
    /// <param name="name">Display name (default: the root id).</param>
    /// <param name="sourceFile">Source file name for messages.</param>
    public static RubricTree Compile(RubricNode root, string? task = null, CheckRegistry? checks = null, string? name = null, string? sourceFile = null)
    {
        if (root is null) throw new QuestInputException(sourceFile, null, null, "empty tree", "a root node");
        return new RubricTree(root, name ?? root.Id, task, sourceFile, checks ?? CheckRegistry.Default);
    }

    /// <summary>Loads a tree file: YAML (<c>.yaml</c>/<c>.yml</c>) or QUEST JSON (<c>.json</c>; either wrapper shape).</summary>
    public static RubricTree Load(string path, CheckRegistry? checks = null) => RubricIo.Load(path, checks);

    /// <summary>Parses a tree from YAML text (see <see cref="RubricYaml"/> for the schema).</summary>
    public static RubricTree FromYaml(string yaml, CheckRegistry? checks = null, string? source = null) => RubricYaml.Parse(yaml, checks, source);

    /// <summary>Parses a tree from QUEST JSON text (<c>{root_name: node}</c> or <c>{task_description, rubric_tree}</c>).</summary>
    public static RubricTree FromQuestJson(string json, CheckRegistry? checks = null, string? source = null) => QuestJson.Parse(json, checks, source);

    /// <summary>Writes the tree as YAML (with a schema header comment).</summary>
    public string ToYaml() => RubricYaml.Write(this);

    /// <summary>Writes the tree as QUEST JSON.</summary>
    /// <param name="shape">Which wrapper to write.</param>
    /// <param name="includeChecks">Add each leaf's <c>check</c> (ignored by QUEST, needed for a lossless round trip).</param>
    public string ToQuestJson(QuestJsonShape shape = QuestJsonShape.TaskAndTree, bool includeChecks = true) => QuestJson.Write(this, shape, includeChecks);

    /// <summary>Saves to <paramref name="path"/>, as YAML or QUEST JSON by extension, atomically.</summary>
    public void Save(string path) => AtomicFile.WriteAllText(path,
        path.EndsWith(".json", StringComparison.OrdinalIgnoreCase) ? ToQuestJson() : ToYaml());

    // ---------------------------------------------------------------- queries

    /// <summary>The node with this id, or null.</summary>
    public RubricNode? Find(string id) => _index.TryGetValue(id, out var i) ? _nodes[i] : null;

    /// <summary>The parent of a node, or null for the root.</summary>
    public RubricNode? ParentOf(string id) => _index.TryGetValue(id, out var i) && _parent[i] >= 0 ? _nodes[_parent[i]] : null;

    /// <summary>
    /// Weight of a node in the final score: the root has 1; a non-critical child gets its parent's weight divided by the
    /// number of non-critical siblings (itself included); a critical child gets 0 (it only gates). With every gate open and
    /// no sequential cut-off, the final score is the sum of weight × score over the non-critical leaves.
    /// </summary>
    public double WeightOf(string id) => _index.TryGetValue(id, out var i) ? _weights[i] : throw new KeyNotFoundException(id);

    /// <summary>Ids of the earlier leaves whose failure or skip makes <paramref name="leafId"/> skipped (precondition skipping).</summary>
    public IReadOnlyList<string> PreconditionsOf(string leafId)
    {
        if (!_index.TryGetValue(leafId, out var i) || _leafPos[i] < 0) throw new KeyNotFoundException($"no leaf '{leafId}'");
        return _preconditions[_leafPos[i]].Select(k => _nodes[_leafNodes[k]].Id).ToList();
    }

    /// <summary>The compiled check of a leaf.</summary>
    public ILeafCheck CheckOf(string leafId) =>
        _index.TryGetValue(leafId, out var i) && _leafPos[i] >= 0 ? _checks[_leafPos[i]] : throw new KeyNotFoundException($"no leaf '{leafId}'");

    /// <inheritdoc />
    public override string ToString() => $"{Name}: {_nodes.Length} nodes, {Leaves.Count} leaves, depth {Depth}";

    // ---------------------------------------------------------------- scoring

    /// <summary>Scores one answer: runs the leaf checks in order with precondition skipping, then aggregates.</summary>
    /// <param name="answer">The answer text (for a transcript, pass <c>Protocol.ExtractLastAnswer(text)</c>).</param>
    /// <param name="context">Judge, sources and options (default: none).</param>
    /// <param name="cancellationToken">Cancels pending judge calls.</param>
    /// <exception cref="RubricJudgeMissingException">The tree has judge leaves, no judge is configured and
    /// <see cref="RubricContext.WhenNoJudge"/> is <see cref="MissingJudgeBehavior.Throw"/>.</exception>
    public async Task<RubricReport> ScoreAsync(string answer, RubricContext? context = null, CancellationToken cancellationToken = default)
    {
        context ??= RubricContext.Empty;
        if (JudgeLeafCount > 0 && context.Judge is null && context.WhenNoJudge == MissingJudgeBehavior.Throw)
            throw new RubricJudgeMissingException(
                $"rubric '{Name}' has {JudgeLeafCount} judge leaf(s) ({string.Join(", ", Leaves.Where((_, k) => _checks[k].NeedsJudge).Take(5).Select(l => l.Id))}" +
                $"{(JudgeLeafCount > 5 ? ", …" : "")}) but no judge is configured: set RubricContext.Judge to an IChatClient " +
                "(CLI: --endpoint URL --model NAME), score given leaf outcomes instead, or set WhenNoJudge = FailLeaf to fail them.");
        var view = new AnswerView(answer);
        var task = context.Task ?? Task;
        var leaves = new LeafState[_leafNodes.Length];
        if (context.MaxConcurrency <= 1)
        {
            for (int k = 0; k < _leafNodes.Length; k++)
            {
                cancellationToken.ThrowIfCancellationRequested();
                leaves[k] = Blocker(k, leaves) is int b
                    ? LeafState.Skip(_nodes[_leafNodes[b]].Id)
                    : await RunLeafAsync(k, view, context, task, cancellationToken).ConfigureAwait(false);
            }
        }
        else
        {
            // Dependency-ordered: leaf k waits for its precondition leaves (all earlier in tree order), so it sees exactly
            // the statuses it would see in the sequential order.
            using var gate = new SemaphoreSlim(context.MaxConcurrency);
            var tasks = new Task<LeafState>[_leafNodes.Length];
            for (int k = 0; k < _leafNodes.Length; k++)
            {
                int leaf = k;
                var deps = _preconditions[k].Select(p => tasks[p]).ToArray();
                tasks[k] = System.Threading.Tasks.Task.Run(async () =>
                {
                    var states = await System.Threading.Tasks.Task.WhenAll(deps).ConfigureAwait(false);
                    for (int i = 0; i < states.Length; i++)
                        if (states[i].Status is NodeStatus.Failed or NodeStatus.Skipped) return LeafState.Skip(_nodes[_leafNodes[_preconditions[leaf][i]]].Id);
                    await gate.WaitAsync(cancellationToken).ConfigureAwait(false);
                    try { return await RunLeafAsync(leaf, view, context, task, cancellationToken).ConfigureAwait(false); }
                    finally { gate.Release(); }
                }, cancellationToken);
            }
            var done = await System.Threading.Tasks.Task.WhenAll(tasks).ConfigureAwait(false);
            Array.Copy(done, leaves, done.Length);
        }
        return Aggregate(leaves);
    }

    /// <summary>Scores many answers in turn (the tree is compiled once).</summary>
    public async Task<IReadOnlyList<RubricReport>> ScoreManyAsync(IEnumerable<string> answers, RubricContext? context = null, CancellationToken cancellationToken = default)
    {
        var list = new List<RubricReport>();
        foreach (var a in answers) list.Add(await ScoreAsync(a, context, cancellationToken).ConfigureAwait(false));
        return list;
    }

    /// <summary>
    /// Scores given leaf outcomes without running any check (how other implementations are cross-checked). Precondition
    /// skipping applies exactly as in <see cref="ScoreAsync"/>: a leaf gated by an earlier failed or skipped leaf is skipped
    /// whatever its given outcome. Leaves absent from <paramref name="outcomes"/> count as failed (evidence "no outcome given").
    /// </summary>
    /// <exception cref="QuestInputException">An id is unknown or names an inner node.</exception>
    public RubricReport ScoreOutcomes(IReadOnlyDictionary<string, bool> outcomes, string? source = null) =>
        ScoreOutcomes(new LeafOutcomeSet(outcomes.Select(kv => new LeafOutcomeSet.Entry(kv.Key, kv.Value, null)).ToList(), source));

    /// <summary>Scores a parsed outcome file (see <see cref="LeafOutcomeSet.Parse"/>); errors name the file, line and column.</summary>
    public RubricReport ScoreOutcomes(LeafOutcomeSet outcomes)
    {
        var given = new bool?[_leafNodes.Length];
        foreach (var e in outcomes.Entries)
        {
            var at = e.Location;
            if (!_index.TryGetValue(e.Id, out var i))
                throw new QuestInputException(outcomes.Source, at?.Line, at?.Column, $"unknown leaf id '{e.Id}' in tree '{Name}'",
                    "one of " + string.Join(", ", Leaves.Take(20).Select(l => l.Id)) + (Leaves.Count > 20 ? ", …" : ""));
            if (_leafPos[i] < 0)
                throw new QuestInputException(outcomes.Source, at?.Line, at?.Column, $"'{e.Id}' is an inner node, not a leaf", "outcomes for leaves only (inner scores are computed)");
            given[_leafPos[i]] = e.Passed;
        }
        var leaves = new LeafState[_leafNodes.Length];
        for (int k = 0; k < leaves.Length; k++)
        {
            if (Blocker(k, leaves) is int b) { leaves[k] = LeafState.Skip(_nodes[_leafNodes[b]].Id); continue; }
            var o = given[k] is bool v ? new LeafOutcome(v, "given outcome") : new LeafOutcome(false, "no outcome given");
            leaves[k] = new LeafState(o.Passed ? NodeStatus.Passed : NodeStatus.Failed, o, null);
        }
        return Aggregate(leaves);
    }

    private async Task<LeafState> RunLeafAsync(int k, AnswerView view, RubricContext context, string? task, CancellationToken cancellationToken)
    {
        var node = _nodes[_leafNodes[k]];
        LeafOutcome outcome;
        try
        {
            var input = new LeafInput(view, node, new CheckArgs(node.Check!, node), context, task);
            outcome = await _checks[k].EvaluateAsync(input, cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested) { throw; }
        catch (Exception e) { outcome = LeafOutcome.Fail($"check error: {e.GetType().Name}: {e.Message}"); }
        return new LeafState(outcome.Passed ? NodeStatus.Passed : NodeStatus.Failed, outcome, null);
    }

    private int? Blocker(int k, LeafState[] leaves)
    {
        foreach (var p in _preconditions[k])
            if (leaves[p].Status is NodeStatus.Failed or NodeStatus.Skipped) return p;
        return null;
    }

    internal readonly record struct LeafState(NodeStatus Status, LeafOutcome? Outcome, string? SkippedBy)
    {
        public static LeafState Skip(string by) => new(NodeStatus.Skipped, null, by);
    }

    private RubricReport Aggregate(LeafState[] leaves)
    {
        var reports = new NodeReport[_nodes.Length];
        NodeReport Compute(int i)
        {
            var node = _nodes[i];
            if (_children[i].Length == 0)
            {
                var s = leaves[_leafPos[i]];
                return reports[i] = new NodeReport
                {
                    Node = node, Score = s.Status == NodeStatus.Passed ? 1 : 0, Status = s.Status, Weight = _weights[i],
                    Evidence = s.SkippedBy is not null ? $"skipped: precondition leaf '{s.SkippedBy}' failed or was skipped" : s.Outcome?.Evidence,
                    Reasoning = s.Outcome?.Reasoning, Data = s.Outcome?.Data, JudgeCalls = s.Outcome?.JudgeCalls ?? 0,
                    SkippedBy = s.SkippedBy, Checked = s.Outcome is not null, Children = [],
                };
            }
            var kids = _children[i].Select(Compute).ToArray();
            var scores = kids.Select(k => k.Score).ToArray();
            if (node.Strategy == RubricStrategy.Sequential)
            {
                int first = Array.FindIndex(scores, s => s < 1.0);
                if (first >= 0)
                    for (int j = first + 1; j < kids.Length; j++)
                    {
                        scores[j] = 0;
                        kids[j] = reports[_children[i][j]] = kids[j] with { Score = 0, Status = NodeStatus.Skipped, ForcedSkip = true };
                    }
            }
            double score;
            var crit = Enumerable.Range(0, kids.Length).Where(j => kids[j].Node.Critical).ToArray();
            var soft = Enumerable.Range(0, kids.Length).Where(j => !kids[j].Node.Critical).ToArray();
            if (crit.Any(j => scores[j] < 1.0)) score = 0;
            else if (crit.Length > 0 && soft.Length == 0) score = 1;
            else score = soft.Length == 0 ? 1 : soft.Sum(j => scores[j]) / soft.Length;
            var status = score == 1.0 ? NodeStatus.Passed
                : score == 0.0 ? (kids.Any(k => k.Status == NodeStatus.Failed) ? NodeStatus.Failed : NodeStatus.Skipped)
                : NodeStatus.Partial;
            return reports[i] = new NodeReport
            {
                Node = node, Score = score, Status = status, Weight = _weights[i], Children = kids,
                JudgeCalls = kids.Sum(k => k.JudgeCalls),
            };
        }
        var root = Compute(0);
        return new RubricReport(this, root, reports);
    }

    /// <summary>
    /// Aggregates child scores exactly as QUEST's <c>compute_score(mutate=True)</c>, for use outside a tree
    /// (returns the node score and the child scores after the sequential cut-off).
    /// </summary>
    public static (double Score, double[] ChildScores) Aggregate(RubricStrategy strategy, IReadOnlyList<(double Score, bool Critical)> children)
    {
        var s = children.Select(c => c.Score).ToArray();
        if (strategy == RubricStrategy.Sequential)
        {
            int first = Array.FindIndex(s, x => x < 1.0);
            if (first >= 0) for (int j = first + 1; j < s.Length; j++) s[j] = 0;
        }
        var crit = Enumerable.Range(0, s.Length).Where(j => children[j].Critical).ToArray();
        var soft = Enumerable.Range(0, s.Length).Where(j => !children[j].Critical).ToArray();
        if (crit.Any(j => s[j] < 1.0)) return (0, s);
        if (soft.Length == 0) return (1, s);
        return (soft.Sum(j => s[j]) / soft.Length, s);
    }
}

