using System.Diagnostics;
using System.Globalization;
using System.Runtime.CompilerServices;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Threading.Channels;
using Quest.Agent.Rollout;
using Quest.Core;
using Quest.Models.Checkpoints;
using Quest.Models.Generation;
using Quest.Models.Runtime;
using Quest.Models.Tokenization;
using Quest.Models.Training;
using Quest.Models.Transformer;
using Quest.Synthesis;
using Quest.Synthesis.Export;
using Quest.Synthesis.Teacher;
using Quest.World;
using Quest.World.Corpus;
using Quest.World.Generation;
using Quest.World.Tools;

namespace Quest.Recipe;

/// <summary>Where a recipe run keeps its files (all under <see cref="Root"/>).</summary>
/// <param name="Root">The run directory.</param>
public sealed record RecipePaths(string Root)
{
    /// <summary>The options the run was started with.</summary>
    public string OptionsFile => Path.Combine(Root, "recipe.json");
    /// <summary>Stage completion markers (<c>stages/NAME.json</c>: wall time and metrics).</summary>
    public string Stages => Path.Combine(Root, "stages");
    /// <summary>The stored world corpus (pages, manifest, BM25 index).</summary>
    public string World => Path.Combine(Root, "world");
    /// <summary>Verified tasks (JSONL, train and test split).</summary>
    public string Tasks => Path.Combine(Root, "tasks.jsonl");
    /// <summary>Teacher outputs.</summary>
    public string Teacher => Path.Combine(Root, "teacher");
    /// <summary>Teacher trajectories (one agent trajectory per line, reward set).</summary>
    public string TeacherTrajectories => Path.Combine(Teacher, "trajectories.jsonl");
    /// <summary>SFT transcripts in the format <c>quest train sft</c> reads (<c>{"messages":[…]}</c> per line, one per session).</summary>
    public string SftTranscripts => Path.Combine(Teacher, "sft.jsonl");
    /// <summary>The same transcripts as LlamaFactory ShareGPT.</summary>
    public string ShareGpt => Path.Combine(Teacher, "sharegpt.json");
    /// <summary>Mid-training documents (<c>{"text":…}</c> per line).</summary>
    public string PretrainDocs => Path.Combine(Root, "pretrain-data.jsonl");
    /// <summary>The BPE tokenizer.</summary>
    public string Tokenizer => Path.Combine(Root, "tokenizer");
    /// <summary>The copy phase that opens mid-training (its checkpoint).</summary>
    public string CopyPhase => Path.Combine(Root, "pretrain-copy");
    /// <summary>The pretrained (mid-trained) model stage directory; the eval baseline.</summary>
    public string Pretrain => Path.Combine(Root, "pretrain");
    /// <summary>The SFT model stage directory.</summary>
    public string Sft => Path.Combine(Root, "sft");
    /// <summary>The RL (GRPO) model stage directory.</summary>
    public string Rl => Path.Combine(Root, "rl");
    /// <summary>Eval rollouts on the held-out split (one sub-directory per model).</summary>
    public string Eval => Path.Combine(Root, "eval");
    /// <summary>The worlds mid-training reads instead of the task world (<see cref="RecipeOptions.PageWorlds"/>), one sub-directory each.</summary>
    public string PageWorlds => Path.Combine(Root, "page-worlds");
    /// <summary>The world of the copy probe's held-out drills when the run has page worlds (no stage trains on it).</summary>
    public string ProbeWorld => Path.Combine(Root, "probe-world");
    /// <summary>The fresh world: generated at eval time with a seed no stage used (pages, manifest, BM25 index).</summary>
    public string FreshWorld => Path.Combine(Root, "fresh-world");
    /// <summary>The fresh world's tasks (all in the test split).</summary>
    public string FreshTasks => Path.Combine(Root, "fresh-tasks.jsonl");
    /// <summary>Eval rollouts on the fresh world (one sub-directory per model).</summary>
    public string EvalFresh => Path.Combine(Root, "eval-fresh");
    /// <summary>The run summary (stage times, eval table).</summary>
    public string Summary => Path.Combine(Root, "summary.json");
    /// <summary>The marker of one stage.</summary>
    public string Marker(string stage) => Path.Combine(Stages, stage + ".json");
}

