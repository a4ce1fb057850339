using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Text.Json;
using System.Text.Json.Serialization;
using Quest.Eval;
using Quest.Agent;
using Quest.Agent.Context;
using Quest.Core;
using Quest.Models.Checkpoints;
using Quest.Models.Generation;
using Quest.Models.Runtime;
using Quest.Models.Training;
using Quest.Synthesis;
using Quest.Synthesis.Rewards;
using Quest.Synthesis.Teacher;

namespace Quest.Recipe;

/// <summary>
/// Settings of the RL stage (<c>quest train rl</c>, the recipe's <c>rl</c> stage). QUEST's values where they apply
/// (group of 8, clip 0.2/0.28, no KL, 3 invalid turns end a rollout with reward 0); sizes for a 2-core laptop.
/// </summary>
public sealed record RlOptions
{
    /// <summary>RL steps (one rollout batch and one policy update each); the recipe sets its own (<c>RecipeOptions.RlSteps</c>).</summary>
    public int Steps { get; init; } = 90;
    /// <summary>Tasks (prompts) per step.</summary>
    public int PromptsPerStep { get; init; } = 8;
    /// <summary>Rollouts per task (QUEST: n = 8).</summary>
    public int GroupSize { get; init; } = 8;
    /// <summary>Model calls per rollout.</summary>
    public int MaxTurns { get; init; } = 6;
    /// <summary>Tokens per model call.</summary>
    public int MaxNewTokens { get; init; } = 128;
    /// <summary>
    /// Rollout sampling temperature, and the temperature of the policy the update optimises (<see cref="GrpoOptions.Temperature"/>
    /// is set to it): QUEST's 1.0 optimises the sampled policy; lower values optimise a policy closer to the greedy one
    /// the evaluation runs.
    /// </summary>
    public double Temperature { get; init; } = 1.0;
    /// <summary>Settings of the policy update (learning rate, clip, mini-batches; <see cref="GrpoOptions"/>).</summary>
    public GrpoOptions Grpo { get; init; } = new();
    /// <summary>Which policy update runs (<see cref="PolicyUpdates"/>): <c>ppo_clip</c> (QUEST's) or <c>rft</c>
    /// (rejection-sampling fine-tuning on the rollouts with advantage &gt; 0).</summary>
    public string Update { get; init; } = "ppo_clip";
    /// <summary>
    /// How rewards become advantages (<see cref="AdvantageEstimators"/>): <c>grpo</c> (QUEST's; divided by the group's σ
    /// when <see cref="GrpoOptions.ScaleByStd"/>), <c>rloo</c>, <c>reinforce</c> (the batch mean as baseline) or <c>scst</c>
    /// (the reward of one greedy rollout per task, rolled out beside the group: <see cref="GreedyBaselineAdvantage"/>).
    /// </summary>
    public string Advantage { get; init; } = "grpo";
    /// <summary>
    /// Share of each step's groups the update trains on: the groups with the largest spread of rewards (standard
    /// deviation), as RAGEN keeps the quarter of its groups with the largest σ; 1 trains on every group with signal
    /// (QUEST's). Under advantages r − group mean a group's gradient grows with its spread, so the groups left out add
    /// least to the update and cost as much as any other.
    /// </summary>
    public double KeepGroups { get; init; } = 1.0;
    /// <summary>Linear warm-up steps to the peak learning rate (QUEST: 5); constant after.</summary>
    public int WarmupSteps { get; init; } = 2;
    /// <summary>Write a resumable checkpoint every N steps (and at the end).</summary>
    public int CheckpointEvery { get; init; } = 5;
    /// <summary>Stage directory (checkpoints, metrics); null keeps everything in memory.</summary>
    public string? OutputDir { get; init; }
    /// <summary>Seed of the task order and of the rollouts' sampling (torch's generator is seeded from it and the step at
    /// the start of every step, so runs with different seeds draw different samples and a resumed run continues as the
    /// uninterrupted one would have, up to the order in which concurrent rollouts join a decode batch).</summary>
    public long Seed { get; init; } = 1;
    /// <summary>Device: auto, cpu, cuda.</summary>
    public string Device { get; init; } = "auto";
    /// <summary>Date in the agent's system prompt.</summary>
    public DateOnly Date { get; init; } = new(2026, 1, 1);

