using Microsoft.Extensions.AI;
using Quest.Synthesis.Families;
using Quest.World.Graph;
using Quest.Synthesis.Verification;

namespace Quest.Synthesis;

/// <summary>Settings of a synthesis run.</summary>
public sealed record SynthesisOptions
{
    /// <summary>Number of tasks to produce.</summary>
    public int Count { get; init; } = 20;
    /// <summary>Run seed: the same seed, graph and families give the same tasks.</summary>
    public int Seed { get; init; } = 1;
    /// <summary>Share of seed entities assigned to the test split (by a hash of the seed entity and the run seed).</summary>
    public double TestFraction { get; init; } = 0.2;
    /// <summary>Candidates tried per task slot before the slot is given up.</summary>
    public int MaxAttemptsPerTask { get; init; } = 40;
    /// <summary>Restrict the complexity classes (null: all nine, sampled evenly).</summary>
    public IReadOnlyList<Complexity>? Classes { get; init; }

    /// <summary>Tasks from earlier runs: their questions count as duplicates (the verifier's memory is reset per run).</summary>
    public IReadOnlyList<SynthTask>? ExistingTasks { get; init; }

    /// <summary>A tiny run for tests and notebooks.</summary>
    public static SynthesisOptions Tiny => new() { Count = 10 };
}

/// <summary>Progress of a run (one report per task slot).</summary>
/// <param name="Done">Slots finished.</param>
/// <param name="Total">Slots in all.</param>
/// <param name="Accepted">Tasks accepted so far.</param>
/// <param name="Candidates">Candidates tried so far.</param>
/// <param name="Family">Family of the slot just finished.</param>
public sealed record SynthesisProgress(int Done, int Total, int Accepted, int Candidates, string Family);

/// <summary>What a run produced: the accepted tasks and how many candidates each check rejected.</summary>
public sealed record SynthesisResult
{
    /// <summary>Accepted, verified tasks.</summary>
    public required IReadOnlyList<SynthTask> Tasks { get; init; }
    /// <summary>Candidates proposed (including families' own give-ups).</summary>
    public int Candidates { get; init; }
    /// <summary>Rejections by reason: verification checks (<see cref="Rejections"/>) and family give-ups (<c>family:reason</c>).</summary>
    public required IReadOnlyDictionary<string, int> Rejected { get; init; }
    /// <summary>Rejections by family and reason.</summary>
    public required IReadOnlyDictionary<(string Family, string Reason), int> RejectedByFamily { get; init; }
    /// <summary>Slots that got no task within the attempt budget.</summary>
    public int EmptySlots { get; init; }
}

/// <summary>
/// Runs task families over a graph: slot i goes to family i mod F and complexity class (i / F) mod 9, so families and
/// classes are balanced; each slot tries seeded candidates until one passes <see cref="TaskVerifier"/>. Seed entities
/// are split train/test by hash, and a candidate whose answer is an answer of the other split is rejected.
/// </summary>
public sealed class Synthesizer
{
    private readonly KnowledgeGraph _graph;
    private readonly IReadOnlyList<ITaskFamily> _families;

    /// <summary>Creates a synthesizer.</summary>
    /// <param name="graph">The graph (see <see cref="Quest.World.Generation.GeneratedWorld.Graph"/>, <see cref="Quest.World.WorldEnvironment.Graph"/>, <see cref="KnowledgeGraph.FromPages"/>).</param>
    /// <param name="families">Families to mix (default: <see cref="BuiltinFamilies"/>).</param>
    /// <param name="judge">Optional LLM judge for judge leaves and judge criteria.</param>
    public Synthesizer(KnowledgeGraph graph, IEnumerable<ITaskFamily>? families = null, IChatClient? judge = null)
    {
        _graph = graph;
        _families = (families ?? BuiltinFamilies()).ToList();
        if (_families.Count == 0) throw new ArgumentException("no task families");
        Verifier = new TaskVerifier(new TaskScorer(graph.PageTextAsync, judge));
    }

    /// <summary>The verifier (its scorer scores any task of this graph).</summary>
    public TaskVerifier Verifier { get; }

    /// <summary>The built-in families: multihop, constraint, list, citation, report.</summary>
    public static IReadOnlyList<ITaskFamily> BuiltinFamilies() =>
        [new MultiHopFamily(), new ConstraintFamily(), new ListFamily(), new CitationFamily(), new ReportFamily()];