/// <summary>A finished stage as recorded in its marker.</summary>
public sealed record StageRecord
{
    /// <summary>Stage name.</summary>
    public string Stage { get; init; } = "";
    /// <summary>Wall time of the run that completed it (seconds; a resumed stage counts only its last run).</summary>
    public double Seconds { get; init; }
    /// <summary>When it completed (UTC).</summary>
    public DateTimeOffset CompletedAt { get; init; }
    /// <summary>The stage's numbers.</summary>
    public Dictionary<string, double> Metrics { get; init; } = [];
}

/// <summary>
/// The QUEST recipe at laptop scale, end to end: <b>world</b> (generated corpus + BM25 index) → <b>synth</b> (verified
/// tasks with rubric trees, train/test split) → <b>teacher</b> (oracle-teacher trajectories with the real tools, SFT
/// transcripts) → <b>pretrain</b> (BPE tokenizer + causal LM on pages and tool outputs) → <b>sft</b> (assistant-only
/// loss on the teacher's turns, through the model's agent view) → <b>rl</b> (GRPO over the agent's own rollouts) →
/// <b>eval</b> (the stage ablation: untrained, MT, MT+SFT, MT+SFT+RL as agents on the test split, scored by each
/// task's reward, with paired bootstrap intervals). Each stage is resumable and writes atomically; a finished stage
/// leaves a marker in <c>stages/</c> and is skipped on a re-run.
/// </summary>
public static class Recipe
{
    /// <summary>The stages, in order.</summary>
    public static readonly IReadOnlyList<string> StageNames = ["world", "synth", "teacher", "pretrain", "sft", "rl", "eval"];

    /// <summary>JSON of every file the recipe writes (snake_case, indented).</summary>
    public static JsonSerializerOptions Json => JsonFiles.Indented;

    /// <summary>Runs every stage (skipping finished ones), streaming events.</summary>
    public static IAsyncEnumerable<RecipeEvent> RunAsync(RecipeOptions options, CancellationToken ct = default) => RunAsync(options, null, ct);

    /// <summary>Runs the named stages (null: all) in recipe order, skipping finished ones, streaming events.</summary>
    public static async IAsyncEnumerable<RecipeEvent> RunAsync(RecipeOptions options, IReadOnlyCollection<string>? stages, [EnumeratorCancellation] CancellationToken ct = default)
    {
        options.Validate();
        if (stages is not null && stages.FirstOrDefault(s => !StageNames.Contains(s)) is { } bad)
            throw new QuestInputException("--stages", null, null, $"unknown stage '{bad}'", string.Join(", ", StageNames));
        var paths = new RecipePaths(Path.GetFullPath(options.OutDir));
        CheckOrWriteOptions(options, paths);
        var channel = Channel.CreateUnbounded<RecipeEvent>(new UnboundedChannelOptions { SingleReader = true });
        var run = Task.Run(async () =>
        {
            try
            {
                foreach (var stage in StageNames.Where(s => stages is null || stages.Contains(s)))
                    await RunStageAsync(stage, options, paths, e => channel.Writer.TryWrite(e), ct).ConfigureAwait(false);
            }
            finally { channel.Writer.TryComplete(); }
        }, CancellationToken.None);
        await foreach (var e in channel.Reader.ReadAllAsync(CancellationToken.None).ConfigureAwait(false)) yield return e;
        await run.ConfigureAwait(false);
    }

    /// <summary>The stage records of a run directory (finished stages only).</summary>
    public static IReadOnlyList<StageRecord> Completed(string outDir)
    {
        var p = new RecipePaths(Path.GetFullPath(outDir));
        return StageNames.Select(s => ReadMarker(p, s)).OfType<StageRecord>().ToList();
    }

    /// <summary>Whether a run directory holds a started recipe.</summary>
    public static bool Exists(string outDir) => File.Exists(new RecipePaths(Path.GetFullPath(outDir)).OptionsFile);

    private static void CheckOrWriteOptions(RecipeOptions o, RecipePaths p)
    {
        var mine = JsonSerializer.Serialize(o with { OutDir = "" }, Json);
        if (File.Exists(p.OptionsFile))
        {
            var theirs = File.ReadAllText(p.OptionsFile);
            try { JsonSerializer.Deserialize<RecipeOptions>(theirs, Json); }
            catch (JsonException ex)
            {
                throw new QuestInputException(p.OptionsFile, ex.LineNumber + 1, ex.BytePositionInLine + 1, $"recipe.json is damaged: {Quest.Core.JsonFiles.Describe(ex)}",
                    "the recipe.json quest recipe wrote (restore it, or start the run in another --out directory)", ex);
            }
            if (theirs != mine)
                throw new QuestInputException(p.OptionsFile, null, null, "this run directory was started with other recipe options (preset, seed or sizes)",
                    "the same options to resume, or another --out directory");
            return;
        }
        Directory.CreateDirectory(p.Root);
        AtomicFile.WriteAllText(p.OptionsFile, mine);
    }

