using Quest.Core;
using Quest.Models.Generation;

namespace Quest.Recipe;

/// <summary>
/// Settings of one recipe run (<c>quest recipe</c>). Sizes follow one dial, the model's depth (<see cref="ForDepth"/>,
/// as nanochat's <c>--depth</c>): <see cref="Tiny"/> is depth 4 and <c>d&lt;n&gt;</c> any other depth;
/// <see cref="Small"/> is the tiny model trained longer. Any field can still be changed with <c>with</c>. Every stage writes under <see cref="OutDir"/>; a re-run with the same options skips
/// the stages that finished and resumes the one that was interrupted.
/// </summary>
public sealed record RecipeOptions
{
    /// <summary>Preset name (recorded in <c>recipe.json</c>; a resumed run must use the same one).</summary>
    public string Preset { get; init; } = "tiny";
    /// <summary>Run directory: every stage's output, the stage markers and <c>summary.json</c> land here.</summary>
    public string OutDir { get; init; } = Path.Combine(QuestPaths.Artifacts, "recipe", "tiny");
    /// <summary>Master seed: world, synthesis split, model init and data order derive from it.</summary>
    public int Seed { get; init; } = 1;
    /// <summary>The size dial the sizes were derived from (<see cref="ForDepth"/>); the defaults below are depth 4's.</summary>
    public int Depth { get; init; } = 4;

    // ---- 1. world
    /// <summary>Pages of the generated world (the tiny preset uses the 300-page tiny world).</summary>
    public int WorldPages { get; init; } = 2000;

    // ---- 2. synth
    /// <summary>Task slots to synthesize (balanced over the five families and nine complexity classes).</summary>
    public int Tasks { get; init; } = 3000;
    /// <summary>Share of seed entities whose tasks go to the test split.</summary>
    public double TestFraction { get; init; } = 0.08;
    /// <summary>Candidates tried per task slot before it is given up.</summary>
    public int MaxAttemptsPerTask { get; init; } = 40;
    /// <summary>Complexity classes to synthesize (e.g. C1–C3: a curriculum from one hop upward); empty: all nine.</summary>
    public IReadOnlyList<string> Complexities { get; init; } = ["C1", "C2", "C3"];

    // ---- 3. teacher
    /// <summary>Teacher style: <c>grounded</c> (writes only what a small-window student sees; ungrounded trajectories are dropped) or <c>oracle</c>.</summary>
    public string Teacher { get; init; } = "grounded";
    /// <summary>What the grounded teacher assumes the student sees besides the question, in characters.</summary>
    public int TeacherViewChars { get; init; } = 1100;
    /// <summary>Tool output sizes: <c>small</c> (3 results, short snippets, 3 evidence sentences: fits a 512-token view) or <c>quest</c>.</summary>
    public string ToolOutput { get; init; } = "small";
    /// <summary>
    /// Lowest reward at which a teacher trajectory of an open-ended (report) task is kept for SFT (objective tasks need
    /// 1.0). The grounded teacher's compact report meets the criteria a one-turn reply can (names, sections, the
    /// citation) but not the length one, so it scores below 1.
    /// </summary>
    public double TeacherMinOpenEndedReward { get; init; } = 0.5;
    /// <summary>Oracle-teacher context-manager threshold in tokens (null: one session per task).</summary>
    public int? TeacherContextThreshold { get; init; }
    /// <summary>Date written into the agent's system prompt (teacher and eval alike, so transcripts are reproducible).</summary>
    public DateOnly Date { get; init; } = new(2026, 1, 1);