    /// <summary>Throws <see cref="QuestInputException"/> naming the first bad field.</summary>
    public RlOptions Validate(string? source = null)
    {
        void Need(bool ok, string what, string expected) { if (!ok) throw new QuestInputException(source ?? "rl options", null, null, what, expected); }
        Need(Steps > 0, $"steps {Steps}", "> 0");
        Need(PromptsPerStep > 0, $"prompts_per_step {PromptsPerStep}", "> 0");
        Need(GroupSize >= 2, $"group_size {GroupSize}", "at least 2 (advantages are relative to the group)");
        Need(MaxTurns > 0 && MaxNewTokens > 0, "max_turns / max_new_tokens", "> 0");
        Need(double.IsFinite(Temperature) && Temperature > 0, $"temperature {Temperature}", "a finite temperature > 0 (RL samples)");
        Need(KeepGroups is > 0 and <= 1, $"keep_groups {KeepGroups}", "a share in (0, 1]");
        Need(double.IsFinite(Grpo.LearningRate) && Grpo.LearningRate > 0, $"learning_rate {Grpo.LearningRate}", "a finite rate > 0");
        Need(Grpo.ClipLow is > 0 and < 1 && Grpo.ClipHigh > 0, "clip", "0 < clip_low < 1, clip_high > 0");
        Need(Grpo.MiniBatches >= 1 && Grpo.MicroBatch >= 1, $"mini_batches {Grpo.MiniBatches}, micro_batch {Grpo.MicroBatch}", "at least 1");
        Need(PolicyUpdates.Names.Contains(Update), $"update '{Update}'", string.Join(", ", PolicyUpdates.Names));
        Need(AdvantageEstimators.Names.Contains(Advantage), $"advantage '{Advantage}'", string.Join(", ", AdvantageEstimators.Names));
        Need(Quest.Models.Transformer.Precision.IsKnown(Grpo.Precision), $"precision '{Grpo.Precision}'", Quest.Models.Transformer.Precision.Expected);
        return this;
    }
}

/// <summary>What one RL step did. <see cref="ToString"/> is the fixed-format progress line.</summary>
public sealed record RlStepReport
{
    /// <summary>1-based step.</summary>
    public int Step { get; init; }
    /// <summary>Steps of the stage.</summary>
    public int TotalSteps { get; init; }
    /// <summary>Mean reward over the step's rollouts.</summary>
    public double RewardMean { get; init; }
    /// <summary>Mean reward of the step's greedy rollouts (one per task; the policy the evaluation runs), when the advantage
    /// estimator rolls them out (<c>scst</c>); null otherwise.</summary>
    public double? GreedyRewardMean { get; init; }
    /// <summary>Share of groups with no signal, left out of the loss (rewards all equal; with <c>scst</c>, all equal to the greedy rollout's).</summary>
    public double ZeroVarianceShare { get; init; }
    /// <summary>Share of groups with at least one rollout at reward &gt; 0 (pass@group on this step's prompts).</summary>
    public double GroupsWithReward { get; init; }
    /// <summary>Share of model turns that were a well-formed tool call or an answer.</summary>
    public double ValidTurnRate { get; init; }
    /// <summary>Share of rollouts that gave a final answer.</summary>
    public double AnswerRate { get; init; }
    /// <summary>Tokens the policy generated this step.</summary>
    public long TokensGenerated { get; init; }
    /// <summary>Mean gradient norm before clipping.</summary>
    public double GradNorm { get; init; }
    /// <summary>The update's own measures by name (<see cref="PolicyUpdateReport.Metrics"/>; PPO clip: entropy, clip_fraction).</summary>
    public Dictionary<string, double> Update { get; init; } = [];
    /// <summary>Learning rate.</summary>
    public double LearningRate { get; init; }
    /// <summary>Rows trained on (model calls of rollouts in groups with signal).</summary>
    public int Rows { get; init; }
    /// <summary>Groups the update trained on (<see cref="RlOptions.KeepGroups"/>: those with the largest reward spread).</summary>
    public int GroupsKept { get; init; }
    /// <summary>Groups rolled out this step.</summary>
    public int Groups { get; init; }
    /// <summary>Seconds spent rolling out.</summary>
    public double RolloutSeconds { get; init; }
    /// <summary>Seconds spent in the update.</summary>
    public double UpdateSeconds { get; init; }
    /// <summary>Checkpoint directory when one was written at this step.</summary>
    public string? Checkpoint { get; init; }

