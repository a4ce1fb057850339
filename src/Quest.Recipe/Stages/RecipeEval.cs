using System.Globalization;
using System.Text;
using System.Text.Json;
using Quest.Eval;
using Quest.Agent;
using Quest.Agent.Rollout;
using Quest.Core;
using Quest.Models.Checkpoints;
using Quest.Models.Generation;
using Quest.Models.Runtime;
using Quest.Models.Transformer;
using Quest.Synthesis;
using Quest.Synthesis.Rewards;
using Quest.World;
using TorchSharp;

namespace Quest.Recipe;

/// <summary>The run summary written to <c>summary.json</c>.</summary>
public sealed record RecipeSummary
{
    /// <summary>The options of the run.</summary>
    public RecipeOptions? Options { get; init; }
    /// <summary>Finished stages with their wall time and metrics.</summary>
    public IReadOnlyList<StageRecord> Stages { get; init; } = [];
    /// <summary>
    /// The eval table: every model on each test set (<see cref="EvalRow.Set"/>: the fresh world and the held-out split;
    /// all tasks, per family, per complexity) and on a few train tasks.
    /// </summary>
    public IReadOnlyList<EvalRow> Eval { get; init; } = [];
    /// <summary>The stage ablation on each test set: each stage against the one before it on the same tasks (paired, bootstrap 95%).</summary>
    public IReadOnlyList<StageComparison> Ablation { get; init; } = [];
    /// <summary>What recall buys each model: held-out split minus fresh world.</summary>
    public IReadOnlyList<RecallGap> RecallGaps { get; init; } = [];

    /// <summary>Reads <c>summary.json</c> of a run directory; a missing or damaged file is bad input naming the file.</summary>
    public static RecipeSummary Read(string outDir)
    {
        var path = new RecipePaths(Path.GetFullPath(outDir)).Summary;
        if (!File.Exists(path))
            throw new QuestInputException(path, null, null, "no summary.json: the run's eval stage has not finished", "a run directory whose eval stage finished (quest recipe --resume --out DIR writes it)");
        try
        {
            return JsonSerializer.Deserialize<RecipeSummary>(File.ReadAllText(path), Recipe.Json)
                ?? throw new JsonException("the file holds null");
        }
        catch (JsonException ex)
        {
            throw new QuestInputException(path, ex.LineNumber + 1, ex.BytePositionInLine + 1, $"summary.json is not a run summary: {Quest.Core.JsonFiles.Describe(ex)}",
                "the summary.json quest recipe writes (delete it; quest recipe --resume --out DIR writes it again from the eval rollouts)", ex);
        }
    }

    /// <summary>True when <c>summary.json</c> of <paramref name="p"/> exists and reads as a summary.</summary>
    internal static bool IsReadable(RecipePaths p)
    {
        try { Read(p.Root); return true; }
        catch (QuestInputException) { return false; }
    }

    /// <summary>
    /// The headline tables: each model on the fresh world (the headline: a world no stage read) and on the held-out split,
    /// all tasks and by complexity class; the paired stage differences on each; and the recall gap between the two.
    /// </summary>
    public string FormatTable()
    {
        var sb = new StringBuilder();
        foreach (var (set, title) in new[] { (TestSets.FreshWorld, "the fresh world (a world no stage of the run read: the headline)"), (TestSets.HeldOut, "the held-out split (held-out task seeds on the training world, whose pages mid-training read)") })
        {
            var rows = Eval.Where(r => r.Set == set && (r.Group is "all test" || r.Group.StartsWith("complexity:", StringComparison.Ordinal))).ToList();
            if (set == TestSets.HeldOut) rows.AddRange(Eval.Where(r => r.Group == "train (seen)"));
            if (rows.Count == 0) continue;
            sb.AppendLine($"eval on {title}");
            sb.Append(Evaluation.FormatRows(rows));
            sb.AppendLine();
        }
        foreach (var set in new[] { TestSets.FreshWorld, TestSets.HeldOut })
        {
            var cs = Ablation.Where(a => a.Set == set).ToList();
            if (cs.Count == 0) continue;
            sb.AppendLine($"each stage against the one before it on the {(set == TestSets.FreshWorld ? "fresh world" : "held-out split")} (paired over the same tasks, bootstrap 95% interval; * = above 0)");
            sb.Append(Evaluation.FormatComparisons(cs));
            sb.AppendLine();
        }
        if (RecallGaps.Count > 0)
        {
            sb.AppendLine("what recall buys: held-out split minus fresh world (unpaired, bootstrap 95% interval)");
            sb.AppendLine($"{"model",-10} {"held_out",9} {"fresh",7} {"gap",8} {"95% CI",20}");
            foreach (var g in RecallGaps)
                sb.AppendLine(string.Create(CultureInfo.InvariantCulture, $"{g.Model,-10} {g.HeldOut,9:0.000} {g.Fresh,7:0.000} {g.Gap,8:+0.000;-0.000;0.000} [{g.Lo,7:+0.000;-0.000;0.000}, {g.Hi,7:+0.000;-0.000;0.000}]"));
        }
        return sb.ToString();
    }
}