    // ---- 4. pretrain (mid-training)
    /// <summary>BPE vocabulary size (trained on corpus pages and teacher transcripts).</summary>
    public int VocabSize { get; init; } = 2048;
    /// <summary>Model: <c>d&lt;depth&gt;</c> from the dial, or any <c>ModelConfig.FromPreset</c> name (<c>tiny</c> is <c>d4</c>, <c>small</c> a wider 6 layers).</summary>
    public string Model { get; init; } = "d4";
    /// <summary>The model's context window in tokens (max_seq_len); the agent's view of an episode is cut to it.</summary>
    public int ContextTokens { get; init; } = 512;
    /// <summary>How the model sees an episode (recorded in its config): <c>question_recent</c> fits a small window.</summary>
    public string View { get; init; } = AgentView.QuestionRecent;
    /// <summary>
    /// Worlds whose pages, tool outputs and copy drills mid-training reads instead of the task world's (0: the task
    /// world itself, which lets a model recall what a held-out task asks). Each is a generated world of
    /// <see cref="WorldPages"/> pages with its own seed; the copy probe then reads a further world no stage trains on.
    /// </summary>
    public int PageWorlds { get; init; }
    /// <summary>Extra tool-output documents for mid-training (search and visit results on corpus pages).</summary>
    public int ToolOutputDocs { get; init; } = 150;
    /// <summary>Copy drills in the mid-training data (names repeated, question → first sentence, search result → note); see <c>MidTraining</c>.</summary>
    public int CopyDrills { get; init; } = 9000;
    /// <summary>Steps of the copy phase that opens mid-training (copy drills alone, 16 × 128 tokens a step; 0: none).</summary>
    public int CopyPhaseSteps { get; init; } = 1500;
    /// <summary>Pretraining optimizer steps.</summary>
    public int PretrainSteps { get; init; } = 800;
    /// <summary>Pretraining sequences per step.</summary>
    public int PretrainBatch { get; init; } = 8;
    /// <summary>Pretraining sequence length.</summary>
    public int PretrainSeqLen { get; init; } = 256;
    /// <summary>Pretraining peak learning rate.</summary>
    public double PretrainLearningRate { get; init; } = 3e-3;

    // ---- 5. sft
    /// <summary>
    /// SFT optimizer steps (about 4.8 epochs of the tiny teacher set). 1,500 left the held-out loss still falling
    /// steeply (0.27 → 0.19 over the last quarter); 3,000 lifted MT+SFT from 0.340 to 0.472 on the same held-out tasks
    /// and gave RL more to amplify.
    /// </summary>
    public int SftSteps { get; init; } = 3000;
    /// <summary>SFT sequences per step (one assistant turn each, with the context the agent would show the model).</summary>
    public int SftBatch { get; init; } = 8;
    /// <summary>SFT peak learning rate.</summary>
    public double SftLearningRate { get; init; } = 2e-3;
    /// <summary>
    /// SFT batches whose examples are drawn together and shared out by length (<c>ChatSftData.LengthGroup</c>; 1, the
    /// default: each batch drawn on its own). Measured and left off: with 32, SFT took 453 s instead of about 540, but its
    /// held-out loss ended at 0.167 (0.145–0.153 in the runs before), MT+SFT scored 0.421 (0.455–0.466) and RL added
    /// +0.026 [−0.004, +0.057] (fresh clone of 9bc0bf8, 2026-12-03).
    /// </summary>
    public int SftLengthGroup { get; init; } = 1;