    /// <summary><c>rl step  3/30 reward 0.125 zero_var 0.50 valid 0.81 answer 0.44 gen_tok 12345 gnorm 0.456 entropy 1.234 clip_fraction 0.012 lr 3.0e-04 rollout_s 12.3 update_s 4.5 kept 4/8</c>
    /// (with <c>scst</c>, <c>greedy 0.100</c> follows the reward: the greedy rollouts' mean).</summary>
    public override string ToString()
    {
        var w = TotalSteps.ToString().Length;
        var s = FormattableString.Invariant(
            $"rl step {Step.ToString().PadLeft(w)}/{TotalSteps} reward {RewardMean:0.000}{(GreedyRewardMean is double gr ? FormattableString.Invariant($" greedy {gr:0.000}") : "")} zero_var {ZeroVarianceShare:0.00} valid {ValidTurnRate:0.00} answer {AnswerRate:0.00} gen_tok {TokensGenerated,6} gnorm {GradNorm:0.000}{string.Concat(Update.Select(kv => FormattableString.Invariant($" {kv.Key} {kv.Value:0.000}")))} lr {LearningRate:0.0e+00} rollout_s {RolloutSeconds,5:0.0} update_s {UpdateSeconds,5:0.0} kept {GroupsKept}/{Groups}");
        return Checkpoint is null ? s : s + " ckpt " + Checkpoint;
    }
}

/// <summary>One GRPO group: the rollouts of one task, with their rewards and the token ids each model call produced.</summary>
/// <param name="Task">The task.</param>
/// <param name="Trajectories">The rollouts.</param>
/// <param name="Turns">Per rollout, the generated turns (prompt ids, token ids, log-probs) in order.</param>
/// <param name="Rewards">Per rollout, its reward (0 when it ended on invalid turns).</param>
/// <param name="GreedyReward">The reward of one greedy rollout of the task beside the group (the policy the evaluation runs),
/// when the advantage estimator asks for it (<see cref="IAdvantageEstimator.NeedsGreedyRollout"/>); it is a baseline, not trained on.</param>
public sealed record RolloutGroup(SynthTask Task, IReadOnlyList<Trajectory> Trajectories, IReadOnlyList<IReadOnlyList<GeneratedTurn>> Turns, IReadOnlyList<double> Rewards,
    double? GreedyReward = null);

/// <summary>
/// The RL stage: GRPO over the agent's own rollouts through the real agent loop and tools. Each step samples
/// <see cref="RlOptions.PromptsPerStep"/> train tasks, rolls each out <see cref="RlOptions.GroupSize"/> times (all
/// rollouts of the step run concurrently and are decoded in one batch per turn), scores each with the task's reward,
/// computes group-relative advantages, and updates the policy on exactly the token ids it generated (prompt and tool
/// output tokens masked). Resumable: a checkpoint holds model, optimizer, step and metrics.
/// </summary>
/// <remarks>
/// Departures from QUEST, and why: (1) a training row is one model call, not one context session: the small model's
/// view re-windows the episode at every turn, so each call has its own prompt (each QUEST session likewise has its own
/// prompt and shares the rollout's reward and group id). (2) Synchronous on-policy batches, not verl's fully async
/// pipeline with staleness 0.5. (3) The learning rate is a tiny model's (1e-4 order), not 1e-6. (4) The context manager
/// is off: the question-plus-recent view is this model's context strategy.
/// </remarks>
public sealed class RlTrainer
{
    /// <summary>JSON of trainer_state.json and metrics (snake_case, as every file the kit writes).</summary>
    public static JsonSerializerOptions Json => JsonFiles.Compact;