    private static StageRecord? ReadMarker(RecipePaths p, string stage)
    {
        var f = p.Marker(stage);
        if (!File.Exists(f)) return null;
        try { return JsonSerializer.Deserialize<StageRecord>(File.ReadAllText(f), Json); }
        catch (JsonException) { return null; }   // a damaged marker means: run the stage again
    }

    private static async Task RunStageAsync(string stage, RecipeOptions o, RecipePaths p, Action<RecipeEvent> emit, CancellationToken ct)
    {
        ct.ThrowIfCancellationRequested();
        if (ReadMarker(p, stage) is { } done)
        {
            // summary.json is derived from the eval rollouts on disk: a missing or damaged one is written again
            if (stage == "eval" && !RecipeSummary.IsReadable(p)) RecipeEval.WriteSummary(new StageContext(o, p, (_, _) => { }));
            emit(new RecipeEvent(stage, RecipeEventKind.Skipped, "already complete", done.Metrics, done.Seconds));
            return;
        }
        var sw = Stopwatch.StartNew();
        emit(new RecipeEvent(stage, RecipeEventKind.Started, $"→ {p.Root}"));
        void Progress(string message, IReadOnlyDictionary<string, double>? m = null) =>
            emit(new RecipeEvent(stage, RecipeEventKind.Progress, message, m, sw.Elapsed.TotalSeconds));
        var ctx = new StageContext(o, p, Progress);
        Dictionary<string, double> metrics = stage switch
        {
            "world" => await WorldAsync(ctx, ct).ConfigureAwait(false),
            "synth" => await SynthAsync(ctx, ct).ConfigureAwait(false),
            "teacher" => await TeacherAsync(ctx, ct).ConfigureAwait(false),
            "pretrain" => await PretrainAsync(ctx, ct).ConfigureAwait(false),
            "sft" => await SftAsync(ctx, ct).ConfigureAwait(false),
            "rl" => await RlAsync(ctx, ct).ConfigureAwait(false),
            "eval" => await RecipeEval.RunAsync(ctx, ct).ConfigureAwait(false),
            _ => throw new ArgumentOutOfRangeException(nameof(stage)),
        };
        var record = new StageRecord { Stage = stage, Seconds = sw.Elapsed.TotalSeconds, CompletedAt = DateTimeOffset.UtcNow, Metrics = metrics };
        Directory.CreateDirectory(p.Stages);
        AtomicFile.WriteAllText(p.Marker(stage), JsonSerializer.Serialize(record, Json));
        if (stage == "eval") RecipeEval.WriteSummary(ctx);
        emit(new RecipeEvent(stage, RecipeEventKind.Finished, "done", metrics, record.Seconds));
    }

    /// <summary>What a stage function gets: options, paths and a progress sink.</summary>
    /// <param name="Options">The run's options.</param>
    /// <param name="Paths">The run's paths.</param>
    /// <param name="Progress">Emits one progress line (message, optional counters).</param>
    public sealed record StageContext(RecipeOptions Options, RecipePaths Paths, Action<string, IReadOnlyDictionary<string, double>?> Progress);

    // ------------------------------------------------------------------ 1. world

    /// <summary>Stage 1: generates the world and stores it with its BM25 index under <c>world/</c>.</summary>
    public static Task<Dictionary<string, double>> WorldAsync(StageContext c, CancellationToken ct)
    {
        var o = c.Options;
        var sw = Stopwatch.StartNew();
        var world = WorldGenerator.Generate(new WorldOptions { Seed = 41 + o.Seed, Pages = o.WorldPages, Name = "recipe-world" });
        double genS = sw.Elapsed.TotalSeconds;
        c.Progress($"generated {world.Corpus.Count} pages, {world.Corpus.LinkCount} links in {genS:0.0}s", null);
        ct.ThrowIfCancellationRequested();
        CorpusStore.Save(world.Corpus, c.Paths.World);
        sw.Restart();
        using (var sc = WorldEnvironment.Open(c.Paths.World)) _ = sc.Index;   // builds and persists the index
        c.Progress($"indexed in {sw.Elapsed.TotalSeconds:0.0}s", null);
        return Task.FromResult(new Dictionary<string, double>
        {
            ["pages"] = world.Corpus.Count, ["links"] = world.Corpus.LinkCount, ["generate_s"] = Math.Round(genS, 2), ["index_s"] = Math.Round(sw.Elapsed.TotalSeconds, 2),
        });
    }