    // ---- 6. rl
    /// <summary>
    /// GRPO steps (one rollout batch and one policy update each). From 3,000-step SFT models, 45–50 steps gave +0.000 to
    /// +0.048 over eleven samples (about +0.02 on average, above 0 in few), 150 steps +0.067 [+0.017, +0.121], and 100
    /// steps +0.050 [+0.019, +0.085] (the SFT checkpoint of a run at 8349ab8 whose own 50 steps gave +0.018 [−0.024,
    /// +0.058]). 100 spends on RL the time the torch thread saved (SFT and mid-training steps 2–3× faster on the slow
    /// machine kind); from a 1,500-step SFT model, 90 gave only +0.021: SFT steps come first. 130 since rollouts batch by
    /// turn (RL 547 s for 100 steps instead of 727): two fresh-clone runs at 100 steps gave +0.026 [−0.004, +0.057] and
    /// +0.030 [−0.003, +0.064], and the second's RL continued to 130 steps +0.062 [+0.015, +0.111]. Fresh clones with 130
    /// (2026-12-04, AMD EPYC): +0.037 [+0.007, +0.069] and +0.060 [+0.014, +0.106].
    /// </summary>
    public int RlSteps { get; init; } = 130;
    /// <summary>
    /// Share of the train split's seed entities whose tasks are kept for RL alone: the teacher never solves them, so SFT
    /// never sees them, and RL samples only them (0, the default: RL samples every train task). Measured on the tiny
    /// recipe and left off: with 0.15, RL met tasks as hard as the held-out ones (train reward 0.27 → 0.28 over 50 steps,
    /// 26% zero-variance groups against 14%), and held-out reward moved +0.011 [−0.022, +0.043] greedy and −0.031
    /// [−0.075, +0.014] sampled (avg@4 at temperature 1), against +0.005 and +0.027 [−0.009, +0.065] without the split.
    /// </summary>
    public double RlTaskFraction { get; init; }
    /// <summary>Train tasks per RL step.</summary>
    public int RlPromptsPerStep { get; init; } = 8;
    /// <summary>Rollouts per task (QUEST: 8).</summary>
    public int RlGroupSize { get; init; } = 8;
    /// <summary>RL peak learning rate.</summary>
    public double RlLearningRate { get; init; } = 3e-5;
    /// <summary>
    /// Optimizer steps per RL rollout batch (its rows split into this many mini-batches; QUEST: 4). Measured from one SFT
    /// checkpoint: 4 steps at lr 6e-5 gave +0.028 [−0.027, +0.080], 2 at 3e-5 +0.039 [+0.011, +0.071].
    /// </summary>
    public int RlMiniBatches { get; init; } = 2;
    /// <summary>
    /// Divide a group's advantages by its reward standard deviation (QUEST/verl GRPO: yes). Off here (Dr. GRPO): rubric
    /// rewards are continuous, and a group whose rollouts differ by 0.01 would get the same ±1 advantages as one that
    /// differs by 1. Measured from one SFT checkpoint (45 steps): +0.049 [+0.017, +0.085] without, +0.039 [+0.011,
    /// +0.071] with (paired difference +0.010 [−0.016, +0.037]: not significant, but not worse).
    /// </summary>
    public bool RlScaleByStd { get; init; }
    /// <summary>How RL turns rewards into advantages (<c>grpo</c>, <c>rloo</c>, <c>reinforce</c>; see <c>AdvantageEstimators</c>).</summary>
    public string RlAdvantage { get; init; } = "grpo";
    /// <summary>
    /// RL rollout temperature, which is also the temperature of the policy the update optimises (QUEST: 1.0). The
    /// evaluation decodes greedily.
    /// </summary>
    public double RlTemperature { get; init; } = 1.0;

    // ---- 7. eval
    /// <summary>Most test tasks rolled out (0: all of the test split).</summary>
    public int EvalTestTasks { get; init; }
    /// <summary>
    /// Task slots synthesized over the fresh world, the headline test set: a world generated at eval time with a seed no
    /// stage of the run used (<c>RecipeEval.FreshWorldSeed</c>), same size, families and complexity classes, so nothing
    /// in it was ever read in training (0: no fresh-world test). The held-out split holds out task seeds, not
    /// knowledge: its entities' pages were in mid-training. 340 slots give at least 300 verified tasks.
    /// </summary>
    public int FreshWorldTasks { get; init; } = 340;
    /// <summary>Train tasks rolled out as well (to see memorisation vs. generalisation).</summary>
    public int EvalTrainTasks { get; init; } = 2;
    /// <summary>Model calls per eval episode.</summary>
    public int EvalMaxTurns { get; init; } = 6;
    /// <summary>Tokens the model may write per turn.</summary>
    public int EvalMaxNewTokens { get; init; } = 128;
    /// <summary>Sampling temperature of the eval rollouts (0: greedy, deterministic).</summary>
    public double EvalTemperature { get; init; } = 0;
    /// <summary>Rollouts per eval task (k of avg@k / pass@k).</summary>
    public int EvalSamples { get; init; } = 1;
    /// <summary>Eval episodes run (and decoded) together.</summary>
    public int EvalParallel { get; init; } = 32;