    private readonly List<RlStepReport> _history = [];
    private readonly IReadOnlyList<SynthTask> _tasks;
    private readonly Func<SynthTask, (IReadOnlyList<ITool> Tools, RewardFunction Reward)> _worldOf;
    private readonly int _startStep;

    private RlTrainer(LoadedModel model, IReadOnlyList<SynthTask> tasks, Func<SynthTask, (IReadOnlyList<ITool>, RewardFunction)> worldOf, RlOptions options, int startStep)
    {
        Loaded = model; _tasks = tasks; _worldOf = worldOf; Options = options; _startStep = startStep;
        if (tasks.Count == 0) throw new QuestInputException(null, null, null, "no tasks to train on", "at least one train task");
    }

    /// <summary>The policy being trained (and its tokenizer).</summary>
    public LoadedModel Loaded { get; }
    /// <summary>The options.</summary>
    public RlOptions Options { get; }
    /// <summary>Every step report so far (a resumed run includes the earlier ones).</summary>
    public IReadOnlyList<RlStepReport> History => _history;

    /// <summary>
    /// A trainer that starts from <paramref name="initDir"/> (the SFT checkpoint), or resumes from the options' output
    /// directory when it holds an RL trainer state.
    /// </summary>
    public static RlTrainer Create(string initDir, IReadOnlyList<SynthTask> tasks, IReadOnlyList<ITool> tools, RewardFunction reward, RlOptions options) =>
        Create(initDir, tasks, _ => (tools, reward), options);

    /// <summary>As <see cref="Create(string, IReadOnlyList{SynthTask}, IReadOnlyList{ITool}, RewardFunction, RlOptions)"/>, each task rolled out with its own world's tools and reward (<paramref name="worldOf"/>).</summary>
    public static RlTrainer Create(string initDir, IReadOnlyList<SynthTask> tasks, Func<SynthTask, (IReadOnlyList<ITool> Tools, RewardFunction Reward)> worldOf, RlOptions options)
    {
        options.Validate();
        var device = TorchRuntime.ResolveDevice(options.Device);
        var state = options.OutputDir is null ? null : Path.Combine(options.OutputDir, Checkpoint.TrainerStateFile);
        if (state is not null && File.Exists(state))
        {
            var loaded = Checkpoint.Load(options.OutputDir!, device);
            TrainerState st;
            try { st = JsonSerializer.Deserialize<TrainerState>(File.ReadAllText(state), Trainer.Json) ?? throw new JsonException("null"); }
            catch (JsonException ex) { throw new QuestInputException(state, null, null, $"invalid trainer state: {Quest.Core.JsonFiles.Describe(ex)}", "trainer_state.json written by the RL stage", ex); }
            var t = new RlTrainer(loaded, tasks, worldOf, options, st.Step);
            var metrics = Path.Combine(options.OutputDir!, Checkpoint.MetricsFile);
            if (File.Exists(metrics)) t._history.AddRange(Jsonl.Read<RlStepReport>(metrics, tolerateTornTail: true, Json));
            return t;
        }
        return new RlTrainer(Checkpoint.Load(initDir, device), tasks, worldOf, options, 0);
    }