    // ------------------------------------------------------------------ 2. synth

    /// <summary>Stage 2: synthesizes verified tasks (balanced families, train/test split by seed entity) into <c>tasks.jsonl</c>.</summary>
    public static async Task<Dictionary<string, double>> SynthAsync(StageContext c, CancellationToken ct)
    {
        var o = c.Options;
        using var sc = WorldEnvironment.Open(c.Paths.World);
        var synth = new Synthesizer(sc.Graph);
        var progress = new SyncProgress<SynthesisProgress>(pr => c.Progress(
            $"slot {pr.Done}/{pr.Total} {pr.Family,-10} accepted {pr.Accepted} candidates {pr.Candidates}", null));
        var classes = o.Complexities is { Count: > 0 } cs ? cs.Select(Quest.Synthesis.Families.Complexity.Parse).ToList() : null;
        var result = await synth.RunAsync(new SynthesisOptions { Count = o.Tasks, Seed = o.Seed, TestFraction = o.TestFraction, MaxAttemptsPerTask = o.MaxAttemptsPerTask, Classes = classes }, progress, ct).ConfigureAwait(false);
        int train = result.Tasks.Count(t => t.Split == "train"), test = result.Tasks.Count(t => t.Split == "test");
        if (train == 0 || test == 0)
            throw new QuestInputException(c.Paths.Tasks, null, null, $"synthesis gave {train} train and {test} test tasks", "both splits non-empty (more tasks, or another seed / test fraction)");
        TaskFile.Write(c.Paths.Tasks, result.Tasks);
        var m = new Dictionary<string, double>
        {
            ["tasks"] = result.Tasks.Count, ["train"] = train, ["test"] = test, ["candidates"] = result.Candidates, ["empty_slots"] = result.EmptySlots,
        };
        foreach (var g in result.Tasks.GroupBy(t => t.Family).OrderBy(g => g.Key, StringComparer.Ordinal)) m["family_" + g.Key] = g.Count();
        return m;
    }

    // ------------------------------------------------------------------ 3. teacher

    /// <summary>The agent's tools over a run's corpus, their output sized by the run's <see cref="RecipeOptions.ToolOutput"/>.</summary>
    public static IReadOnlyList<ITool> ToolsOf(RecipeOptions o, WorldEnvironment sc) => sc.ToolsSized(o.ToolOutput == "small" ? ToolSizes.SmallWindow : ToolSizes.Quest);

