using Quest.Core;
using Quest.Synthesis;
using Quest.Synthesis.Rewards;
using Quest.World;
using Quest.World.Corpus;
using Quest.World.Generation;
using Quest.World.Tools;

namespace Quest.Recipe;

/// <summary>
/// The worlds a run's tasks are drawn over (<see cref="RecipeOptions.TaskWorlds"/>). World 0 is the run's task world
/// (<c>world/</c>, where the held-out split and the few train tasks the eval shows come from); worlds 1… (under
/// <c>task-worlds/</c>, each with its own seed) add train tasks only, so the teacher, SFT and RL meet many worlds' names
/// and no one world's facts are seen often enough to be remembered in place of being looked up.
/// </summary>
public sealed class TaskWorlds : IDisposable
{
    /// <summary>The corpus name of world 0 (and of every task synthesized on it).</summary>
    public const string WorldZero = "recipe-world";

    private readonly RecipeOptions _o;
    private readonly RecipePaths _p;
    private readonly Dictionary<string, (WorldEnvironment Env, Synthesizer Synth)> _open = [];

    /// <summary>Opens (lazily) the task worlds of a run.</summary>
    public TaskWorlds(RecipeOptions o, RecipePaths p) { _o = o; _p = p; }

    /// <summary>The corpus name of task world <paramref name="i"/>.</summary>
    public static string NameOf(int i) => i == 0 ? WorldZero : $"task-world-{i}";

    /// <summary>The seed of task world <paramref name="i"/> (world 0: 41 + seed, as always).</summary>
    public static int SeedOf(RecipeOptions o, int i) => i == 0 ? 41 + o.Seed : 2_000_003 + 101 * i + o.Seed;

    /// <summary>Task slots per task world (the run's slots shared out over <see cref="RecipeOptions.TaskWorlds"/>; an RL
    /// world gets as many).</summary>
    public static int SlotsPerWorld(RecipeOptions o) => (o.Tasks + o.TaskWorlds - 1) / o.TaskWorlds;

    /// <summary>The corpus name of RL world <paramref name="i"/> (<see cref="RecipeOptions.RlWorlds"/>).</summary>
    public static string RlNameOf(int i) => $"rl-world-{i}";

    /// <summary>The seed of RL world <paramref name="i"/>: apart from every other world the run derives (task, page,
    /// probe and fresh worlds).</summary>
    public static int RlSeedOf(RecipeOptions o, int i) => 6_000_007 + 101 * i + o.Seed;

    /// <summary>The stored directory of the task world named <paramref name="corpus"/> (an RL world's under <c>rl-worlds/</c>).</summary>
    public static string DirOf(RecipePaths p, string corpus) =>
        corpus == WorldZero || string.IsNullOrEmpty(corpus) ? p.World
        : corpus.StartsWith("rl-world-", StringComparison.Ordinal) ? Path.Combine(p.RlWorlds, corpus)
        : Path.Combine(p.TaskWorlds, corpus);

    /// <summary>
    /// The RL worlds' tasks, made on first use: <see cref="RecipeOptions.RlWorlds"/> worlds generated for RL alone (no
    /// other stage reads their pages or their tasks), each with the task worlds' share of task slots, every task in
    /// the train split. Stored in <see cref="RecipePaths.RlWorlds"/> and <see cref="RecipePaths.RlTasks"/>, so a resumed
    /// run reads them back.
    /// </summary>
    public static async Task<IReadOnlyList<SynthTask>> RlTasksAsync(RecipeOptions o, RecipePaths p, Action<string>? log = null, CancellationToken ct = default)
    {
        if (File.Exists(p.RlTasks)) return TaskFile.Read(p.RlTasks);
        var all = new List<SynthTask>();
        for (int i = 0; i < o.RlWorlds; i++)
        {
            var dir = DirOf(p, RlNameOf(i));
            if (!CorpusStore.IsCorpusDirectory(dir)) Recipe.StoreWorld(o, dir, RlSeedOf(o, i), RlNameOf(i), ct);
            using var env = WorldEnvironment.Open(dir);
            var r = await new Synthesizer(env.Graph).RunAsync(Recipe.SynthesisOf(o, SlotsPerWorld(o), o.Seed + 5000 + 1000 * i, o.TestFraction), null, ct).ConfigureAwait(false);
            all.AddRange(r.Tasks.Select(t => t with { Split = "train" }));
            log?.Invoke($"rl world {i}: {r.Tasks.Count} tasks (seed {RlSeedOf(o, i)})");
        }
        TaskFile.Write(p.RlTasks, all);
        return all;
    }

    /// <summary>Generates and stores (with its index) task world <paramref name="i"/>; returns its page count.</summary>
    public static int Generate(RecipeOptions o, RecipePaths p, int i, CancellationToken ct = default) =>
        Recipe.StoreWorld(o, DirOf(p, NameOf(i)), SeedOf(o, i), NameOf(i), ct).Corpus.Count;

    /// <summary>The environment and synthesizer of the world <paramref name="task"/> was drawn over.</summary>
    public (WorldEnvironment Env, Synthesizer Synth) Of(SynthTask task) => Of(task.Corpus);

    /// <summary>The environment and synthesizer of the task world named <paramref name="corpus"/>.</summary>
    public (WorldEnvironment Env, Synthesizer Synth) Of(string corpus)
    {
        if (string.IsNullOrEmpty(corpus)) corpus = WorldZero;
        lock (_open)
        {
            if (_open.TryGetValue(corpus, out var w)) return w;
            var dir = DirOf(_p, corpus);
            if (!CorpusStore.IsCorpusDirectory(dir))
                throw new QuestInputException(dir, null, null, $"task world '{corpus}' is not in this run", "a task file written by this run's synth stage");
            var env = WorldEnvironment.Open(dir);
            return _open[corpus] = (env, new Synthesizer(env.Graph));
        }
    }

    /// <summary>The agent's tools over a task's world, sized as the run's tools are.</summary>
    public IReadOnlyList<ITool> ToolsOf(SynthTask task) => Recipe.ToolsOf(_o, Of(task).Env);

    /// <summary>The reward of a task (its world's verifier).</summary>
    public RewardFunction RewardOf(SynthTask task) => Of(task).Synth.Verifier.Reward;

    /// <summary>Closes every opened world.</summary>
    public void Dispose()
    {
        foreach (var (env, _) in _open.Values) env.Dispose();
        _open.Clear();
    }
}
