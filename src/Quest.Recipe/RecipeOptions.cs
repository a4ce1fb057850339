using Quest.Core;
using Quest.Models.Generation;
using Quest.World.Tools;

namespace Quest.Recipe;

/// <summary>
/// Settings of one recipe run (<c>quest recipe</c>). Sizes follow one dial, the model's depth (<see cref="ForDepth"/>,
/// as nanochat's <c>--depth</c>): <see cref="Tiny"/> is depth 4 and <c>d&lt;n&gt;</c> any other depth;
/// <see cref="Long"/> is the tiny recipe with a longer RL stage. Any field can still be changed with <c>with</c>. Every stage writes under <see cref="OutDir"/>; a re-run with the same options skips
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
    public int Depth { get; init; } = DefaultDepth;

    // ---- 1. world
    /// <summary>Pages of the generated world (the tiny preset uses the 300-page tiny world).</summary>
    public int WorldPages { get; init; } = 2000;

    /// <summary>
    /// Worlds the tasks are drawn over (1: the task world alone). With more, worlds 1… add train tasks over worlds of
    /// their own seeds (the held-out split stays on world 0), and the task slots and the held-out share are spread so the
    /// train set keeps its size: the teacher, SFT and RL meet many worlds' names, none often enough to be remembered.
    /// 4 (with <see cref="PageWorlds"/> 2 and <see cref="NovelNameDrills"/>) took the fresh world's MT+SFT from 0.142 to
    /// 0.396 and the recall gap from +0.35 to +0.07 on seed 1 (docs/results.md).
    /// </summary>
    public int TaskWorlds { get; init; } = 4;

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
    /// <summary>
    /// Tool output sizes: <c>auto</c> (what the <see cref="View"/> is designed for: <c>small</c> for
    /// <c>question_recent</c>, 3 results, short snippets, 3 evidence sentences), <c>small</c> or <c>quest</c>.
    /// </summary>
    public string ToolOutput { get; init; } = "auto";
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
    /// <summary>BPE vocabulary size (trained before the teacher, on the mid-training pages, tool outputs and drills and the protocol's turns; <see cref="TokenizerStage"/>).</summary>
    public int VocabSize { get; init; } = VocabOf(DefaultDepth);
    /// <summary>Model: <c>d&lt;depth&gt;</c> from the dial, or any <c>ModelConfig.FromPreset</c> name (<c>tiny</c> is <c>d4</c>, <c>small</c> a wider 6 layers).</summary>
    public string Model { get; init; } = $"d{DefaultDepth}";
    /// <summary>The model's context window in tokens (max_seq_len); the agent's view of an episode is cut to it.</summary>
    public int ContextTokens { get; init; } = WindowOf(DefaultDepth);
    /// <summary>How the model sees an episode (recorded in its config; <see cref="AgentView.Kinds"/>): <c>question_recent</c> fits a small window.</summary>
    public string View { get; init; } = AgentView.QuestionRecent;
    /// <summary>
    /// Worlds whose pages, tool outputs and copy drills mid-training reads instead of the task world's (0: the task
    /// world itself, which lets a model recall what a held-out task asks). Each is a generated world of
    /// <see cref="WorldPages"/> pages with its own seed; the copy probe then reads a further world no stage trains on.
    /// 2 doubled the fresh world's MT+SFT reward on seed 1 (docs/results.md).
    /// </summary>
    public int PageWorlds { get; init; } = 2;
    /// <summary>Extra tool-output documents for mid-training (search and visit results on corpus pages).</summary>
    public int ToolOutputDocs { get; init; } = 150;
    /// <summary>Copy drills in the mid-training data (names repeated, question → first sentence, search result → note); see <c>MidTraining</c>.</summary>
    public int CopyDrills { get; init; } = 9000;
    /// <summary>
    /// Name-list copy drills use names drawn fresh for every drill instead of the worlds' titles, so a drill can only be
    /// solved by copying, never by remembering a name (false: the worlds' titles, as until 2026-12-07).
    /// </summary>
    public bool NovelNameDrills { get; init; } = true;
    /// <summary>
    /// Steps of the copy phase that opens mid-training (copy drills alone, 16 × 128 tokens a step; 0: none). With 1,500
    /// (and 800 mid-training steps) seed 2 left mid-training copying 46% of unseen names and SFT never learned to copy
    /// (held-out loss 0.53, fresh world 0.054); 3,000 (with 1,200) gave 66%, held-out loss 0.15 and a fresh-world MT+SFT
    /// like seed 1's (docs/results.md).
    /// </summary>
    public int CopyPhaseSteps { get; init; } = 3000;
    /// <summary>Pretraining optimizer steps (300 × depth; see <see cref="CopyPhaseSteps"/> for why not 200 × depth).</summary>
    public int PretrainSteps { get; init; } = PretrainStepsOf(DefaultDepth);
    /// <summary>Pretraining sequences per step.</summary>
    public int PretrainBatch { get; init; } = 8;
    /// <summary>Pretraining sequence length.</summary>
    public int PretrainSeqLen { get; init; } = WindowOf(DefaultDepth) / 2;
    /// <summary>Pretraining peak learning rate.</summary>
    public double PretrainLearningRate { get; init; } = PretrainLrOf(DefaultDepth);

    // ---- 5. sft
    /// <summary>SFT optimizer steps (about 4.8 epochs of the tiny teacher set): 1,500 left the held-out loss
    /// falling steeply; 3,000 scored higher and gave RL more to amplify (docs/results.md).</summary>
    public int SftSteps { get; init; } = 3000;
    /// <summary>SFT sequences per step (one assistant turn each, with the context the agent would show the model).</summary>
    public int SftBatch { get; init; } = 8;
    /// <summary>SFT peak learning rate.</summary>
    public double SftLearningRate { get; init; } = SftLrOf(DefaultDepth);
    /// <summary>SFT batches drawn together and shared out by length (<c>ChatSftData.LengthGroup</c>; 1: each batch
    /// drawn on its own). 32 was 16% faster but trained a worse model, so the default is off (docs/results.md).</summary>
    public int SftLengthGroup { get; init; } = 1;

    // ---- 6. rl
    /// <summary>GRPO steps (one rollout batch and one policy update each): 32.5 × depth. The held-out gain grew with
    /// steps in the runs before the fresh-world test; on the fresh world 170 steps did no better than 130 over three seeds
    /// (docs/results.md).</summary>
    public int RlSteps { get; init; } = RlStepsOf(DefaultDepth);
    /// <summary>Share of the train split's seed entities whose tasks are kept for RL alone (the teacher never sees
    /// them); 0 samples every train task. 0.15 was measured and did not help (docs/results.md).</summary>
    public double RlTaskFraction { get; init; }
    /// <summary>
    /// Worlds generated for RL alone (0: RL draws from the task worlds' train split). Their pages are read by no stage
    /// and their facts are in no teacher transcript, so the reward can only be earned by looking things up: RL trains
    /// research on names the policy has never seen, as the fresh-world test asks of it.
    /// </summary>
    public int RlWorlds { get; init; }
    /// <summary>Train tasks per RL step.</summary>
    public int RlPromptsPerStep { get; init; } = 8;
    /// <summary>Rollouts per task (QUEST: 8).</summary>
    public int RlGroupSize { get; init; } = 8;
    /// <summary>RL peak learning rate.</summary>
    public double RlLearningRate { get; init; } = RlLrOf(DefaultDepth);
    /// <summary>Optimizer steps per RL rollout batch (its rows split into this many mini-batches; QUEST: 4). With 2
    /// the PPO clip is active on the second step; 4 at a higher rate did no better (docs/results.md).</summary>
    public int RlMiniBatches { get; init; } = 2;
    /// <summary>Divide a group's advantages by its reward standard deviation (QUEST/verl GRPO: yes). Off (Dr. GRPO):
    /// rubric rewards are continuous, and σ-scaling gives a group whose rollouts differ by 0.01 the same ±1 advantages as one
    /// whose rollouts differ by 1; measured no worse (docs/results.md).</summary>
    public bool RlScaleByStd { get; init; }
    /// <summary>The RL policy update (<c>ppo_clip</c>: QUEST's; <c>rft</c>: rejection-sampling fine-tuning; see <c>PolicyUpdates</c>).</summary>
    public string RlUpdate { get; init; } = "ppo_clip";
    /// <summary>How RL turns rewards into advantages (<c>grpo</c>, <c>rloo</c>, <c>reinforce</c>, <c>scst</c>: against one greedy
    /// rollout per task; see <c>AdvantageEstimators</c>). <c>scst</c> gained no more on the fresh world than <c>grpo</c> from the
    /// same SFT checkpoint (docs/results.md), so the default stays.</summary>
    public string RlAdvantage { get; init; } = "grpo";
    /// <summary>
    /// RL rollout temperature, which is also the temperature of the policy the update optimises (QUEST: 1.0). The
    /// evaluation decodes greedily.
    /// </summary>
    public double RlTemperature { get; init; } = 1.0;
    /// <summary>Share of each RL step's groups the update trains on, those with the largest reward spread (RAGEN keeps a
    /// quarter; 1: every group, QUEST's; see <c>RlOptions.KeepGroups</c>). Half: over three seeds the same fresh-world
    /// gain as every group, with the update a fifth of the time shorter per step (docs/results.md).</summary>
    public double RlKeepGroups { get; init; } = 0.5;

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
    /// <summary>Matrix products of mid-training (copy phase and pretraining) and of RL's update: <c>auto</c> (mixed bf16 on
    /// a CPU with native bfloat16 instructions, else fp32), <c>fp32</c> or <c>bf16</c>. SFT stays float32 (its short rows
    /// were no faster in bf16 on the machine it was measured on); rollouts and eval always sample in float32.</summary>
    public string Precision { get; init; } = Quest.Models.Transformer.Precision.Auto;

    /// <summary>
    /// The one size dial. <paramref name="depth"/> is the model's layer count (<c>ModelConfig.ForDepth</c>: width
    /// 32 × depth); the rest follows from it: context window 128 × depth tokens (the agent view, which the teacher's
    /// groundedness check uses too, and the pretraining sequence, half the window), BPE vocabulary 512 × depth, mid-training
    /// 300 × depth steps, learning rates inversely proportional to depth (3e-3, 2e-3 and 3e-5 at depth 4 for
    /// mid-training, SFT and RL) and 32.5 × depth RL steps (see <see cref="RlSteps"/>). Data sizes (world, tasks, drills)
    /// and SFT steps do not change.
    /// Depth 4 is <see cref="Tiny"/>, every default of this record.
    /// </summary>
    public static RecipeOptions ForDepth(int depth)
    {
        if (depth is < 3 or > 48) throw new QuestInputException("--preset", null, null, $"depth {depth}", "a depth from 3 to 48 (d3 … d48)");
        return new RecipeOptions
        {
            Preset = $"d{depth}", OutDir = Path.Combine(QuestPaths.Artifacts, "recipe", $"d{depth}"), Depth = depth,
            Model = $"d{depth}", ContextTokens = WindowOf(depth), PretrainSeqLen = WindowOf(depth) / 2,
            VocabSize = VocabOf(depth), PretrainSteps = PretrainStepsOf(depth), RlSteps = RlStepsOf(depth),
            PretrainLearningRate = PretrainLrOf(depth), SftLearningRate = SftLrOf(depth), RlLearningRate = RlLrOf(depth),
        };
    }

    /// <summary>The depth this record's field defaults are (the tiny preset): every depth-dependent default is the dial's rule at it.</summary>
    public const int DefaultDepth = 4;
    private static int WindowOf(int depth) => 128 * depth;
    private static int VocabOf(int depth) => 512 * depth;
    private static int PretrainStepsOf(int depth) => 300 * depth;
    private static int RlStepsOf(int depth) => (int)Math.Round(32.5 * depth);
    private static double PretrainLrOf(int depth) => 0.012 / depth;
    private static double SftLrOf(int depth) => 0.008 / depth;
    private static double RlLrOf(int depth) => 1.2e-4 / depth;

    /// <summary>Depth 4 (a 1.0M-parameter model, 512-token window), a 2,000-page world, ~2,700 tasks (C1–C3), a copy phase, 3,000 SFT steps, 130 RL steps (see the README for its measured wall time).</summary>
    public static RecipeOptions Tiny => ForDepth(4) with { Preset = "tiny", OutDir = Path.Combine(QuestPaths.Artifacts, "recipe", "tiny") };

    /// <summary>The tiny recipe with twice the RL steps (260): the same model, world, tasks and SFT settings, so its
    /// ablation pairs with tiny's on the same tasks. Measured better than tiny's RL from the same SFT model, by about +0.03
    /// with an interval touching 0 (docs/results.md).</summary>
    public static RecipeOptions Long => Tiny with { Preset = "long", OutDir = Path.Combine(QuestPaths.Artifacts, "recipe", "long"), RlSteps = 2 * Tiny.RlSteps };

    /// <summary>
    /// A few minutes on a 2-core laptop: the run notebooks 06–08 read and make when it is missing (a 300-page world,
    /// ~150 tasks, the Tiny model, short stages: SFT 250 steps, RL 6 steps of 4 tasks × 8 rollouts). Its eval takes the
    /// whole held-out split (38 tasks) and 100 fresh-world tasks, since eval is cheap and 24 and 40 left SFT's gain over
    /// MT inside the noise (seed 1: fresh world +0.030 [+0.017, +0.044], held-out +0.030 [+0.005, +0.059] with these
    /// sets). It shows every stage working, not the learning the tiny preset measures.
    /// </summary>
    public static RecipeOptions Notebook => Tiny with
    {
        Preset = "notebook", OutDir = Path.Combine(QuestPaths.Artifacts, "recipe", "notebook"), WorldPages = 300, Tasks = 150, TestFraction = 0.2,
        ToolOutputDocs = 60, CopyDrills = 1500, CopyPhaseSteps = 300, PretrainSteps = 150, SftSteps = 250,
        RlSteps = 6, RlPromptsPerStep = 4, EvalTestTasks = 0, EvalTrainTasks = 4, FreshWorldTasks = 100,
        PageWorlds = 0, TaskWorlds = 1, NovelNameDrills = false,   // one world: the notebooks' minutes matter more than what the run measures
    };

    /// <summary>The preset names <see cref="FromPreset"/> knows.</summary>
    public static readonly IReadOnlyList<string> Presets = ["tiny", "long", "notebook"];

    /// <summary>A preset by name: <c>tiny</c>, <c>long</c>, <c>notebook</c>, or the dial itself, <c>d&lt;depth&gt;</c> (<see cref="ForDepth"/>).</summary>
    public static RecipeOptions FromPreset(string name) => name.Trim().ToLowerInvariant() switch
    {
        ['d', .. var n] when int.TryParse(n, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var depth) => ForDepth(depth),
        "tiny" => Tiny,
        "long" => Long,
        "small" => throw new QuestInputException("--preset", null, null, "the recipe preset 'small' is now called 'long' (the tiny recipe with twice the RL steps)",
            "long; 'small' names only the wider 6-layer model (ModelConfig.Small)"),
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
        Need(RlKeepGroups is > 0 and <= 1, $"rl_keep_groups {RlKeepGroups}", "a share in (0, 1]");
        Need(RlSteps > 0 && RlPromptsPerStep > 0 && RlGroupSize >= 2, $"rl_steps {RlSteps}, rl_prompts_per_step {RlPromptsPerStep}, rl_group_size {RlGroupSize}", "positive steps and prompts, a group of at least 2");
        Need(TaskWorlds is >= 1 and <= 32, $"task_worlds {TaskWorlds}", "1 (the task world alone) to 32");
        Need(RlWorlds is >= 0 and <= 16, $"rl_worlds {RlWorlds}", "0 (the task worlds' train split) to 16");
        Need(PageWorlds is >= 0 and <= 16, $"page_worlds {PageWorlds}", "0 (the task world) to 16");
        Need(FreshWorldTasks >= 0, $"fresh_world_tasks {FreshWorldTasks}", "0 (no fresh-world test) or more");
        Need(EvalSamples >= 1 && EvalParallel >= 1, $"eval_samples {EvalSamples}, eval_parallel {EvalParallel}", "at least 1");
        Need(Teacher is "grounded" or "oracle", $"teacher '{Teacher}'", "grounded or oracle");
        Need(!AgentView.Kinds.Contains(View) || ToolSizes.Resolve(ToolOutput, View) is not null, $"tool_output '{ToolOutput}'", "auto, " + string.Join(" or ", ToolSizes.Names));
        Need(Quest.Models.Training.PolicyUpdates.Names.Contains(RlUpdate), $"rl_update '{RlUpdate}'", string.Join(", ", Quest.Models.Training.PolicyUpdates.Names));
        Need(Quest.Models.Training.AdvantageEstimators.Names.Contains(RlAdvantage), $"rl_advantage '{RlAdvantage}'", string.Join(", ", Quest.Models.Training.AdvantageEstimators.Names));
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