    /// <summary>Torch device: auto (cuda when available), cpu, cuda.</summary>
    public string Device { get; init; } = "auto";
    /// <summary>
    /// Matrix products of mid-training (the copy phase and pretraining): <c>auto</c> (mixed bf16 on a CPU with native
    /// bfloat16 instructions, else fp32), <c>fp32</c> or <c>bf16</c> (<c>Precision</c>). Its dense steps took 0.72 of
    /// their float32 time (copy phase 16 × 128) and pretrain 351 s instead of 475 s in the recipe. SFT and RL's update
    /// stay float32: their short rows with the LM head at the targets only were no faster in bf16 (interleaved SFT steps,
    /// 246–309 ms either way), and rollouts and eval always sample in float32.
    /// </summary>
    public string Precision { get; init; } = Quest.Models.Transformer.Precision.Auto;

    /// <summary>
    /// The one size dial. <paramref name="depth"/> is the model's layer count (<c>ModelConfig.ForDepth</c>: width
    /// 32 × depth); the rest follows from it: context window 128 × depth tokens (the agent view, the teacher's view of
    /// it in characters and the pretraining sequence, half the window), BPE vocabulary 512 × depth, mid-training
    /// 200 × depth steps, learning rates inversely proportional to depth (3e-3, 2e-3 and 3e-5 at depth 4 for
    /// mid-training, SFT and RL) and 32.5 × depth RL steps (see <see cref="RlSteps"/>). Data sizes (world, tasks, drills)
    /// and SFT steps do not change.
    /// Depth 4 is <see cref="Tiny"/>, every default of this record.
    /// </summary>
    public static RecipeOptions ForDepth(int depth)
    {
        if (depth is < 3 or > 48) throw new QuestInputException("--preset", null, null, $"depth {depth}", "a depth from 3 to 48 (d3 … d48)");
        int window = 128 * depth;
        return new RecipeOptions
        {
            Preset = $"d{depth}", OutDir = Path.Combine(QuestPaths.Artifacts, "recipe", $"d{depth}"), Depth = depth,
            Model = $"d{depth}", ContextTokens = window, TeacherViewChars = (int)Math.Round(window * 1100 / 512.0), PretrainSeqLen = window / 2,
            VocabSize = 512 * depth, PretrainSteps = 200 * depth, RlSteps = (int)Math.Round(32.5 * depth),
            PretrainLearningRate = 0.012 / depth, SftLearningRate = 0.008 / depth, RlLearningRate = 1.2e-4 / depth,
        };
    }

    /// <summary>Depth 4 (a 1.0M-parameter model, 512-token window), a 2,000-page world, ~2,700 tasks (C1–C3), a copy phase, 3,000 SFT steps, 130 RL steps (see the README for its measured wall time).</summary>
    public static RecipeOptions Tiny => ForDepth(4) with { Preset = "tiny", OutDir = Path.Combine(QuestPaths.Artifacts, "recipe", "tiny") };