/// <summary>
/// Stage 8: the stage ablation on two test sets. The untrained model (same shape and tokenizer, random weights), the
/// mid-trained model (MT), MT+SFT and MT+SFT+RL run as agents with the real tools on (1) the <b>fresh world</b>: tasks
/// synthesized over a world generated here, with a seed no stage used, so the agent must find every fact with its tools;
/// and (2) the <b>held-out split</b> of the training world (and a few train tasks, to see memorisation), whose pages
/// mid-training read. Each episode is scored with its task's reward; each stage is compared with the one before it on
/// the same tasks (paired differences, bootstrap 95% intervals), and the gap between the sets says what recall buys.
/// Rollouts resume per episode.
/// </summary>
public static class RecipeEval
{
    /// <summary>The models compared, in recipe order: name and checkpoint directory (null: untrained weights).</summary>
    public static IReadOnlyList<(string Name, string? Dir)> Models(RecipePaths p) =>
        [("untrained", null), ("mt", p.Pretrain), ("sft", p.Sft), ("rl", p.Rl)];

    /// <summary>The tasks the eval rolls out on the training world: the test split (or its first <c>EvalTestTasks</c>), then the first train tasks.</summary>
    public static IReadOnlyList<SynthTask> Tasks(RecipeOptions o, RecipePaths p)
    {
        var all = TaskFile.Read(p.Tasks);
        var test = all.Where(t => t.Split == "test");
        if (o.EvalTestTasks > 0) test = test.Take(o.EvalTestTasks);
        return [.. test, .. all.Where(t => t.Split == "train" && t.Corpus is "" or TaskWorlds.WorldZero).Take(o.EvalTrainTasks)];   // the eval rolls out in world 0
    }

    /// <summary>
    /// The fresh world's seed: far from the training world's (41 + seed) and from every other seed the run derives, so no
    /// stage generated or read this world.
    /// </summary>
    public static int FreshWorldSeed(RecipeOptions o) => 7_000_003 + o.Seed;

    /// <summary>
    /// The fresh world and its tasks, made on first use (stored in <see cref="RecipePaths.FreshWorld"/> and
    /// <see cref="RecipePaths.FreshTasks"/>; every task in the test split): the training world's size, families and
    /// complexity classes, another seed. Empty when <see cref="RecipeOptions.FreshWorldTasks"/> is 0.
    /// </summary>
    public static async Task<IReadOnlyList<SynthTask>> FreshTasksAsync(RecipeOptions o, RecipePaths p, Action<string>? log = null, CancellationToken ct = default)
    {
        if (o.FreshWorldTasks == 0) return [];
        if (!Quest.World.Corpus.CorpusStore.IsCorpusDirectory(p.FreshWorld))
        {
            var world = Recipe.StoreWorld(o, p.FreshWorld, FreshWorldSeed(o), "fresh-world", ct);
            log?.Invoke($"fresh world: {world.Corpus.Count} pages (seed {FreshWorldSeed(o)})");
        }
        if (File.Exists(p.FreshTasks)) return TaskFile.Read(p.FreshTasks);
        using var sc = WorldEnvironment.Open(p.FreshWorld);
        var r = await new Synthesizer(sc.Graph).RunAsync(Recipe.SynthesisOf(o, o.FreshWorldTasks, o.Seed + 17, 0.5), null, ct).ConfigureAwait(false);
        var tasks = r.Tasks.Select(t => t with { Split = "test" }).ToList();
        TaskFile.Write(p.FreshTasks, tasks);
        log?.Invoke($"fresh world: {tasks.Count} verified tasks of {o.FreshWorldTasks} slots");
        return tasks;
    }