    /// <summary>A built-in family by name (case-insensitive).</summary>
    public static ITaskFamily Family(string name) =>
        BuiltinFamilies().FirstOrDefault(f => f.Name.Equals(name, StringComparison.OrdinalIgnoreCase))
        ?? throw new ArgumentException($"unknown family '{name}' (known: {string.Join(", ", BuiltinFamilies().Select(f => f.Name))})");

    /// <summary>Whether a seed entity (its URL) goes to the test split.</summary>
    public static bool IsTestSeed(string seedEntity, int runSeed, double testFraction)
    {
        ulong h = 1469598103934665603UL ^ (ulong)(uint)runSeed;
        foreach (var ch in seedEntity) { h ^= ch; h *= 1099511628211UL; }
        return (h % 10_000) < (ulong)(testFraction * 10_000);
    }

    /// <summary>Runs the synthesis.</summary>
    public async Task<SynthesisResult> RunAsync(SynthesisOptions options, IProgress<SynthesisProgress>? progress = null, CancellationToken ct = default)
    {
        var classes = options.Classes ?? Complexity.All;
        Verifier.ResetDuplicates();
        if (options.ExistingTasks is not null) Verifier.AddKnownQuestions(options.ExistingTasks.Select(t => t.Question));
        var tasks = new List<SynthTask>();
        var rejected = new Dictionary<string, int>();
        var byFamily = new Dictionary<(string, string), int>();
        var usedSeeds = _families.ToDictionary(f => f.Name, _ => new HashSet<int>());
        var answersBySplit = new Dictionary<string, HashSet<int>> { ["train"] = [], ["test"] = [] };
        int candidates = 0, empty = 0;
        void Reject(string fam, string reason)
        {
            rejected[reason] = rejected.GetValueOrDefault(reason) + 1;
            byFamily[(fam, reason)] = byFamily.GetValueOrDefault((fam, reason)) + 1;
        }
        for (int slot = 0; slot < options.Count; slot++)
        {
            ct.ThrowIfCancellationRequested();
            var family = _families[slot % _families.Count];
            var cx = classes[(slot / _families.Count) % classes.Count];
            bool done = false;
            for (int attempt = 0; attempt < options.MaxAttemptsPerTask && !done; attempt++)
            {
                candidates++;
                var rng = new Random(StableMix(options.Seed, slot, attempt, StableHash(family.Name)));
                var ctx = new FamilyContext { Graph = _graph, Random = rng, Complexity = cx, UsedSeeds = usedSeeds[family.Name] };
                TaskCandidate cand;
                try { cand = family.Propose(ctx); }
                catch (NoCandidateException ex) { Reject(family.Name, $"{family.Name}:{ex.Reason}"); continue; }
                catch (Quest.Core.QuestInputException) { Reject(family.Name, Rejections.Malformed); continue; }
                var split = IsTestSeed(cand.Task.SeedEntity, options.Seed, options.TestFraction) ? "test" : "train";
                var other = answersBySplit[split == "test" ? "train" : "test"];
                if (cand.AnswerEntities.Any(other.Contains)) { Reject(family.Name, Rejections.SplitLeak); continue; }
                var verdict = await Verifier.VerifyAsync(cand with { Task = cand.Task with { Split = split } }, ct).ConfigureAwait(false);
                if (!verdict.Accepted) { Reject(family.Name, verdict.Reason!); continue; }
                tasks.Add(verdict.Task);
                answersBySplit[split].UnionWith(cand.AnswerEntities);
                if (_graph.FindByUrl(cand.Task.SeedEntity) is { } seed) usedSeeds[family.Name].Add(seed.Id);
                done = true;
            }
            if (!done) empty++;
            progress?.Report(new SynthesisProgress(slot + 1, options.Count, tasks.Count, candidates, family.Name));
        }
        return new SynthesisResult { Tasks = tasks, Candidates = candidates, Rejected = rejected, RejectedByFamily = byFamily, EmptySlots = empty };
    }

    // HashCode.Combine is randomised per process; runs must reproduce across processes.
    private static int StableMix(params int[] parts)
    {
        ulong h = 14695981039346656037UL;
        foreach (var p in parts) { h ^= (uint)p; h *= 1099511628211UL; h ^= h >> 29; }
        return (int)(h & 0x7FFFFFFF);
    }

    private static int StableHash(string s) { unchecked { int h = 17; foreach (var c in s) h = h * 31 + c; return h; } }
}