    /// <summary>
    /// Stage 3: the teacher solves every train task through the real agent loop and tools. With the <c>grounded</c>
    /// style (small windows) only trajectories whose every turn was grounded in the student's view and that scored 1.0
    /// become SFT transcripts; with <c>oracle</c>, every trajectory at 1.0. Writes <c>teacher/sft.jsonl</c> (one row per
    /// session), the trajectories and ShareGPT.
    /// </summary>
    public static async Task<Dictionary<string, double>> TeacherAsync(StageContext c, CancellationToken ct)
    {
        var o = c.Options;
        var tasks = TaskFile.Read(c.Paths.Tasks).Where(t => IsTaught(o, t)).ToList();
        using var sc = WorldEnvironment.Open(c.Paths.World);
        var synth = new Synthesizer(sc.Graph);
        var tools = ToolsOf(o, sc);
        var oracle = new OracleTeacher(tools, synth.Verifier.Reward, new TeacherOptions { ContextThreshold = o.TeacherContextThreshold, Date = o.Date });
        var grounded = new GroundedTeacher(tools, synth.Verifier.Reward, new GroundedTeacherOptions
        {
            Date = o.Date, ViewChars = o.TeacherViewChars, MaxTurnChars = o.EvalMaxNewTokens * 3,
        });
        var traj = new StringBuilder();
        var sft = new StringBuilder();
        var samples = new List<ShareGptSample>();
        var rewards = new List<double>();
        int solved = 0, kept = 0, sessions = 0, turns = 0, items = 0, visible = 0, gTurns = 0, gGrounded = 0;
        var keptBy = new Dictionary<string, int>();
        for (int i = 0; i < tasks.Count; i++)
        {
            ct.ThrowIfCancellationRequested();
            TeacherResult r;
            bool keep;
            string note = "";
            if (o.Teacher == "grounded")
            {
                var g = await grounded.SolveAsync(tasks[i], ct).ConfigureAwait(false);
                r = g.Result;
                items += g.Groundedness.Items; visible += g.Groundedness.VisibleItems;
                gTurns += g.Groundedness.Turns; gGrounded += g.Groundedness.GroundedTurns;
                keep = g.Groundedness.Complete;
                note = g.Groundedness.Complete ? " grounded" : $" not grounded: {string.Join("; ", g.Groundedness.Misses.Take(2))}";
            }
            else { r = await oracle.SolveAsync(tasks[i], ct).ConfigureAwait(false); keep = true; }
            rewards.Add(r.Reward.Total);
            c.Progress($"task {i + 1}/{tasks.Count} {tasks[i].Family,-10} reward {r.Reward.Total:0.000} turns {r.Trajectory.Rounds}{note}", null);
            // objective tasks: only a fully correct trajectory; open-ended ones: a compact report scores what it covers
            if (r.Reward.Total < (tasks[i].Type == TaskTypes.OpenEnded ? o.TeacherMinOpenEndedReward : 1.0) - 1e-9) continue;
            solved++;
            if (!keep) continue;
            kept++;
            keptBy[tasks[i].Family] = keptBy.GetValueOrDefault(tasks[i].Family) + 1;
            traj.Append(JsonSerializer.Serialize(r.Trajectory, RolloutRunner.JsonOptions)).Append('\n');
            foreach (var msgs in OracleTeacher.Sessions(r.Trajectory))
            {
                sessions++;
                turns += msgs.Count(m => m.Role == Roles.Assistant);
                sft.Append(new JsonObject { ["task_id"] = tasks[i].Id, ["messages"] = JsonSerializer.SerializeToNode(msgs) }.ToJsonString(RolloutRunner.JsonOptions)).Append('\n');
                samples.Add(ShareGpt.ToSample(msgs));
            }
        }
        if (kept == 0) throw new InvalidOperationException($"the teacher kept no train task ({solved} of {tasks.Count} at reward 1.0); nothing to fine-tune on");
        Directory.CreateDirectory(c.Paths.Teacher);
        AtomicFile.WriteAllText(c.Paths.TeacherTrajectories, traj.ToString());
        ShareGpt.Write(c.Paths.ShareGpt, samples);
        AtomicFile.WriteAllText(c.Paths.SftTranscripts, sft.ToString());   // last: its presence means the stage's files are all there
        var m = new Dictionary<string, double>
        {
            ["tasks"] = tasks.Count, ["solved"] = solved, ["kept"] = kept, ["mean_reward"] = Math.Round(rewards.Average(), 4), ["sft_rows"] = sessions, ["assistant_turns"] = turns,
        };
        if (o.Teacher == "grounded")
        {
            m["grounded_items_pct"] = Math.Round(100.0 * visible / Math.Max(1, items), 1);
            m["grounded_turns_pct"] = Math.Round(100.0 * gGrounded / Math.Max(1, gTurns), 1);
        }
        foreach (var (f, n) in keptBy.OrderBy(kv => kv.Key, StringComparer.Ordinal)) m["kept_" + f] = n;
        return m;
    }

    // ------------------------------------------------------------------ 4. pretrain