    /// <summary>A local model as a policy that decodes concurrent episodes together (dispose it after use; roll out with
    /// its <see cref="LocalChatClient.EpisodeScope"/>).</summary>
    public static LocalChatClient LocalPolicy(LoadedModel model, EvalOptions o, string name) =>
        LocalChatClient.Batched(model.Model, model.Tokenizer, new GenerationOptions { Temperature = o.Temperature, TopP = 1, MaxNewTokens = o.MaxNewTokens, Seed = o.Seed }, o.Parallel, name);

    /// <summary>The eval settings of a run.</summary>
    public static EvalOptions EvalOptionsOf(RecipeOptions o) => new()
    {
        Samples = o.EvalSamples, MaxTurns = o.EvalMaxTurns, MaxNewTokens = o.EvalMaxNewTokens, Temperature = o.EvalTemperature,
        Parallel = o.EvalParallel, Date = o.Date, Seed = o.Seed,
    };

    internal static async Task<Dictionary<string, double>> RunAsync(Recipe.StageContext c, CancellationToken ct)
    {
        var o = c.Options;
        var tasks = Tasks(o, c.Paths);
        var fresh = await FreshTasksAsync(o, c.Paths, s => c.Progress(s, null), ct).ConfigureAwait(false);
        using var sc = WorldEnvironment.Open(c.Paths.World);
        using var fw = fresh.Count > 0 ? WorldEnvironment.Open(c.Paths.FreshWorld) : null;
        // each set's world: its tools and its tasks' reward, made once for all four models
        var sets = new List<(string Set, IReadOnlyList<SynthTask> Tasks, IReadOnlyList<ITool> Tools, RewardFunction Reward, string Dir)>
            { (TestSets.HeldOut, tasks, Recipe.ToolsOf(o, sc), new Synthesizer(sc.Graph).Verifier.Reward, c.Paths.Eval) };
        if (fw is not null) sets.Insert(0, (TestSets.FreshWorld, fresh, Recipe.ToolsOf(o, fw), new Synthesizer(fw.Graph).Verifier.Reward, c.Paths.EvalFresh));
        var eo = EvalOptionsOf(o);
        var m = new Dictionary<string, double> { ["tasks"] = tasks.Count, ["fresh_tasks"] = fresh.Count };
        foreach (var (name, dir) in Models(c.Paths))
        {
            var loaded = Load(c.Paths, dir, o);
            using var client = LocalPolicy(loaded, eo, name);
            foreach (var (set, list, tools, reward, outDir) in sets)
            {
                var byId = list.ToDictionary(t => t.Id);
                string tag = set == TestSets.FreshWorld ? "fresh" : "held-out";
                var trajs = await Evaluation.RolloutAsync(client, name, loaded.Tokenizer, list, tools, reward, eo, Path.Combine(outDir, name),
                    pr => c.Progress($"{name,-9} {tag,-8} episode {pr.Done + pr.Skipped}/{pr.Total + pr.Skipped} {byId[pr.Last.TaskId].Family,-10} {pr.Last.Termination,-13} reward {pr.Last.Reward ?? 0:0.000} turns {pr.Last.Rounds}", null),
                    ct, client.EpisodeScope).ConfigureAwait(false);
                Evaluation.EnsureMeasured(name, trajs, "Run the recipe again with --resume to retry them.");
                var all = Evaluation.Row(name, "all test", trajs.Where(t => byId.TryGetValue(t.TaskId, out var tk) && tk.Split == "test").ToList());
                string key = set == TestSets.FreshWorld ? $"{name}_fresh" : name;
                m[$"{key}_reward"] = Math.Round(all.MeanReward, 4);
                m[$"{key}_answered_pct"] = Math.Round(all.AnsweredPct, 1);
                m[$"{key}_valid_pct"] = Math.Round(all.ProtocolValidPct, 1);
                c.Progress(string.Create(CultureInfo.InvariantCulture, $"{name,-9} {tag,-8} reward {all.MeanReward:0.000} pass@1 {all.PassAt1:0.0}% answered {all.AnsweredPct:0.0}% valid {all.ProtocolValidPct:0.0}% ({all.Tasks} tasks)"), null);
            }
        }
        return m;
    }