    /// <summary>
    /// Rolls out every task <paramref name="groupSize"/> times, all rollouts concurrently through one
    /// <see cref="GenerationBatcher"/>, and scores them (a rollout that ended on invalid turns gets 0, as in QUEST RL).
    /// </summary>
    public static Task<IReadOnlyList<RolloutGroup>> RolloutGroupsAsync(LoadedModel model, IReadOnlyList<SynthTask> tasks, int groupSize,
        IReadOnlyList<ITool> tools, RewardFunction reward, AgentOptions agentOptions, CancellationToken ct = default, Action<GenerationStats>? generation = null,
        bool greedyBaseline = false) =>
        RolloutGroupsAsync(model, tasks, groupSize, _ => (tools, reward), agentOptions, ct, generation, greedyBaseline: greedyBaseline);

    /// <summary>
    /// As the overload above, each task rolled out with its own world's tools and reward (<paramref name="worldOf"/>).
    /// With <paramref name="greedyBaseline"/>, each task also gets one greedy rollout (temperature 0), decoded in the same
    /// batches as the group, whose reward is the group's <see cref="RolloutGroup.GreedyReward"/>.
    /// </summary>
    public static async Task<IReadOnlyList<RolloutGroup>> RolloutGroupsAsync(LoadedModel model, IReadOnlyList<SynthTask> tasks, int groupSize,
        Func<SynthTask, (IReadOnlyList<ITool> Tools, RewardFunction Reward)> worldOf, AgentOptions agentOptions, CancellationToken ct = default, Action<GenerationStats>? generation = null,
        bool prefillUnmaskedRuns = false, bool reusePrefixes = true, bool greedyBaseline = false)
    {
        int perTask = groupSize + (greedyBaseline ? 1 : 0);
        using var client = LocalChatClient.Batched(model.Model, model.Tokenizer,
            new GenerationOptions { Temperature = agentOptions.Temperature ?? 1, TopP = 1, MaxNewTokens = agentOptions.MaxTokensPerTurn, PrefillUnmaskedRuns = prefillUnmaskedRuns, ReusePrefixes = reusePrefixes },
            tasks.Count * perTask, agentOptions.ModelId ?? "policy");
        var greedyOptions = agentOptions with { Temperature = 0 };
        // every episode joins the batcher before the first asks, so each turn of all of them is decoded as one batch;
        // the greedy rollout is seat K = groupSize
        var seats = tasks.SelectMany(t => Enumerable.Range(0, perTask).Select(k => (Task: t, K: k, Seat: client.Batcher!.Join()))).ToList();
        var jobs = seats.Select(async job =>
        {
            var rec = new TurnRecorder(client);
            var (tools, reward) = worldOf(job.Task);
            var agent = new ResearchAgent(rec, tools, job.K < groupSize ? agentOptions : greedyOptions, tokenCounter: model.Tokenizer);
            Trajectory traj;
            using (job.Seat) traj = await agent.RunAsync(job.Task.Question, new EpisodeInfo(job.Task.Id, job.K, job.Task.Answer), cancellationToken: ct).ConfigureAwait(false);
            double r = (await TaskRewardScorer.RewardAsync(job.Task, traj, reward, ct).ConfigureAwait(false))?.Total ?? 0;
            traj.Reward = r;
            return (job.Task, job.K, traj, rec.Turns, r);
        }).ToList();
        var done = await Task.WhenAll(jobs).ConfigureAwait(false);
        ct.ThrowIfCancellationRequested();
        generation?.Invoke(client.Batcher!.Generator.Stats);
        return done.GroupBy(d => d.Task.Id).Select(g =>
        {
            var sampled = g.Where(x => x.K < groupSize).ToList();
            double? greedy = g.Where(x => x.K == groupSize).Select(x => (double?)x.r).FirstOrDefault();
            return new RolloutGroup(g.First().Task, sampled.Select(x => x.traj).ToList(), sampled.Select(x => x.Turns).ToList(), sampled.Select(x => x.r).ToList(), greedy);
        }).ToList();
    }

