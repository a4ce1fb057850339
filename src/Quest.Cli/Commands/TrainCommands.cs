using System.CommandLine;
using Quest.Core;
using Quest.Models.Checkpoints;
using Quest.Recipe;
using Quest.Synthesis;
using Quest.World;
using Quest.Models.Training;

namespace Quest.Cli.Commands;

/// <summary>
/// <c>quest train pretrain|sft|rl</c>: pretrain and sft run from a JSON/YAML stage config (see <see cref="StageConfig"/>)
/// and/or flags, printing one fixed-format line per step. Re-running the same command resumes from the last checkpoint.
/// </summary>
public static class TrainCommands
{
    /// <summary>Builds the command.</summary>
    public static Command Create()
    {
        var train = new Command("train", "Train a model stage: pretrain (mid-training), sft or rl (GRPO).");
        train.Subcommands.Add(Stage("pretrain", "Causal-LM pre/mid-training on documents (.txt/.md files or .jsonl with \"text\")."));
        train.Subcommands.Add(Stage("sft", "Supervised fine-tuning on chat transcripts (.jsonl with \"messages\"); loss on assistant tokens only."));
        train.Subcommands.Add(Rl());
        return train;
    }

    private static Command Stage(string stage, string description)
    {
        var cmd = new Command(stage, description);
        var config = new Option<string?>("--config") { Description = "Stage config file (.json, .yaml, .yml)." };
        var data = new Option<string[]>("--data") { Description = "Training data files (override the config's data).", AllowMultipleArgumentsPerToken = true };
        var output = new Option<string?>("--output") { Description = "Stage directory (checkpoints, final model)." };
        var init = new Option<string?>("--init") { Description = "Start from this stage directory's model and tokenizer." };
        var preset = new Option<string?>("--model") { Description = "Model preset for a fresh model: tiny, small, base, medium." };
        var steps = new Option<int?>("--steps") { Description = "Optimizer steps." };
        var batch = new Option<int?>("--batch-size") { Description = "Sequences per micro-batch." };
        var seq = new Option<int?>("--seq-len") { Description = "Tokens per sequence." };
        var lr = new Option<double?>("--lr") { Description = "Peak learning rate." };
        var device = new Option<string?>("--device") { Description = "auto (cuda when available), cpu, cuda, cuda:N." };
        var vocab = new Option<int?>("--vocab-size") { Description = "Vocabulary of a tokenizer trained on the data." };
        var precision = new Option<string?>("--precision") { Description = "Matrix products: fp32, bf16 (mixed precision, float32 weights) or auto (bf16 on a CPU with native bfloat16 instructions)." };
        var noResume = new Option<bool>("--no-resume") { Description = "Start over even when the output directory holds a checkpoint." };
        foreach (var o in new Option[] { config, data, output, init, preset, steps, batch, seq, lr, device, vocab, precision, noResume }) cmd.Options.Add(o);
        cmd.SetAction(async (ParseResult pr, CancellationToken ct) =>
        {
            try
            {
                var cfgPath = pr.GetValue(config);
                var cfg = cfgPath is not null ? StageConfig.Load(cfgPath) : new StageConfig { Stage = stage };
                if (cfg.Stage != stage)
                    throw new QuestInputException(cfgPath, null, null, $"the config is for stage '{cfg.Stage}' but 'quest train {stage}' was run", $"stage: {stage}");
                var t = cfg.Training;
                cfg = cfg with
                {
                    Data = pr.GetValue(data) is { Length: > 0 } d ? d.Select(Path.GetFullPath).ToList() : cfg.Data,
                    Output = pr.GetValue(output) is { } outDir ? QuestPaths.OutputDirectory(outDir, "--output") : cfg.Output,
                    Init = pr.GetValue(init) is { } i ? Path.GetFullPath(i) : cfg.Init,
                    Model = pr.GetValue(preset) ?? cfg.Model,
                    VocabSize = pr.GetValue(vocab) ?? cfg.VocabSize,
                    Training = t with
                    {
                        Steps = pr.GetValue(steps) ?? t.Steps,
                        BatchSize = pr.GetValue(batch) ?? t.BatchSize,
                        SeqLen = pr.GetValue(seq) ?? t.SeqLen,
                        LearningRate = pr.GetValue(lr) ?? t.LearningRate,
                        Device = pr.GetValue(device) ?? t.Device,
                        Precision = pr.GetValue(precision) ?? t.Precision,
                        Resume = !pr.GetValue(noResume) && t.Resume,
                    },
                };
                cfg = cfg.Validate();
                try { Directory.CreateDirectory(cfg.OutputDir); }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException)
                { throw new QuestInputException(cfg.OutputDir, null, null, $"cannot create {cfg.OutputDir}: {e.Message}", "an --output directory that can be written", e); }
                var trainer = cfg.CreateTrainer(line => pr.InvocationConfiguration.Output.WriteLine($"# {line}"));
                if (trainer.History.Count > 0 || File.Exists(Path.Combine(cfg.OutputDir, Quest.Models.Checkpoints.Checkpoint.TrainerStateFile)))
                    pr.InvocationConfiguration.Output.WriteLine($"# resuming from {cfg.OutputDir}");
                try
                {
                    await foreach (var r in trainer.RunAsync(ct)) pr.InvocationConfiguration.Output.WriteLine(r.ToString());
                }
                catch (OperationCanceledException e)
                {
                    return CliGuard.Report(pr.InvocationConfiguration.Error, e, $"cancelled: progress saved in {cfg.OutputDir} (run the same command to resume)");
                }
                pr.InvocationConfiguration.Output.WriteLine($"# done: {cfg.OutputDir}");
                return 0;
            }
            catch (Exception ex) { return CliGuard.Report(pr.InvocationConfiguration.Error, ex); }
        });
        return cmd;
    }

    /// <summary>Builds <c>quest train rl</c>.</summary>
    private static Command Rl()
    {
        var cmd = new Command("rl", "GRPO over the agent's own rollouts, from a checkpoint (e.g. the SFT stage), on the train tasks of a task file.");
        var init = new Option<string>("--init") { Description = "Checkpoint to start from (the SFT stage directory).", Required = true };
        var tasks = new Option<string>("--tasks") { Description = "Task JSONL; its train split is used.", Required = true };
        var corpus = new Option<string>("--corpus") { Description = "Corpus the tasks were built on (a stored corpus name or directory).", DefaultValueFactory = _ => "world" };
        var output = new Option<string>("--output") { Description = "Stage directory (checkpoints, metrics); re-running resumes.", Required = true };
        var steps = new Option<int?>("--steps") { Description = "RL steps." };
        var prompts = new Option<int?>("--prompts") { Description = "Tasks per step." };
        var group = new Option<int?>("--group-size") { Description = "Rollouts per task (QUEST: 8)." };
        var lr = new Option<double?>("--lr") { Description = "Peak learning rate." };
        var maxTurns = new Option<int?>("--max-turns") { Description = "Model calls per rollout." };
        var maxTokens = new Option<int?>("--max-tokens") { Description = "Tokens per model call." };
        var device = new Option<string?>("--device") { Description = "auto, cpu, cuda." };
        var temperature = new Option<double?>("--temperature") { Description = "Rollout sampling temperature, also the temperature of the policy the update optimises (QUEST: 1.0)." };
        var miniBatches = new Option<int?>("--mini-batches") { Description = "Optimizer steps per rollout batch (QUEST: 4)." };
        var noStd = new Option<bool>("--no-std") { Description = "Advantages r − group mean, not divided by the group's standard deviation (Dr. GRPO)." };
        var toolOutput = EvalCommands.ToolOutputOption();
        var precision = new Option<string?>("--precision") { Description = "Matrix products of the update: auto (default: bf16 on a CPU with native bfloat16 instructions), fp32 or bf16 (mixed precision); rollouts compute in float32." };
        var seed = new Option<long?>("--seed") { Description = "Seed of the task order and of the rollouts' sampling (default 1): runs with other seeds are independent samples of the stage." };
        var update = new Option<string?>("--update") { Description = "The policy update: ppo_clip (default, QUEST's) or rft (rejection-sampling fine-tuning on the rollouts that beat their baseline)." };
        var advantage = new Option<string?>("--advantage") { Description = "How rewards become advantages: grpo (default; --no-std for Dr. GRPO), rloo, reinforce (the batch mean as baseline), or scst (one greedy rollout per task as baseline)." };
        var keepGroups = new Option<double?>("--keep-groups") { Description = "Share of each step's groups the update trains on, those with the largest reward spread (default 1: every group, QUEST's; RAGEN keeps 0.25)." };
        foreach (var o in new Option[] { init, tasks, corpus, output, steps, prompts, group, lr, maxTurns, maxTokens, device, temperature, miniBatches, noStd, advantage, update, keepGroups, toolOutput, precision, seed }) cmd.Options.Add(o);
        cmd.SetAction(async (ParseResult pr, CancellationToken ct) =>
        {
            var err = pr.InvocationConfiguration.Error;
            var outW = pr.InvocationConfiguration.Output;
            var d = new RlOptions();
            var o = d;   // set inside the try: the output path is checked there
            try
            {
                o = d with
                {
                    Steps = pr.GetValue(steps) ?? d.Steps, PromptsPerStep = pr.GetValue(prompts) ?? d.PromptsPerStep, GroupSize = pr.GetValue(group) ?? d.GroupSize,
                    MaxTurns = pr.GetValue(maxTurns) ?? d.MaxTurns, MaxNewTokens = pr.GetValue(maxTokens) ?? d.MaxNewTokens, Device = pr.GetValue(device) ?? d.Device,
                    Temperature = pr.GetValue(temperature) ?? d.Temperature, Seed = pr.GetValue(seed) ?? d.Seed, Advantage = pr.GetValue(advantage) ?? d.Advantage, Update = pr.GetValue(update) ?? d.Update, KeepGroups = pr.GetValue(keepGroups) ?? d.KeepGroups,
                    Grpo = d.Grpo with { LearningRate = pr.GetValue(lr) ?? d.Grpo.LearningRate, MiniBatches = pr.GetValue(miniBatches) ?? d.Grpo.MiniBatches, ScaleByStd = !pr.GetValue(noStd), Precision = pr.GetValue(precision) ?? d.Grpo.Precision }, OutputDir = QuestPaths.OutputDirectory(pr.GetValue(output), "--output"),
                };
                o.Validate("command line");
                var initDir = pr.GetValue(init)!;
                if (!Checkpoint.Exists(initDir)) throw new QuestInputException(initDir, null, null, "no checkpoint here", "--init DIR with config.json and model.safetensors");
                var list = TaskFile.Read(pr.GetValue(tasks)!).Where(t => t.Split == "train").ToList();
                if (list.Count == 0) throw new QuestInputException(pr.GetValue(tasks), null, null, "no train tasks", "a task file with a train split");
                using var sc = WorldEnvironment.Open(pr.GetValue(corpus)!);
                var view = Quest.Models.Transformer.ModelConfig.Load(Path.Combine(initDir, Checkpoint.ConfigFile)).View;
                var trainer = RlTrainer.Create(initDir, list, sc.ToolsSized(EvalCommands.Sizes(pr.GetValue(toolOutput)!, view)), new Synthesizer(sc.Graph).Verifier.Reward, o);
                if (trainer.History.Count > 0) outW.WriteLine($"# resuming from {o.OutputDir} at step {trainer.History[^1].Step}");
                await foreach (var r in trainer.RunAsync(ct)) outW.WriteLine(r.ToString());
                outW.WriteLine($"# done: {o.OutputDir}");
                return 0;
            }
            catch (Exception ex) { return CliGuard.Report(err, ex, $"cancelled: progress saved in {o.OutputDir} (run the same command to resume)"); }
        });
        return cmd;
    }
}
