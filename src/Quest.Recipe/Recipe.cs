using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Text.Json;
using System.Threading.Channels;
using Quest.Core;
using Quest.Models.Training;
using Quest.Synthesis;
using Quest.World;
using Quest.World.Corpus;
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
    /// <summary>Task worlds 1… (<see cref="RecipeOptions.TaskWorlds"/>), one sub-directory each (world 0 is <see cref="World"/>).</summary>
    public string TaskWorlds => Path.Combine(Root, "task-worlds");
    /// <summary>The worlds RL alone draws its tasks over (<see cref="RecipeOptions.RlWorlds"/>), one sub-directory each.</summary>
    public string RlWorlds => Path.Combine(Root, "rl-worlds");
    /// <summary>The RL worlds' tasks (all in the train split).</summary>
    public string RlTasks => Path.Combine(Root, "rl-tasks.jsonl");
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
    /// <summary>One line per invocation (start or resume): commit, machine, versions, command (<see cref="Quest.Recipe.Provenance"/>).</summary>
    public string Provenance => Path.Combine(Root, "provenance.jsonl");
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
/// The QUEST recipe at laptop scale, end to end, one file per stage under <c>Stages/</c>, each read top to bottom:
/// <b>world</b> (<see cref="WorldStage"/>: the task world + BM25 index) → <b>synth</b> (<see cref="SynthStage"/>:
/// verified tasks with rubric trees, train/test split) → <b>tokenizer</b> (<see cref="TokenizerStage"/>: BPE, so the
/// teacher can check turns against the student's own view) → <b>teacher</b> (<see cref="TeacherStage"/>: grounded teacher
/// trajectories through the real tools, SFT transcripts) → <b>pretrain</b> (<see cref="MidTraining"/>: copy phase,
/// mid-training) → <b>sft</b> (<see cref="SftStage"/>: assistant-only loss through the model's agent view)
/// → <b>rl</b> (<see cref="RlStage"/>: GRPO over the agent's own rollouts) → <b>eval</b> (<see cref="RecipeEval"/>: the
/// stage ablation on the fresh world and the held-out split). This class only sequences them: each stage is resumable
/// and writes atomically; a finished stage leaves a marker in <c>stages/</c> and is skipped on a re-run.
/// </summary>
public static class Recipe
{
    /// <summary>The stages, in order.</summary>
    public static readonly IReadOnlyList<string> StageNames = ["world", "synth", "tokenizer", "teacher", "pretrain", "sft", "rl", "eval"];

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
        if (StageNames.Any(s => (stages is null || stages.Contains(s)) && ReadMarker(paths, s) is null))   // a run that only reads back records nothing
            Provenance.Append(paths, Provenance.Capture(stages));
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
            "world" => await WorldStage.RunAsync(ctx, ct).ConfigureAwait(false),
            "synth" => await SynthStage.RunAsync(ctx, ct).ConfigureAwait(false),
            "tokenizer" => await TokenizerStage.RunAsync(ctx, ct).ConfigureAwait(false),
            "teacher" => await TeacherStage.RunAsync(ctx, ct).ConfigureAwait(false),
            "pretrain" => await MidTraining.RunAsync(ctx, ct).ConfigureAwait(false),
            "sft" => await SftStage.RunAsync(ctx, ct).ConfigureAwait(false),
            "rl" => await RlStage.RunAsync(ctx, ct).ConfigureAwait(false),
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

    // ------------------------------------------------------------------ shared by the stages

    /// <summary>
    /// Generates a world of the run's size with <paramref name="seed"/> and stores it under <paramref name="dir"/> with its
    /// BM25 index: the one way the recipe makes its task, page and fresh worlds.
    /// </summary>
    internal static Quest.World.Generation.GeneratedWorld StoreWorld(RecipeOptions o, string dir, int seed, string name, CancellationToken ct)
    {
        var w = Quest.World.Generation.WorldGenerator.Generate(new Quest.World.Generation.WorldOptions { Seed = seed, Pages = o.WorldPages, Name = name }, ct);
        CorpusStore.Save(w.Corpus, dir);
        using (var sc = WorldEnvironment.Open(dir)) _ = sc.Index;   // builds and persists the index
        return w;
    }

    /// <summary>The complexity classes a run synthesizes (null: all nine).</summary>
    internal static IReadOnlyList<Quest.Synthesis.Families.Complexity>? ComplexitiesOf(RecipeOptions o) =>
        o.Complexities is { Count: > 0 } cs ? cs.Select(Quest.Synthesis.Families.Complexity.Parse).ToList() : null;

    /// <summary>The run's synthesis settings (its attempts per task and complexity classes) for <paramref name="count"/>
    /// task slots drawn with <paramref name="seed"/>, <paramref name="testFraction"/> of the seed entities held out.</summary>
    internal static SynthesisOptions SynthesisOf(RecipeOptions o, int count, int seed, double testFraction) =>
        new() { Count = count, Seed = seed, TestFraction = testFraction, MaxAttemptsPerTask = o.MaxAttemptsPerTask, Classes = ComplexitiesOf(o) };

    /// <summary>The agent's tools over a run's corpus, their output sized by the run's <see cref="RecipeOptions.ToolOutput"/>.</summary>
    public static IReadOnlyList<ITool> ToolsOf(RecipeOptions o, WorldEnvironment sc) => sc.ToolsSized(ToolSizes.Resolve(o.ToolOutput, o.View)!);   // validated by RecipeOptions.Validate

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

    internal static async Task<Dictionary<string, double>> TrainAsync(StageContext c, Trainer trainer, Dictionary<string, double> m, CancellationToken ct)
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

    internal sealed class SyncProgress<T>(Action<T> a) : IProgress<T>
    {
        public void Report(T value) => a(value);
    }
}