    /// <summary>Stage 4: BPE tokenizer on pages + transcripts, then a causal LM on pages and tool outputs (resumes from its checkpoint).</summary>
    public static async Task<Dictionary<string, double>> PretrainAsync(StageContext c, CancellationToken ct)
    {
        var o = c.Options;
        List<string> docs;
        if (File.Exists(c.Paths.PretrainDocs)) docs = Jsonl.Read<JsonObject>(c.Paths.PretrainDocs).Select(j => (string)j["text"]!).ToList();
        else
        {
            docs = await MidTraining.DocumentsAsync(c, ct).ConfigureAwait(false);
            AtomicFile.WriteAllText(c.Paths.PretrainDocs, string.Concat(docs.Select(d => new JsonObject { ["text"] = d }.ToJsonString() + "\n")));
        }
        c.Progress($"{docs.Count} documents, {docs.Sum(d => (long)d.Length):N0} chars", null);
        QuestTokenizer tok;
        var sw = Stopwatch.StartNew();
        if (File.Exists(Path.Combine(c.Paths.Tokenizer, QuestTokenizer.ConfigFile))) tok = QuestTokenizer.Load(c.Paths.Tokenizer);
        else
        {
            var texts = docs.Concat(ChatTemplate.ReadTranscripts(c.Paths.SftTranscripts).Select(t => ChatTemplate.Render(t)));
            tok = BpeTrainer.Train(texts, new BpeTrainerOptions { VocabSize = o.VocabSize });
            AtomicFile.WriteDirectory(c.Paths.Tokenizer, tok.Save);
            c.Progress($"tokenizer trained: {tok.VocabSize} tokens in {sw.Elapsed.TotalSeconds:0.0}s", null);
        }
        ct.ThrowIfCancellationRequested();
        var cfg = ModelConfig.FromPreset(o.Model, tok.VocabSize) with { VocabSize = tok.VocabSize, MaxSeqLen = o.ContextTokens, View = o.View };
        var model = new QuestTransformer(cfg, o.Seed);
        var held = await MidTraining.HeldOutDrillsAsync(c, ct).ConfigureAwait(false);
        var copy = new Dictionary<string, double>();
        var copyMetrics = Path.Combine(c.Paths.CopyPhase, CopyMetricsFile);
        if (o.CopyPhaseSteps > 0 && !File.Exists(Path.Combine(c.Paths.Pretrain, Checkpoint.TrainerStateFile)))
            copy = await CopyPhaseAsync(c, model, tok, await MidTraining.DrillsAsync(c, ct).ConfigureAwait(false), held, ct).ConfigureAwait(false);
        else if (o.CopyPhaseSteps > 0 && File.Exists(copyMetrics))   // mid-training resumed past the copy phase: its metrics were kept
            copy = JsonSerializer.Deserialize<Dictionary<string, double>>(File.ReadAllText(copyMetrics)) ?? [];
        var data = new PackedTokenStream(docs, tok);
        c.Progress($"model {cfg.ParameterCount:N0} params, {data.TrainTokens:N0} training tokens", null);
        var trainer = new Trainer(model, tok, data, new TrainingOptions
        {
            Steps = o.PretrainSteps, BatchSize = o.PretrainBatch, SeqLen = o.PretrainSeqLen, LearningRate = o.PretrainLearningRate,
            WarmupSteps = Math.Max(1, o.PretrainSteps / 10), EvalEvery = Math.Max(1, o.PretrainSteps / 4), CheckpointEvery = Math.Max(10, o.PretrainSteps / 6),
            OutputDir = c.Paths.Pretrain, Resume = true, Seed = o.Seed, Device = o.Device, Precision = o.Precision,
        }, "pretrain");
        var m = await TrainAsync(c, trainer, new() { ["params"] = cfg.ParameterCount, ["vocab"] = tok.VocabSize, ["train_tokens"] = data.TrainTokens }, ct).ConfigureAwait(false);
        foreach (var (k, v) in copy) m[k] = v;
        var probe = MidTraining.Probe(model, tok, held);
        foreach (var (k, v) in probe) m[k + "_after_mt"] = v;
        return m;
    }

    /// <summary>
    /// The copy phase that opens mid-training: <see cref="RecipeOptions.CopyPhaseSteps"/> steps on copy drills alone
    /// (<see cref="MidTraining"/>), so the model can copy from its context before it is asked to research; the held-out
    /// copy probe is logged before and after. Resumable in its own directory (<c>pretrain-copy/</c>).
    /// </summary>
    private static async Task<Dictionary<string, double>> CopyPhaseAsync(StageContext c, QuestTransformer model, QuestTokenizer tok,
        List<string> drills, List<string> held, CancellationToken ct)
    {
        var o = c.Options;
        var before = MidTraining.Probe(model, tok, held);
        var trainer = new Trainer(model, tok, new PackedTokenStream(drills, tok), new TrainingOptions
        {
            Steps = o.CopyPhaseSteps, BatchSize = 16, SeqLen = Math.Min(128, o.PretrainSeqLen), LearningRate = o.PretrainLearningRate,
            WarmupSteps = Math.Max(1, o.CopyPhaseSteps / 40), EvalEvery = 0, CheckpointEvery = Math.Max(10, o.CopyPhaseSteps / 4),
            OutputDir = c.Paths.CopyPhase, Resume = true, Seed = o.Seed + 11, Device = o.Device, Precision = o.Precision,
        }, "copy");
        await foreach (var r in trainer.RunAsync(ct).ConfigureAwait(false)) c.Progress(r.ToString(), new Dictionary<string, double> { ["step"] = r.Step, ["copy-drill loss"] = r.Loss });
        var after = MidTraining.Probe(model, tok, held);
        c.Progress(string.Join(", ", after.Select(kv => FormattableString.Invariant($"{kv.Key} {before[kv.Key]:0.000} -> {kv.Value:0.000}"))), null);
        var m = new Dictionary<string, double> { ["copy_phase_steps"] = o.CopyPhaseSteps };
        foreach (var (k, v) in before) m[k + "_before"] = v;
        foreach (var (k, v) in after) m[k + "_after_copy"] = v;
        AtomicFile.WriteAllText(Path.Combine(c.Paths.CopyPhase, CopyMetricsFile), JsonSerializer.Serialize(m));   // a kill during mid-training loses none of them
        return m;
    }

