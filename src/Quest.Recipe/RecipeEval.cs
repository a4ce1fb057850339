using System.Globalization;
using System.Text;
using System.Text.Json;
using Quest.Agent;
using Quest.Agent.Context;
using Quest.Agent.Rollout;
using Quest.Models.Checkpoints;
using Quest.Models.Generation;
using Quest.Models.Runtime;
using Quest.Synthesis;
using Quest.Synthesis.Teacher;

namespace Quest.Recipe;

/// <summary>One row of the eval table: a model on a group of episodes (one family of the test split, all test tasks, or the train tasks).</summary>
public sealed record EvalRow
{
    /// <summary><c>baseline</c> (pretrain only) or <c>sft</c>.</summary>
    public string Model { get; init; } = "";
    /// <summary>A family name, <c>all test</c>, or <c>train (seen)</c>.</summary>
    public string Group { get; init; } = "";
    /// <summary>Episodes.</summary>
    public int N { get; init; }
    /// <summary>Mean reward (the task's rubric reward, citation part included where the task needs it).</summary>
    public double MeanReward { get; init; }
    /// <summary>Share of episodes with a final answer (%).</summary>
    public double AnsweredPct { get; init; }
    /// <summary>Share of model turns that were a well-formed tool call or an answer (%).</summary>
    public double ProtocolValidPct { get; init; }
    /// <summary>Mean model calls per episode.</summary>
    public double MeanTurns { get; init; }
}

/// <summary>The run summary written to <c>summary.json</c>.</summary>
public sealed record RecipeSummary
{
    /// <summary>The options of the run.</summary>
    public RecipeOptions? Options { get; init; }
    /// <summary>Finished stages with their wall time and metrics.</summary>
    public IReadOnlyList<StageRecord> Stages { get; init; } = [];
    /// <summary>The eval table.</summary>
    public IReadOnlyList<EvalRow> Eval { get; init; } = [];
    /// <summary>Mean test reward of the SFT model minus the baseline's.</summary>
    public double RewardGain { get; init; }
    /// <summary>Protocol-valid turn share of the SFT model minus the baseline's (percentage points).</summary>
    public double ProtocolValidGain { get; init; }

    /// <summary>Reads <c>summary.json</c> of a run directory.</summary>
    public static RecipeSummary Read(string outDir) =>
        JsonSerializer.Deserialize<RecipeSummary>(File.ReadAllText(new RecipePaths(Path.GetFullPath(outDir)).Summary), Recipe.Json)
        ?? throw new InvalidDataException("empty summary");

    /// <summary>The eval table as fixed-width text.</summary>
    public string FormatTable()
    {
        var sb = new StringBuilder();
        sb.AppendLine($"{"model",-9} {"group",-14} {"n",3} {"reward",7} {"answered",9} {"valid",7} {"turns",6}");
        foreach (var r in Eval)
            sb.AppendLine(string.Create(CultureInfo.InvariantCulture,
                $"{r.Model,-9} {r.Group,-14} {r.N,3} {r.MeanReward,7:0.000} {r.AnsweredPct,8:0.0}% {r.ProtocolValidPct,6:0.0}% {r.MeanTurns,6:0.0}"));
        return sb.ToString();
    }
}

/// <summary>
/// Stage 6: the pretrain-only model (baseline) and the SFT model run as agents (through <see cref="AgentViewChatClient"/>)
/// with the real tools on the test split and a few train tasks; each episode is scored with its task's reward (the
/// rubric tree on the final answer, plus QUEST's citation part where the task needs it). Rollouts resume per episode.
/// </summary>
public static class RecipeEval
{
    /// <summary>The models compared: name and stage directory.</summary>
    public static IReadOnlyList<(string Name, string Dir)> Models(RecipePaths p) => [("baseline", p.Pretrain), ("sft", p.Sft)];

    /// <summary>The tasks the eval rolls out: the first test tasks, then the first train tasks.</summary>
    public static IReadOnlyList<SynthTask> Tasks(RecipeOptions o, RecipePaths p)
    {
        var all = TaskFile.Read(p.Tasks);
        var test = all.Where(t => t.Split == "test");
        if (o.EvalTestTasks > 0) test = test.Take(o.EvalTestTasks);
        return [.. test, .. all.Where(t => t.Split == "train").Take(o.EvalTrainTasks)];
    }

