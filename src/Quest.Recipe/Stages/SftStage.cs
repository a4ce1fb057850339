using Quest.Core;
using Quest.Models.Checkpoints;
using Quest.Models.Generation;
using Quest.Models.Runtime;
using Quest.Models.Tokenization;
using Quest.Models.Training;

namespace Quest.Recipe;

/// <summary>Stage 6 of the recipe: supervised fine-tuning on the teacher's turns, each shown as the agent will see its episode.</summary>
public static class SftStage
{
    /// <summary>Stage 6: fine-tunes the pretrained model on the teacher transcripts (one example per assistant turn, loss on it only).</summary>
    public static async Task<Dictionary<string, double>> RunAsync(Recipe.StageContext c, CancellationToken ct)
    {
        var o = c.Options;
        var loaded = Checkpoint.Load(c.Paths.Pretrain, TorchRuntime.ResolveDevice(o.Device));
        var transcripts = ChatTemplate.ReadTranscripts(c.Paths.SftTranscripts).Select(t => (IReadOnlyList<ChatTurn>)t).ToList();
        var data = Data(o, ChatTemplate.View(loaded.Tokenizer, loaded.Model.Config.View), transcripts);
        c.Progress($"{transcripts.Count} transcripts → {data.Count} turn examples ({data.EvalCount} held out), {data.TargetTokens:N0} assistant tokens", null);
        var trainer = new Trainer(loaded.Model, loaded.Tokenizer, data, new TrainingOptions
        {
            Steps = o.SftSteps, BatchSize = o.SftBatch, SeqLen = o.ContextTokens, LearningRate = o.SftLearningRate,
            WarmupSteps = Math.Max(1, o.SftSteps / 10), EvalEvery = Math.Max(1, o.SftSteps / 4), CheckpointEvery = Math.Max(10, o.SftSteps / 6),
            OutputDir = c.Paths.Sft, Resume = true, Seed = o.Seed + 1, Device = o.Device,
        }, "sft");
        var before = Probes.CopyAccuracy(loaded.Model, data.EvalExamples);
        var m = await Recipe.TrainAsync(c, trainer, new() { ["examples"] = data.Count, ["assistant_tokens"] = data.TargetTokens }, ct).ConfigureAwait(false);
        var after = Probes.CopyAccuracy(loaded.Model, data.EvalExamples);
        c.Progress(FormattableString.Invariant($"held-out teacher-forced accuracy: copy tokens {before.CopyAccuracy:0.000} -> {after.CopyAccuracy:0.000}, other tokens {before.OtherAccuracy:0.000} -> {after.OtherAccuracy:0.000}"), null);
        m["copy_token_acc_before"] = Math.Round(before.CopyAccuracy, 4);
        m["copy_token_acc"] = Math.Round(after.CopyAccuracy, 4);
        m["other_token_acc"] = Math.Round(after.OtherAccuracy, 4);
        return m;
    }

    /// <summary>
    /// The SFT set of a run: one example per assistant turn of <paramref name="transcripts"/> under <paramref name="view"/>,
    /// the prompt cut to the window minus the reply budget as rollouts cut it, every 10th transcript held out for the
    /// eval loss.
    /// </summary>
    public static ChatSftData Data(RecipeOptions o, AgentView view, IReadOnlyList<IReadOnlyList<ChatTurn>> transcripts) =>
        new(transcripts, view, o.ContextTokens, evalEvery: 10, lengthGroup: o.SftLengthGroup, replyTokens: o.EvalMaxNewTokens);

}