    /// <summary>A stage's model; the untrained one has the mid-trained model's shape and tokenizer and its initial weights.</summary>
    public static LoadedModel Load(RecipePaths p, string? dir, RecipeOptions o)
    {
        var device = TorchRuntime.ResolveDevice(o.Device);
        if (dir is not null) return Checkpoint.Load(dir, device);
        var mt = Checkpoint.Load(p.Pretrain, device);
        var fresh = new QuestTransformer(mt.Model.Config, o.Seed);
        fresh.to(device);
        mt.Model.Dispose();
        return new LoadedModel(fresh, mt.Tokenizer, "");
    }

    /// <summary>The table rows, the stage ablation on each test set and the recall gaps, from the eval rollouts on disk.</summary>
    public static (List<EvalRow> Rows, List<StageComparison> Ablation, List<RecallGap> Gaps) Table(RecipeOptions o, RecipePaths p)
    {
        var byId = Tasks(o, p).ToDictionary(t => t.Id);
        var testTasks = byId.Where(kv => kv.Value.Split == "test").ToDictionary(kv => kv.Key, kv => kv.Value);
        var freshTasks = File.Exists(p.FreshTasks) ? TaskFile.Read(p.FreshTasks).ToDictionary(t => t.Id) : [];
        var rows = new List<EvalRow>();
        var ablation = new List<StageComparison>();
        var heldOut = new Dictionary<string, IReadOnlyList<Trajectory>>();
        var freshBy = new Dictionary<string, IReadOnlyList<Trajectory>>();
        foreach (var (set, tasks, dir, into) in new[] { (TestSets.FreshWorld, freshTasks, p.EvalFresh, freshBy), (TestSets.HeldOut, testTasks, p.Eval, heldOut) })
        {
            var trajs = new List<(string Name, IReadOnlyList<Trajectory> T)>();
            foreach (var (name, _) in Models(p))
            {
                var file = Path.Combine(dir, name, RolloutRunner.TrajectoriesFile);
                if (!File.Exists(file) || tasks.Count == 0) continue;
                var t = RolloutRunner.ReadTrajectories(file);
                trajs.Add((name, t));
                into[name] = t.Where(x => tasks.ContainsKey(x.TaskId)).ToList();
                rows.AddRange(Evaluation.Rows(name, t, tasks, "all test", set));
                if (set != TestSets.HeldOut) continue;
                var train = t.Where(x => byId.TryGetValue(x.TaskId, out var tk) && tk.Split == "train").ToList();
                if (train.Count > 0) rows.Add(Evaluation.Row(name, "train (seen)", train) with { Set = set });
            }
            var ids = tasks.Keys.ToHashSet();
            for (int i = 1; i < trajs.Count; i++)
                ablation.Add(Evaluation.Compare(trajs[i - 1].Name, trajs[i - 1].T, trajs[i].Name, trajs[i].T, ids, seed: o.Seed, set: set));
            if (trajs.Count > 2) ablation.Add(Evaluation.Compare(trajs[1].Name, trajs[1].T, trajs[^1].Name, trajs[^1].T, ids, seed: o.Seed, set: set));
        }
        var gaps = heldOut.Keys.Where(freshBy.ContainsKey).Select(m => Evaluation.Gap(m, heldOut[m], freshBy[m], seed: o.Seed)).ToList();
        return (rows, ablation, gaps);
    }

    /// <summary>Writes <c>summary.json</c> from the stage markers and the eval rollouts on disk.</summary>
    internal static RecipeSummary WriteSummary(Recipe.StageContext c)
    {
        var (rows, ablation, gaps) = Table(c.Options, c.Paths);
        var summary = new RecipeSummary { Options = c.Options, Stages = Recipe.Completed(c.Paths.Root), Eval = rows, Ablation = ablation, RecallGaps = gaps };
        Quest.Core.AtomicFile.WriteAllText(c.Paths.Summary, JsonSerializer.Serialize(summary, Recipe.Json));
        return summary;
    }
}