    /// <summary>
    /// The tiny recipe with twice the RL steps (260): the same model, world, tasks and SFT settings, so its ablation
    /// pairs with tiny's on the same held-out tasks: 36 min 48 s on the 2-core AMD EPYC against tiny's 23 min 10 s (a
    /// fresh clone of 015fc0c, 2026-12-04; that hour the machine ran about 15% slower). Measured twice against tiny's
    /// 130 steps from the same SFT model: 0.448 against 0.415 (+0.093 [+0.047, +0.142] over MT+SFT, valid calls 93.7%),
    /// and 0.543 against 0.513 (run K's RL continued; +0.067 [+0.022, +0.111]); each +0.03 with an interval touching 0. A deeper model at
    /// equal data did worse (depth 5: MT+SFT 0.257 against tiny's 0.302 then); <c>--preset d5</c> is still the dial's
    /// depth-5 recipe.
    /// </summary>
    public static RecipeOptions Small => Tiny with { Preset = "small", OutDir = Path.Combine(QuestPaths.Artifacts, "recipe", "small"), RlSteps = 2 * Tiny.RlSteps };

    /// <summary>
    /// A few minutes on a 2-core laptop: the run notebooks 06–08 read and make when it is missing (a 300-page world,
    /// ~150 tasks, the Tiny model, short stages: SFT 250 steps, RL 6 steps of 4 tasks × 8 rollouts, eval on 24 test
    /// tasks). It shows every stage working, not the learning the tiny preset measures.
    /// </summary>
    public static RecipeOptions Notebook => Tiny with
    {
        Preset = "notebook", OutDir = Path.Combine(QuestPaths.Artifacts, "recipe", "notebook"), WorldPages = 300, Tasks = 150, TestFraction = 0.2,
        ToolOutputDocs = 60, CopyDrills = 1500, CopyPhaseSteps = 300, PretrainSteps = 150, SftSteps = 250,
        RlSteps = 6, RlPromptsPerStep = 4, EvalTestTasks = 24, EvalTrainTasks = 4,
    };

    /// <summary>The preset names <see cref="FromPreset"/> knows.</summary>
    public static readonly IReadOnlyList<string> Presets = ["tiny", "small", "notebook"];

    /// <summary>A preset by name: <c>tiny</c>, <c>small</c>, <c>notebook</c>, or the dial itself, <c>d&lt;depth&gt;</c> (<see cref="ForDepth"/>).</summary>
    public static RecipeOptions FromPreset(string name) => name.Trim().ToLowerInvariant() switch
    {
        ['d', .. var n] when int.TryParse(n, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var depth) => ForDepth(depth),
        "tiny" => Tiny,
        "small" => Small,
        "notebook" => Notebook,
        _ => throw new QuestInputException("--preset", null, null, $"unknown preset '{name}'", string.Join(", ", Presets) + " or d<depth> (e.g. d6)"),
    };

    /// <summary>
    /// <paramref name="options"/> with fields set from <c>NAME=VALUE</c> pairs, NAME as <c>recipe.json</c> spells it
    /// (<c>page_worlds=2</c>, <c>rl_learning_rate=1e-4</c>, <c>complexities=["C1"]</c>); a value that is not JSON is
    /// read as a string. An unknown name or a value of the wrong type is bad input naming the pair.
    /// </summary>
    public static RecipeOptions Override(RecipeOptions options, IEnumerable<string> pairs)
    {
        var list = pairs.ToList();
        if (list.Count == 0) return options;
        var json = System.Text.Json.JsonSerializer.SerializeToNode(options, JsonFiles.Indented)!.AsObject();
        foreach (var pair in list)
        {
            int eq = pair.IndexOf('=');
            if (eq <= 0) throw new QuestInputException("--set", null, null, $"'{pair}'", "NAME=VALUE, e.g. page_worlds=2");
            string name = pair[..eq].Trim(), text = pair[(eq + 1)..].Trim();
            if (!json.ContainsKey(name) || name is "out_dir" or "preset")
                throw new QuestInputException("--set", null, null, $"unknown recipe option '{name}'", "a recipe.json name other than out_dir and preset: " + string.Join(", ", json.Select(kv => kv.Key).Where(k => k is not ("out_dir" or "preset"))));
            System.Text.Json.Nodes.JsonNode? value;
            try { value = System.Text.Json.Nodes.JsonNode.Parse(text); }
            catch (System.Text.Json.JsonException) { value = System.Text.Json.Nodes.JsonValue.Create(text); }
            json[name] = value;
        }
        try { return System.Text.Json.JsonSerializer.Deserialize<RecipeOptions>(json, JsonFiles.Indented)!; }
        catch (System.Text.Json.JsonException ex) { throw new QuestInputException("--set", null, null, $"{string.Join(" ", list)}: {JsonFiles.Describe(ex)}", "a value of the option's type", ex); }
    }