    /// <summary>Training rows of rollout groups: one per model call, each with its rollout's advantage from <paramref name="estimator"/>.</summary>
    public static (List<RlSample> Rows, GroupAdvantages Advantages) Rows(IReadOnlyList<RolloutGroup> groups, IAdvantageEstimator estimator)
    {
        var rewards = groups.SelectMany(g => g.Rewards).ToList();
        var ids = groups.SelectMany(g => g.Rewards.Select(_ => g.Task.Id)).ToList();
        var adv = estimator.NeedsGreedyRollout
            ? estimator.Compute(rewards, ids, groups.Where(g => g.GreedyReward is not null).ToDictionary(g => g.Task.Id, g => g.GreedyReward!.Value))   // the estimator names a group without one
            : estimator.Compute(rewards, ids);
        var rows = new List<RlSample>();
        int i = 0;
        foreach (var g in groups)
            foreach (var turns in g.Turns)
            {
                double a = adv.Values[i++];
                foreach (var t in turns.Where(t => t.TokenIds.Length > 0))
                    rows.Add(new RlSample(t.PromptIds, t.TokenIds, t.Logprobs, a, g.Task.Id));
            }
        return (rows, adv);
    }

    /// <summary>Runs the stage, one report per step. Cancelling stops between steps (a checkpoint is written first).</summary>
    public async IAsyncEnumerable<RlStepReport> RunAsync([EnumeratorCancellation] CancellationToken ct = default)
    {
        var o = Options;
        using var updater = PolicyUpdates.Create(o.Update, Loaded.Model, o.Grpo with { Temperature = o.Temperature });
        var estimator = AdvantageEstimators.Create(o.Advantage, o.Grpo.ScaleByStd);
        if (_startStep > 0) updater.LoadState(Path.Combine(o.OutputDir!, Checkpoint.OptimizerFile));
        int pad = Math.Max(0, Loaded.Tokenizer.EndOfTextId);
        var agentOptions = Evaluation.AgentOptionsFor(o.MaxTurns, o.MaxNewTokens, o.Temperature, o.Date, "rl");
        for (int step = _startStep + 1; step <= o.Steps; step++)
        {
            if (ct.IsCancellationRequested)
            {
                if (o.OutputDir is not null && step - 1 > _startStep) Save(updater, step - 1);
                ct.ThrowIfCancellationRequested();
            }
            var sw = Stopwatch.StartNew();
            TorchSharp.torch.manual_seed(o.Seed * 1_000_003 + step);
            var tasks = TasksFor(step);
            IReadOnlyList<RolloutGroup> groups;
            try { groups = await RolloutGroupsAsync(Loaded, tasks, o.GroupSize, _worldOf, agentOptions, ct, greedyBaseline: estimator.NeedsGreedyRollout).ConfigureAwait(false); }
            catch (OperationCanceledException)
            {
                if (o.OutputDir is not null && step - 1 > _startStep) Save(updater, step - 1);
                throw;
            }
            double rolloutS = sw.Elapsed.TotalSeconds;
            sw.Restart();
            var (rows, adv) = Rows(groups, estimator);
            var kept = KeptGroups(groups, o.KeepGroups);
            if (kept.Count < groups.Count) rows = rows.Where(r => kept.Contains(r.GroupId)).ToList();
            double lr = o.Grpo.LearningRate * (o.WarmupSteps > 0 ? Math.Min(1.0, (double)step / o.WarmupSteps) : 1.0);
            var u = updater.Update(rows, lr, pad, o.Seed * 1_000_003 + step);
            var trajs = groups.SelectMany(g => g.Trajectories).ToList();
            int turns = trajs.Sum(t => t.Turns.Count);
            var report = new RlStepReport
            {
                Step = step, TotalSteps = o.Steps,
                RewardMean = groups.SelectMany(g => g.Rewards).Average(),
                GreedyRewardMean = estimator.NeedsGreedyRollout ? groups.Average(g => g.GreedyReward ?? 0) : null,
                ZeroVarianceShare = adv.Groups == 0 ? 0 : (double)adv.ZeroVarianceGroups / adv.Groups,
                GroupsWithReward = groups.Count(g => g.Rewards.Any(r => r > 0)) / (double)groups.Count,
                ValidTurnRate = turns == 0 ? 0 : trajs.Sum(t => t.Turns.Count(x => x.Kind is "answer" or "tool_call")) / (double)turns,
                AnswerRate = trajs.Count(t => !string.IsNullOrWhiteSpace(t.Prediction)) / (double)trajs.Count,
                TokensGenerated = groups.SelectMany(g => g.Turns).SelectMany(x => x).Sum(t => (long)t.TokenIds.Length),
                GradNorm = u.GradNorm, Update = new(u.Metrics), LearningRate = lr, Rows = u.Rows, GroupsKept = groups.Count(g => kept.Contains(g.Task.Id) && Spread(g) > 0), Groups = groups.Count,
                RolloutSeconds = rolloutS, UpdateSeconds = sw.Elapsed.TotalSeconds,
            };
            _history.Add(report);
            if (o.OutputDir is not null && ((o.CheckpointEvery > 0 && step % o.CheckpointEvery == 0) || step == o.Steps))
            {
                report = report with { Checkpoint = o.OutputDir };
                _history[^1] = report;
                Save(updater, step);
            }
            yield return report;
        }
    }