    /// <summary>The copy phase's probe metrics, kept beside its checkpoint for a mid-training stage that resumes after it.</summary>
    public const string CopyMetricsFile = "copy_metrics.json";

    // ------------------------------------------------------------------ 5. sft

    /// <summary>Stage 5: fine-tunes the pretrained model on the teacher transcripts (one example per assistant turn, loss on it only).</summary>
    public static async Task<Dictionary<string, double>> SftAsync(StageContext c, CancellationToken ct)
    {
        var o = c.Options;
        var loaded = Checkpoint.Load(c.Paths.Pretrain, TorchRuntime.ResolveDevice(o.Device));
        var transcripts = ChatTemplate.ReadTranscripts(c.Paths.SftTranscripts).Select(t => (IReadOnlyList<ChatTurn>)t).ToList();
        var data = new ChatSftData(transcripts, new AgentView(loaded.Tokenizer, loaded.Model.Config.View), o.ContextTokens, evalEvery: 10, lengthGroup: o.SftLengthGroup);
        c.Progress($"{transcripts.Count} transcripts → {data.Count} turn examples ({data.EvalCount} held out), {data.TargetTokens:N0} assistant tokens", null);
        var trainer = new Trainer(loaded.Model, loaded.Tokenizer, data, new TrainingOptions
        {
            Steps = o.SftSteps, BatchSize = o.SftBatch, SeqLen = o.ContextTokens, LearningRate = o.SftLearningRate,
            WarmupSteps = Math.Max(1, o.SftSteps / 10), EvalEvery = Math.Max(1, o.SftSteps / 4), CheckpointEvery = Math.Max(10, o.SftSteps / 6),
            OutputDir = c.Paths.Sft, Resume = true, Seed = o.Seed + 1, Device = o.Device,
        }, "sft");
        var before = Probes.CopyAccuracy(loaded.Model, data.EvalExamples);
        var m = await TrainAsync(c, trainer, new() { ["examples"] = data.Count, ["assistant_tokens"] = data.TargetTokens }, ct).ConfigureAwait(false);
        var after = Probes.CopyAccuracy(loaded.Model, data.EvalExamples);
        c.Progress(FormattableString.Invariant($"held-out teacher-forced accuracy: copy tokens {before.CopyAccuracy:0.000} -> {after.CopyAccuracy:0.000}, other tokens {before.OtherAccuracy:0.000} -> {after.OtherAccuracy:0.000}"), null);
        m["copy_token_acc_before"] = Math.Round(before.CopyAccuracy, 4);
        m["copy_token_acc"] = Math.Round(after.CopyAccuracy, 4);
        m["other_token_acc"] = Math.Round(after.OtherAccuracy, 4);
        return m;
    }

    // ------------------------------------------------------------------ 6. rl

    /// <summary>The RL settings of a run.</summary>
    public static RlOptions RlOptionsOf(RecipeOptions o, RecipePaths p) => new()
    {
        Steps = o.RlSteps, PromptsPerStep = o.RlPromptsPerStep, GroupSize = o.RlGroupSize, MaxTurns = o.EvalMaxTurns, MaxNewTokens = o.EvalMaxNewTokens, Temperature = o.RlTemperature,
        Grpo = new GrpoOptions { LearningRate = o.RlLearningRate, MiniBatches = o.RlMiniBatches, ScaleByStd = o.RlScaleByStd }, CheckpointEvery = Math.Max(1, o.RlSteps / 4),
        OutputDir = p.Rl, Seed = o.Seed, Device = o.Device, Date = o.Date,
    };

    /// <summary>
    /// Whether train task <paramref name="t"/> is reserved for RL: its seed entity falls in the
    /// <see cref="RecipeOptions.RlTaskFraction"/> share (a hash of the entity and the run's seed, as the test split is
    /// drawn, but with its own salt), so every task of that entity is kept from the teacher and SFT.
    /// </summary>
    public static bool IsRlTask(RecipeOptions o, SynthTask t) =>
        o.RlTaskFraction > 0 && t.Split == "train" && Synthesizer.IsTestSeed(t.SeedEntity, o.Seed ^ 0x52_4C, o.RlTaskFraction);