    internal static async Task<Dictionary<string, double>> RunAsync(Recipe.StageContext c, CancellationToken ct)
    {
        var o = c.Options;
        var tasks = Tasks(o, c.Paths);
        var byId = tasks.ToDictionary(t => t.Id);
        using var sc = SynthCorpus.Load(c.Paths.World);
        var reward = new Synthesizer(sc.Graph).Verifier.Reward;
        var scorer = new DelegateScorer(async (rt, traj, token) =>
        {
            var r = await reward(byId[rt.Id], OracleTeacher.Transcript(traj), token).ConfigureAwait(false);
            return new EpisodeScore(r.Total, JsonSerializer.SerializeToNode(r, Recipe.Json));
        });
        var rollout = tasks.Select(t => new RolloutTask { Id = t.Id, Question = t.Question, Answer = t.Answer, Aliases = t.Aliases }).ToList();
        var tools = sc.Tools();
        var m = new Dictionary<string, double> { ["tasks"] = tasks.Count };
        foreach (var (name, dir) in Models(c.Paths))
        {
            var loaded = Checkpoint.Load(dir, TorchRuntime.ResolveDevice(o.Device));
            using var client = new AgentViewChatClient(new LocalChatClient(loaded.Model, loaded.Tokenizer)
            {
                Defaults = new GenerationOptions { Temperature = o.EvalTemperature, TopP = 1, MaxNewTokens = o.EvalMaxNewTokens, Seed = o.Seed },
                ModelId = name,
            });
            var agent = new ResearchAgent(client, tools, new AgentOptions
            {
                MaxTurns = o.EvalMaxTurns, MaxTokensPerTurn = o.EvalMaxNewTokens, MaxContextTokens = 1 << 20, MaxInvalidTurns = 3,
                Temperature = (float)o.EvalTemperature, TopP = 1f, PresencePenalty = null, Date = o.Date, ModelId = name,
                Context = new ContextOptions { Enabled = false },
            }, tokenCounter: loaded.Tokenizer);
            var runner = new RolloutRunner(agent, scorer);
            var summary = await runner.RunAsync(rollout, new RolloutOptions { OutDir = Path.Combine(c.Paths.Eval, name), Resume = true },
                pr => c.Progress($"{name,-8} episode {pr.Done + pr.Skipped}/{pr.Total + pr.Skipped} {byId[pr.Last.TaskId].Family,-10} {pr.Last.Termination,-13} reward {pr.Last.Reward ?? 0:0.000} turns {pr.Last.Rounds}", null),
                ct).ConfigureAwait(false);
            if (summary.Cancelled) throw new OperationCanceledException(ct);
            var rows = Rows(name, RolloutRunner.ReadTrajectories(summary.OutFile), byId);
            var allTest = rows.First(r => r.Group == "all test");
            m[$"{name}_reward"] = Math.Round(allTest.MeanReward, 4);
            m[$"{name}_answered_pct"] = Math.Round(allTest.AnsweredPct, 1);
            m[$"{name}_valid_pct"] = Math.Round(allTest.ProtocolValidPct, 1);
        }
        return m;
    }

    /// <summary>The table rows of one model's trajectories: one per test family, "all test", and "train (seen)".</summary>
    public static List<EvalRow> Rows(string model, IReadOnlyList<Trajectory> trajectories, IReadOnlyDictionary<string, SynthTask> tasks)
    {
        var known = trajectories.Where(t => tasks.ContainsKey(t.TaskId)).ToList();
        var test = known.Where(t => tasks[t.TaskId].Split == "test").ToList();
        var rows = test.GroupBy(t => tasks[t.TaskId].Family).OrderBy(g => g.Key, StringComparer.Ordinal).Select(g => Row(model, g.Key, g.ToList())).ToList();
        rows.Add(Row(model, "all test", test));
        var train = known.Where(t => tasks[t.TaskId].Split == "train").ToList();
        if (train.Count > 0) rows.Add(Row(model, "train (seen)", train));
        return rows;
    }

    private static EvalRow Row(string model, string group, List<Trajectory> ts)
    {
        int turns = ts.Sum(t => t.Turns.Count);
        int valid = ts.Sum(t => t.Turns.Count(x => x.Kind is "answer" or "tool_call"));
        return new EvalRow
        {
            Model = model, Group = group, N = ts.Count,
            MeanReward = ts.Count == 0 ? 0 : ts.Average(t => t.Reward ?? 0),
            AnsweredPct = ts.Count == 0 ? 0 : 100.0 * ts.Count(t => !string.IsNullOrWhiteSpace(t.Prediction)) / ts.Count,
            ProtocolValidPct = turns == 0 ? 0 : 100.0 * valid / turns,
            MeanTurns = ts.Count == 0 ? 0 : ts.Average(t => (double)t.Rounds),
        };
    }

    /// <summary>Writes <c>summary.json</c> from the stage markers and the eval rollouts on disk.</summary>
    internal static RecipeSummary WriteSummary(Recipe.StageContext c)
    {
        var byId = Tasks(c.Options, c.Paths).ToDictionary(t => t.Id);
        var rows = new List<EvalRow>();
        foreach (var (name, _) in Models(c.Paths))
            rows.AddRange(Rows(name, RolloutRunner.ReadTrajectories(Path.Combine(c.Paths.Eval, name, RolloutRunner.TrajectoriesFile)), byId));
        EvalRow? Get(string model) => rows.FirstOrDefault(r => r.Model == model && r.Group == "all test");
        var summary = new RecipeSummary
        {
            Options = c.Options, Stages = Recipe.Completed(c.Paths.Root), Eval = rows,
            RewardGain = (Get("sft")?.MeanReward ?? 0) - (Get("baseline")?.MeanReward ?? 0),
            ProtocolValidGain = (Get("sft")?.ProtocolValidPct ?? 0) - (Get("baseline")?.ProtocolValidPct ?? 0),
        };
        Quest.Core.AtomicFile.WriteAllText(c.Paths.Summary, JsonSerializer.Serialize(summary, Recipe.Json));
        return summary;
    }
}
