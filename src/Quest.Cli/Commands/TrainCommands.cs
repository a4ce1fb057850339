using System.CommandLine;
using Quest.Core;
using Quest.Models.Training;

namespace Quest.Cli.Commands;

/// <summary>
/// <c>quest train pretrain|sft</c>: runs a training stage from a JSON/YAML stage config (see <see cref="StageConfig"/>)
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
        train.Subcommands.Add(EvalCommands.CreateRl());
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
}
