using System.Globalization;
using System.Text;
using System.Text.Json;
using Quest.Agent;
using Quest.Agent.Rollout;
using Quest.Models.Checkpoints;
using Quest.Models.Runtime;
using Quest.Models.Transformer;
using Quest.Synthesis;
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
    /// <summary>The eval table: every model on the test split (all, per family, per complexity) and on a few train tasks.</summary>
    public IReadOnlyList<EvalRow> Eval { get; init; } = [];
    /// <summary>The stage ablation: each stage against the one before it on the same test tasks (paired, bootstrap 95%).</summary>
    public IReadOnlyList<StageComparison> Ablation { get; init; } = [];

    /// <summary>Reads <c>summary.json</c> of a run directory.</summary>
    public static RecipeSummary Read(string outDir) =>
        JsonSerializer.Deserialize<RecipeSummary>(File.ReadAllText(new RecipePaths(Path.GetFullPath(outDir)).Summary), Recipe.Json)
        ?? throw new InvalidDataException("empty summary");

    /// <summary>The headline table: each model on all test tasks and by complexity class, then the paired stage differences.</summary>
    public string FormatTable()
    {
        var sb = new StringBuilder();
        sb.AppendLine("eval on the test split: the stage ablation (all test tasks, by complexity class, and a few train tasks)");
        sb.Append(Evaluation.FormatRows(Eval.Where(r => r.Group is "all test" or "train (seen)" || r.Group.StartsWith("complexity:", StringComparison.Ordinal))));
        sb.AppendLine();
        sb.AppendLine("each stage against the one before it (paired over the same test tasks, bootstrap 95% interval; * = above 0)");
        sb.Append(Evaluation.FormatComparisons(Ablation));
        return sb.ToString();
    }
}

/// <summary>
/// Stage 7: the stage ablation. The untrained model (same shape and tokenizer, random weights), the mid-trained model
/// (MT), MT+SFT and MT+SFT+RL run as agents with the real tools on the test split (and a few train tasks, to see
/// memorisation), each episode scored with its task's reward; then each stage is compared with the one before it on
/// the same test tasks (paired differences, bootstrap 95% intervals). Rollouts resume per episode.
/// </summary>
public static class RecipeEval
{
    /// <summary>The models compared, in recipe order: name and checkpoint directory (null: untrained weights).</summary>
    public static IReadOnlyList<(string Name, string? Dir)> Models(RecipePaths p) =>
        [("untrained", null), ("mt", p.Pretrain), ("sft", p.Sft), ("rl", p.Rl)];

    /// <summary>The tasks the eval rolls out: the test split (or its first <c>EvalTestTasks</c>), then the first train tasks.</summary>
    public static IReadOnlyList<SynthTask> Tasks(RecipeOptions o, RecipePaths p)
    {
        var all = TaskFile.Read(p.Tasks);
        var test = all.Where(t => t.Split == "test");
        if (o.EvalTestTasks > 0) test = test.Take(o.EvalTestTasks);
        return [.. test, .. all.Where(t => t.Split == "train").Take(o.EvalTrainTasks)];
    }

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
        var byId = tasks.ToDictionary(t => t.Id);
        using var sc = WorldEnvironment.Open(c.Paths.World);
        var reward = new Synthesizer(sc.Graph).Verifier.Reward;
        var tools = Recipe.ToolsOf(o, sc);
        var eo = EvalOptionsOf(o);
        var m = new Dictionary<string, double> { ["tasks"] = tasks.Count };
        foreach (var (name, dir) in Models(c.Paths))
        {
            var loaded = Load(c.Paths, dir, o);
            using (var client = Evaluation.LocalPolicy(loaded, eo, name))
            {
                var trajs = await Evaluation.RolloutAsync(client, name, loaded.Tokenizer, tasks, tools, reward, eo, Path.Combine(c.Paths.Eval, name),
                    pr => c.Progress($"{name,-9} episode {pr.Done + pr.Skipped}/{pr.Total + pr.Skipped} {byId[pr.Last.TaskId].Family,-10} {pr.Last.Termination,-13} reward {pr.Last.Reward ?? 0:0.000} turns {pr.Last.Rounds}", null),
                    ct).ConfigureAwait(false);
                var all = Evaluation.Row(name, "all test", trajs.Where(t => byId.TryGetValue(t.TaskId, out var tk) && tk.Split == "test").ToList());
                m[$"{name}_reward"] = Math.Round(all.MeanReward, 4);
                m[$"{name}_answered_pct"] = Math.Round(all.AnsweredPct, 1);
                m[$"{name}_valid_pct"] = Math.Round(all.ProtocolValidPct, 1);
                c.Progress(string.Create(CultureInfo.InvariantCulture, $"{name,-9} test reward {all.MeanReward:0.000} pass@{eo.Samples} {all.PassAtK:0.0}% answered {all.AnsweredPct:0.0}% valid {all.ProtocolValidPct:0.0}%"), null);
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

    /// <summary>The table rows and the stage ablation from the eval rollouts on disk.</summary>
    public static (List<EvalRow> Rows, List<StageComparison> Ablation) Table(RecipeOptions o, RecipePaths p)
    {
        var byId = Tasks(o, p).ToDictionary(t => t.Id);
        var testIds = byId.Values.Where(t => t.Split == "test").Select(t => t.Id).ToHashSet();
        var testTasks = byId.Where(kv => kv.Value.Split == "test").ToDictionary(kv => kv.Key, kv => kv.Value);
        var rows = new List<EvalRow>();
        var trajs = new List<(string Name, IReadOnlyList<Trajectory> T)>();
        foreach (var (name, _) in Models(p))
        {
            var file = Path.Combine(p.Eval, name, RolloutRunner.TrajectoriesFile);
            if (!File.Exists(file)) continue;
            var t = RolloutRunner.ReadTrajectories(file);
            trajs.Add((name, t));
            rows.AddRange(Evaluation.Rows(name, t, testTasks, "all test"));
            var train = t.Where(x => byId.TryGetValue(x.TaskId, out var tk) && tk.Split == "train").ToList();
            if (train.Count > 0) rows.Add(Evaluation.Row(name, "train (seen)", train));
        }
        var ablation = new List<StageComparison>();
        for (int i = 1; i < trajs.Count; i++)
            ablation.Add(Evaluation.Compare(trajs[i - 1].Name, trajs[i - 1].T, trajs[i].Name, trajs[i].T, testIds, seed: o.Seed));
        if (trajs.Count > 2) ablation.Add(Evaluation.Compare(trajs[1].Name, trajs[1].T, trajs[^1].Name, trajs[^1].T, testIds, seed: o.Seed));
        return (rows, ablation);
    }

    /// <summary>Writes <c>summary.json</c> from the stage markers and the eval rollouts on disk.</summary>
    internal static RecipeSummary WriteSummary(Recipe.StageContext c)
    {
        var (rows, ablation) = Table(c.Options, c.Paths);
        var summary = new RecipeSummary { Options = c.Options, Stages = Recipe.Completed(c.Paths.Root), Eval = rows, Ablation = ablation };
        Quest.Core.AtomicFile.WriteAllText(c.Paths.Summary, JsonSerializer.Serialize(summary, Recipe.Json));
        return summary;
    }
}