    /// <summary>
    /// Whether task <paramref name="t"/> may be taught (solved by the teacher for SFT, its question used in copy drills):
    /// a train task not reserved for RL (<see cref="IsRlTask"/>).
    /// </summary>
    public static bool IsTaught(RecipeOptions o, SynthTask t) => t.Split == "train" && !IsRlTask(o, t);

    /// <summary>
    /// Stage 6: GRPO from the SFT checkpoint (resumes from its checkpoint) on the train tasks reserved for RL, or on every
    /// train task when none are (<see cref="RecipeOptions.RlTaskFraction"/> 0).
    /// </summary>
    public static async Task<Dictionary<string, double>> RlAsync(StageContext c, CancellationToken ct)
    {
        var o = c.Options;
        var train = TaskFile.Read(c.Paths.Tasks).Where(t => t.Split == "train").ToList();
        var tasks = train.Where(t => IsRlTask(o, t)).ToList() is { Count: > 0 } reserved ? reserved : train;
        using var sc = WorldEnvironment.Open(c.Paths.World);
        var reward = new Synthesizer(sc.Graph).Verifier.Reward;
        var trainer = RlTrainer.Create(c.Paths.Sft, tasks, ToolsOf(o, sc), reward, RlOptionsOf(o, c.Paths));
        await foreach (var r in trainer.RunAsync(ct).ConfigureAwait(false))
            c.Progress(r.ToString(), new Dictionary<string, double>
            {
                ["step"] = r.Step, ["reward"] = r.RewardMean, ["valid turns"] = r.ValidTurnRate, ["zero-variance groups"] = r.ZeroVarianceShare,
            });
        var h = trainer.History;
        var m = new Dictionary<string, double> { ["steps"] = o.RlSteps, ["train_tasks"] = tasks.Count };
        if (h.Count > 0)
        {
            int k = Math.Max(1, h.Count / 4);
            m["first_reward"] = Math.Round(h.Take(k).Average(x => x.RewardMean), 4);
            m["last_reward"] = Math.Round(h.TakeLast(k).Average(x => x.RewardMean), 4);
            m["zero_variance_share"] = Math.Round(h.Average(x => x.ZeroVarianceShare), 3);
            m["groups_with_reward"] = Math.Round(h.Average(x => x.GroupsWithReward), 3);
            m["valid_turn_rate"] = Math.Round(h.TakeLast(k).Average(x => x.ValidTurnRate), 3);
            m["rollout_s"] = Math.Round(h.Sum(x => x.RolloutSeconds), 1);
            m["update_s"] = Math.Round(h.Sum(x => x.UpdateSeconds), 1);
        }
        return m;
    }

    private static async Task<Dictionary<string, double>> TrainAsync(StageContext c, Trainer trainer, Dictionary<string, double> m, CancellationToken ct)
    {
        StepReport? first = null, last = null;
        double? eval = null;
        var ms = new List<double>();
        await foreach (var r in trainer.RunAsync(ct).ConfigureAwait(false))
        {
            first ??= r; last = r; ms.Add(r.StepMs);
            if (r.EvalLoss is double e) eval = e;
            var pm = new Dictionary<string, double> { ["step"] = r.Step, ["loss"] = r.Loss };
            if (r.EvalLoss is double ev2) pm["eval loss"] = ev2;
            c.Progress(r.ToString(), pm);
        }
        if (last is null)   // resumed at the last step: the checkpoint is final already
        {
            last = trainer.History.LastOrDefault();
            eval = trainer.History.LastOrDefault(h => h.EvalLoss is not null)?.EvalLoss;
        }
        m["steps"] = trainer.Options.Steps;
        if (trainer.History.Count > 0) m["first_loss"] = Math.Round(trainer.History[0].Loss, 4);
        if (last is not null) m["final_loss"] = Math.Round(last.Loss, 4);
        if (eval is double ev) m["eval_loss"] = Math.Round(ev, 4);
        if (ms.Count > 0) m["median_step_ms"] = Math.Round(ms.Order().ElementAt(ms.Count / 2), 1);
        return m;
    }

    private sealed class SyncProgress<T>(Action<T> a) : IProgress<T>
    {
        public void Report(T value) => a(value);
    }
}