    /// <summary>Checks the sizes; throws <see cref="QuestInputException"/>.</summary>
    public RecipeOptions Validate()
    {
        void Need(bool ok, string what, string expected) { if (!ok) throw new QuestInputException("recipe options", null, null, what, expected); }
        Need(WorldPages >= 50, $"world_pages {WorldPages}", "at least 50 pages");
        Need(Tasks >= 5, $"tasks {Tasks}", "at least 5 tasks (one per family)");
        Need(TestFraction is > 0 and < 1, $"test_fraction {TestFraction}", "a share in (0, 1)");
        Need(RlTaskFraction is >= 0 and < 1, $"rl_task_fraction {RlTaskFraction}", "a share in [0, 1)");
        Need(ContextTokens >= 128, $"context_tokens {ContextTokens}", "at least 128");
        Need(EvalMaxNewTokens < ContextTokens / 2, $"eval_max_new_tokens {EvalMaxNewTokens}", "less than half the context window");
        Need(PretrainSeqLen <= ContextTokens, $"pretrain_seq_len {PretrainSeqLen}", "at most context_tokens");
        Need(RlMiniBatches >= 1, $"rl_mini_batches {RlMiniBatches}", "at least 1");
        Need(double.IsFinite(RlTemperature) && RlTemperature > 0, $"rl_temperature {RlTemperature}", "a finite temperature > 0");
        Need(RlSteps > 0 && RlPromptsPerStep > 0 && RlGroupSize >= 2, $"rl_steps {RlSteps}, rl_prompts_per_step {RlPromptsPerStep}, rl_group_size {RlGroupSize}", "positive steps and prompts, a group of at least 2");
        Need(PageWorlds is >= 0 and <= 16, $"page_worlds {PageWorlds}", "0 (the task world) to 16");
        Need(FreshWorldTasks >= 0, $"fresh_world_tasks {FreshWorldTasks}", "0 (no fresh-world test) or more");
        Need(EvalSamples >= 1 && EvalParallel >= 1, $"eval_samples {EvalSamples}, eval_parallel {EvalParallel}", "at least 1");
        Need(Teacher is "grounded" or "oracle", $"teacher '{Teacher}'", "grounded or oracle");
        Need(ToolOutput is "small" or "quest", $"tool_output '{ToolOutput}'", "small or quest");
        Need(AgentView.Kinds.Contains(View), $"view '{View}'", string.Join(" or ", AgentView.Kinds));
        Need(CopyPhaseSteps >= 0 && (CopyPhaseSteps == 0 || CopyDrills > 0), $"copy_phase_steps {CopyPhaseSteps}", "0, or a positive count with copy_drills > 0");
        Need(CopyDrills >= 0 && ToolOutputDocs >= 0, $"copy_drills {CopyDrills}, tool_output_docs {ToolOutputDocs}", "counts >= 0");
        Need(SftLengthGroup >= 1, $"sft_length_group {SftLengthGroup}", "at least 1 (1: no length grouping)");
        Need(PretrainSteps > 0 && SftSteps > 0 && PretrainBatch > 0 && SftBatch > 0, "non-positive steps or batch", "positive sizes");
        Need(Quest.Models.Transformer.Precision.IsKnown(Precision), $"precision '{Precision}'", Quest.Models.Transformer.Precision.Expected);
        Need(VocabSize >= 300, $"vocab_size {VocabSize}", "at least 300 (256 bytes + special tokens + merges)");
        return this;
    }
}