    /// <summary>
    /// The task ids of the groups an update trains on: the ⌈<paramref name="share"/> · groups⌉ with the largest
    /// <see cref="Spread"/> (ties in rollout order); every group at share 1.
    /// </summary>
    public static HashSet<string> KeptGroups(IReadOnlyList<RolloutGroup> groups, double share)
    {
        int n = Math.Clamp((int)Math.Ceiling(share * groups.Count - 1e-9), 1, groups.Count);
        return groups.Select((g, i) => (g.Task.Id, S: Spread(g), i)).OrderByDescending(x => x.S).ThenBy(x => x.i).Take(n).Select(x => x.Id).ToHashSet();
    }

    /// <summary>
    /// How far a group's rewards lie from its baseline, root mean square: from the group's greedy reward when it has one
    /// (<see cref="RolloutGroup.GreedyReward"/>), else from the group mean (the rewards' standard deviation). 0: no signal.
    /// </summary>
    public static double Spread(RolloutGroup g)
    {
        double b = g.GreedyReward ?? g.Rewards.Average();
        double s = Math.Sqrt(g.Rewards.Average(x => (x - b) * (x - b)));
        return s < 1e-9 ? 0 : s;
    }

    /// <summary>The tasks of one step: a seeded shuffle of the train tasks, taken in turn (every task once per epoch).</summary>
    public IReadOnlyList<SynthTask> TasksFor(int step)
    {
        int per = Math.Min(Options.PromptsPerStep, _tasks.Count);
        long first = (long)(step - 1) * per;
        var list = new List<SynthTask>();
        for (long i = first; i < first + per; i++)
        {
            int epoch = (int)(i / _tasks.Count);
            var rng = new Random((int)((Options.Seed * 7919 + epoch) & 0x7FFFFFFF));
            var order = Enumerable.Range(0, _tasks.Count).OrderBy(_ => rng.Next()).ToArray();
            list.Add(_tasks[order[i % _tasks.Count]]);
        }
        return list.DistinctBy(t => t.Id).ToList();
    }

    private void Save(IPolicyUpdate updater, int step)
    {
        Checkpoint.Save(Options.OutputDir!, Loaded.Model, Loaded.Tokenizer, tmp =>
        {
            updater.SaveState(Path.Combine(tmp, Checkpoint.OptimizerFile));
            File.WriteAllText(Path.Combine(tmp, Checkpoint.TrainerStateFile), JsonSerializer.Serialize(new TrainerState { Stage = "rl", Step = step }, Trainer.Json));
            using var w = new StreamWriter(Path.Combine(tmp, Checkpoint.MetricsFile));
            foreach (var r in _history.Where(r => r.Step <= step)) w.WriteLine(JsonSerializer.Serialize(r, Json));
        });
    }
}
