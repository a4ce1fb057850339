using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Text.Json;
using System.Text.Json.Serialization;
using Quest.Core;
using Quest.Models.Checkpoints;
using Quest.Models.Runtime;
using Quest.Models.Tokenization;
using Quest.Models.Transformer;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace Quest.Models.Training;

/// <summary>Learning-rate schedule after warm-up.</summary>
public enum LrSchedule
{
    /// <summary>Cosine decay from the peak to <c>MinLrRatio · peak</c>.</summary>
    Cosine,
    /// <summary>Linear decay from the peak to <c>MinLrRatio · peak</c>.</summary>
    Linear,
    /// <summary>Constant peak.</summary>
    Constant,
}

/// <summary>Options of a training stage (pretrain / mid-training or SFT). Serialised with snake_case names.</summary>
public sealed record TrainingOptions
{
    /// <summary>Optimizer steps in total (a resumed run continues up to this).</summary>
    public int Steps { get; init; } = 200;
    /// <summary>Sequences per micro-batch.</summary>
    public int BatchSize { get; init; } = 8;
    /// <summary>Tokens per sequence (at most the model's max_seq_len).</summary>
    public int SeqLen { get; init; } = 128;
    /// <summary>Micro-batches accumulated per optimizer step (effective batch = BatchSize · GradAccum).</summary>
    public int GradAccum { get; init; } = 1;
    /// <summary>
    /// A micro-batch runs through the model in row chunks whose largest activation stays under this many bytes (same
    /// loss and gradients, several times faster on a CPU; see <c>ActivationChunks</c>). 0 = the whole micro-batch at once.
    /// </summary>
    public long ChunkBytes { get; init; } = ActivationChunks.DefaultBytes;
    /// <summary>Peak learning rate.</summary>
    public double LearningRate { get; init; } = 3e-3;
    /// <summary>Final learning rate as a fraction of the peak.</summary>
    public double MinLrRatio { get; init; } = 0.1;
    /// <summary>Linear warm-up steps from 0 to the peak.</summary>
    public int WarmupSteps { get; init; } = 20;
    /// <summary>Decay after warm-up.</summary>
    public LrSchedule Schedule { get; init; } = LrSchedule.Cosine;
    /// <summary>AdamW decoupled weight decay (applied to matrices only, not to norm gains).</summary>
    public double WeightDecay { get; init; } = 0.1;
    /// <summary>AdamW β1.</summary>
    public double Beta1 { get; init; } = 0.9;
    /// <summary>AdamW β2.</summary>
    public double Beta2 { get; init; } = 0.95;
    /// <summary>Clip the global gradient norm to this (0 = off).</summary>
    public double GradClip { get; init; } = 1.0;
    /// <summary>Compute the eval loss every N steps (0 = only at the end).</summary>
    public int EvalEvery { get; init; } = 50;
    /// <summary>Held-out batches averaged for the eval loss.</summary>
    public int EvalBatches { get; init; } = 4;
    /// <summary>Write a resumable checkpoint every N steps (0 = only at the end). Needs <see cref="OutputDir"/>.</summary>
    public int CheckpointEvery { get; init; } = 100;
    /// <summary>Stage directory (model, tokenizer, optimizer, metrics); null keeps everything in memory.</summary>
    public string? OutputDir { get; init; }
    /// <summary>Resume from <see cref="OutputDir"/> when it holds a trainer state.</summary>
    public bool Resume { get; init; } = true;
    /// <summary>Seed of the data order (model init has its own seed).</summary>
    public long Seed { get; init; } = 1234;
    /// <summary>Device: auto (cuda when available), cpu, cuda, cuda:N.</summary>
    public string Device { get; init; } = "auto";
    /// <summary>
    /// Matrix products: <c>fp32</c>, <c>bf16</c> (mixed precision, float32 master weights) or <c>auto</c> (bf16 on a CPU
    /// with native bfloat16 instructions); see <see cref="Transformer.Precision"/>.
    /// </summary>
    public string Precision { get; init; } = Transformer.Precision.Float32;

    /// <summary>
    /// Checks every field up front (finite rates, sizes that fit in memory, a known device), so a bad config fails
    /// with the file and field named instead of deep inside a run (a NaN learning rate used to surface only when a
    /// checkpoint was serialised; a batch of 2e9 rows ran until libtorch could not allocate).
    /// </summary>
    public TrainingOptions Validate(string? source = null)
    {
        void Need(bool ok, string field, object? value, string expected)
        {
            if (!ok) throw new QuestInputException(source, null, null, $"training.{field} {value}", expected);
        }
        Need(double.IsFinite(LearningRate) && LearningRate > 0 && LearningRate < 10, "learning_rate", LearningRate, "a finite rate in (0, 10)");
        Need(double.IsFinite(MinLrRatio) && MinLrRatio is >= 0 and <= 1, "min_lr_ratio", MinLrRatio, "a fraction in [0, 1]");
        Need(double.IsFinite(WeightDecay) && WeightDecay >= 0, "weight_decay", WeightDecay, "a finite value >= 0");
        Need(double.IsFinite(Beta1) && Beta1 is >= 0 and < 1, "beta1", Beta1, "in [0, 1)");
        Need(double.IsFinite(Beta2) && Beta2 is >= 0 and < 1, "beta2", Beta2, "in [0, 1)");
        Need(double.IsFinite(GradClip) && GradClip >= 0, "grad_clip", GradClip, "a finite value >= 0 (0: off)");
        Need(Steps is > 0 and <= 10_000_000, "steps", Steps, "1 to 10,000,000");
        Need(WarmupSteps >= 0, "warmup_steps", WarmupSteps, ">= 0");
        Need(BatchSize is > 0 and <= 65_536, "batch_size", BatchSize, "1 to 65,536");
        Need(SeqLen is > 1 and <= 1_048_576, "seq_len", SeqLen, "2 to 1,048,576");
        Need((long)BatchSize * SeqLen <= 16_777_216, "batch_size × seq_len", (long)BatchSize * SeqLen, "at most 16,777,216 tokens per micro-batch (use grad_accum for more)");
        Need(GradAccum is > 0 and <= 65_536, "grad_accum", GradAccum, "1 to 65,536");
        Need(ChunkBytes >= 0, "chunk_bytes", ChunkBytes, "0 (no chunks) or more bytes");
        Need(EvalEvery >= 0 && EvalBatches >= 0 && CheckpointEvery >= 0, "eval_every / eval_batches / checkpoint_every", $"{EvalEvery}/{EvalBatches}/{CheckpointEvery}", ">= 0");
        Need(System.Text.RegularExpressions.Regex.IsMatch(Device ?? "", "^(auto|cpu|cuda(:[0-9]+)?)$", System.Text.RegularExpressions.RegexOptions.IgnoreCase), "device", $"'{Device}'", "auto, cpu, cuda or cuda:N");
        Need(Transformer.Precision.IsKnown(Precision), "precision", $"'{Precision}'", Transformer.Precision.Expected);
        return this;
    }

    /// <summary>Learning rate at 1-based <paramref name="step"/>.</summary>
    /// <remarks>A warm-up as long as the whole run is shortened to a tenth of it (the peak is always reached).</remarks>
    public double LearningRateAt(int step)
    {
        int warmup = WarmupSteps >= Steps ? Math.Max(1, Steps / 10) : WarmupSteps;
        if (warmup > 0 && step <= warmup) return LearningRate * step / warmup;
        if (Schedule == LrSchedule.Constant || Steps <= warmup) return LearningRate;
        double progress = Math.Clamp((double)(step - warmup) / (Steps - warmup), 0, 1);
        double min = LearningRate * MinLrRatio;
        return Schedule == LrSchedule.Linear
            ? LearningRate - (LearningRate - min) * progress
            : min + 0.5 * (LearningRate - min) * (1 + Math.Cos(Math.PI * progress));
    }
}

/// <summary>What one optimizer step did. <see cref="ToString"/> is the fixed-format progress line.</summary>
public sealed record StepReport
{
    /// <summary>Stage name (pretrain, sft, …).</summary>
    public required string Stage { get; init; }
    /// <summary>1-based step.</summary>
    public required int Step { get; init; }
    /// <summary>Total steps of the stage.</summary>
    public required int TotalSteps { get; init; }
    /// <summary>Mean training loss over the step's micro-batches.</summary>
    public required double Loss { get; init; }
    /// <summary>Learning rate used.</summary>
    public required double LearningRate { get; init; }
    /// <summary>Global gradient norm before clipping.</summary>
    public required double GradNorm { get; init; }
    /// <summary>Tokens processed in this step (incl. those with no loss).</summary>
    public required long Tokens { get; init; }
    /// <summary>Tokens per second of this step.</summary>
    public required double TokensPerSecond { get; init; }
    /// <summary>Wall time of the step in milliseconds.</summary>
    public required double StepMs { get; init; }
    /// <summary>Held-out loss when evaluated at this step.</summary>
    public double? EvalLoss { get; init; }
    /// <summary>Checkpoint directory when one was written at this step.</summary>
    public string? Checkpoint { get; init; }

    /// <summary>
    /// <c>pretrain step    12/200 loss 3.4567 lr 3.00e-03 gnorm  1.234 tok/s   12345 ms  103.2 eval 3.5012 ckpt DIR</c>
    /// (eval and ckpt only when present).
    /// </summary>
    public override string ToString()
    {
        var w = TotalSteps.ToString().Length;
        var s = $"{Stage} step {Step.ToString().PadLeft(w)}/{TotalSteps} loss {Loss:0.0000} lr {LearningRate:0.00e+00} gnorm {GradNorm,7:0.000} tok/s {TokensPerSecond,7:0} ms {StepMs,7:0.0}";
        if (EvalLoss is double e) s += $" eval {e:0.0000}";
        if (Checkpoint is not null) s += $" ckpt {Checkpoint}";
        return s;
    }
}

/// <summary>Saved trainer position (trainer_state.json).</summary>
public sealed record TrainerState
{
    /// <summary>Stage name.</summary>
    [JsonPropertyName("stage")] public string Stage { get; init; } = "";
    /// <summary>Last completed step.</summary>
    [JsonPropertyName("step")] public int Step { get; init; }
    /// <summary>Options the run used.</summary>
    [JsonPropertyName("options")] public TrainingOptions? Options { get; init; }
}

/// <summary>
/// The training loop shared by every stage: next-token cross-entropy (ignoring targets of -100), AdamW, warm-up +
/// decay, gradient clipping and accumulation, periodic eval loss and atomic, resumable checkpoints.
/// </summary>
public sealed class Trainer
{
    /// <summary>JSON settings for options and trainer state (the kit's convention, indented: <see cref="JsonFiles.Indented"/>).</summary>
    public static JsonSerializerOptions Json => JsonFiles.Indented;

    /// <summary>Serializer settings of <c>metrics.jsonl</c> (one <see cref="StepReport"/> per line, snake_case; NaN losses allowed).</summary>
    public static JsonSerializerOptions MetricsJson => JsonFiles.Compact;

    private readonly ITrainingData _data;
    private readonly List<StepReport> _history = [];

    /// <summary>The model being trained.</summary>
    public QuestTransformer Model { get; }
    /// <summary>Its tokenizer (saved with checkpoints).</summary>
    public QuestTokenizer Tokenizer { get; }
    /// <summary>The options.</summary>
    public TrainingOptions Options { get; }
    /// <summary>Stage name written in reports and checkpoints.</summary>
    public string Stage { get; }
    /// <summary>Every step report so far (including those of a resumed run).</summary>
    public IReadOnlyList<StepReport> History => _history;

    /// <summary>Creates a trainer; the model is moved to the options' device.</summary>
    public Trainer(QuestTransformer model, QuestTokenizer tokenizer, ITrainingData data, TrainingOptions options, string stage = "train")
    {
        Model = model; Tokenizer = tokenizer; _data = data; Options = options; Stage = stage;
        if (options.SeqLen > model.Config.MaxSeqLen)
            throw new QuestInputException(null, null, null, $"seq_len {options.SeqLen} exceeds the model's max_seq_len {model.Config.MaxSeqLen}", "seq_len <= max_seq_len");
        if (tokenizer.VocabSize != model.Config.VocabSize)
            throw new QuestInputException(null, null, null, $"tokenizer has {tokenizer.VocabSize} tokens but the model's vocab_size is {model.Config.VocabSize}", "the same vocabulary");
    }

    /// <summary>A causal-LM (pre/mid-training) trainer over documents.</summary>
    public static Trainer Pretrain(QuestTransformer model, QuestTokenizer tokenizer, IEnumerable<string> documents, TrainingOptions options) =>
        new(model, tokenizer, new PackedTokenStream(documents, tokenizer), options, "pretrain");

    /// <summary>An SFT trainer over chat transcripts (loss on assistant tokens only).</summary>
    public static Trainer Sft(QuestTransformer model, QuestTokenizer tokenizer, IEnumerable<IReadOnlyList<ChatTurn>> transcripts, TrainingOptions options, int evalEvery = 0) =>
        new(model, tokenizer, new ChatSftData(transcripts, ChatTemplate.View(tokenizer, model.Config.View), options.SeqLen, evalEvery), options, "sft");

    /// <summary>Runs the stage, yielding one report per optimizer step. Cancelling stops between steps (a checkpoint is written first when an output dir is set).</summary>
    public async IAsyncEnumerable<StepReport> RunAsync([EnumeratorCancellation] CancellationToken ct = default)
    {
        var o = Options;
        var device = TorchRuntime.ResolveDevice(o.Device);
        Model.to(device);
        Model.train();
        using var precision = Model.UsePrecision(o.Precision, device);   // restored at the end: generation after training runs in float32
        using var opt = new AdamW(Model, o.WeightDecay, o.Beta1, o.Beta2);

        int start = 0;
        if (o.OutputDir is not null && o.Resume && File.Exists(Path.Combine(o.OutputDir, Checkpoint.TrainerStateFile)))
            start = ResumeFrom(o.OutputDir, opt, device);

        for (int step = start + 1; step <= o.Steps; step++)
        {
            if (ct.IsCancellationRequested)
            {
                if (o.OutputDir is not null && step - 1 > start) SaveCheckpoint(o.OutputDir, opt, step - 1);
                ct.ThrowIfCancellationRequested();
            }
            var sw = Stopwatch.StartNew();
            double lr = o.LearningRateAt(step);
            int s = step;
            // the step's libtorch work runs on the torch thread (see TorchThread): the loop itself resumes on any thread
            var (lossSum, tokens, gnorm, eval) = await TorchThread.RunAsync(() =>
            {
                opt.ZeroGrad();
                double loss = 0;
                long n = 0;
                for (int micro = 0; micro < o.GradAccum; micro++)
                {
                    using var scope = NewDisposeScope();
                    var (x, y) = _data.Batch(o.BatchSize, o.SeqLen, o.Seed, s, micro, device);
                    loss += BatchLoss(x, y, o.ChunkBytes, backward: true, scale: 1.0 / o.GradAccum);
                    n += x.numel();
                }
                double norm = opt.ClipGradNorm(o.GradClip);
                opt.Step(lr);
                double? ev = (o.EvalEvery > 0 && s % o.EvalEvery == 0) || s == o.Steps ? EvalLoss(device) : null;
                return (loss, n, norm, ev);
            }).ConfigureAwait(false);
            if (eval is double ev && double.IsNaN(ev)) eval = null;   // no held-out data
            sw.Stop();
            string? ckpt = null;
            var report = new StepReport
            {
                Stage = Stage, Step = step, TotalSteps = o.Steps, Loss = lossSum, LearningRate = lr, GradNorm = gnorm,
                Tokens = tokens, TokensPerSecond = tokens / Math.Max(1e-9, sw.Elapsed.TotalSeconds), StepMs = sw.Elapsed.TotalMilliseconds, EvalLoss = eval,
            };
            _history.Add(report);
            if (o.OutputDir is not null && ((o.CheckpointEvery > 0 && step % o.CheckpointEvery == 0) || step == o.Steps))
            {
                SaveCheckpoint(o.OutputDir, opt, step);
                ckpt = o.OutputDir;
                report = report with { Checkpoint = ckpt };
                _history[^1] = report;
            }
            yield return report;
        }
        Model.eval();
    }

    /// <summary>Runs to the end, returning every report (for scripts that do not stream).</summary>
    public async Task<IReadOnlyList<StepReport>> RunToEndAsync(Action<StepReport>? onStep = null, CancellationToken ct = default)
    {
        var list = new List<StepReport>();
        await foreach (var r in RunAsync(ct)) { list.Add(r); onStep?.Invoke(r); }
        return list;
    }

    /// <summary>
    /// The mean next-token loss of batch <paramref name="x"/> → <paramref name="y"/> over its targets (-100: ignored) times
    /// <paramref name="scale"/>; with <paramref name="backward"/>, the gradients too. Computed the way GRPO's update is
    /// (<see cref="Grpo.MicroBatchLoss"/>), with the same result as one forward over the whole batch:
    /// <list type="bullet">
    /// <item>each row is cut after its last target (attention is causal, so later positions cannot change the loss:
    /// the padding of a short SFT example costs nothing);</item>
    /// <item>rows run longest first in row chunks (<see cref="ActivationChunks"/>), each chunk as long as its longest row;</item>
    /// <item>when targets are sparse (SFT: loss on assistant tokens only) the LM head and softmax run only at the target
    /// positions.</item>
    /// </list>
    /// Each chunk contributes its summed loss over the batch's target count. NaN when no target counts.
    /// </summary>
    internal double BatchLoss(Tensor x, Tensor y, long chunkBytes, bool backward, double scale)
    {
        int rows = (int)x.shape[0], T = (int)x.shape[1], V = Model.Config.VocabSize, D = Model.Config.DModel;
        var spans = TargetSpans(y, out long targets);
        if (targets == 0) return double.NaN;
        // dense targets (pretraining: every position) take the logits of every position, no gather
        bool dense = targets * 2 >= (long)rows * T;
        var order = Enumerable.Range(0, rows).Where(r => spans[r] > 0).OrderByDescending(r => spans[r]).Select(r => (long)r).ToArray();
        using var rowIndex = tensor(order, device: x.device);
        double total = 0;
        for (int i = 0; i < order.Length;)
        {
            using var scope = NewDisposeScope();
            int len = spans[order[i]];
            int n = chunkBytes <= 0 ? order.Length : ActivationChunks.RowsPerChunk(Model.Config, len, allLogits: dense, chunkBytes);
            n = Math.Min(n, order.Length - i);
            // ids, not activations: gathering the chunk's rows copies a few KB
            var pick = rowIndex.narrow(0, i, n);
            var xc = x.index_select(0, pick).narrow(1, 0, len);
            var yc = y.index_select(0, pick).narrow(1, 0, len).reshape(-1);
            var h = Model.Hidden(xc, null, null, null).reshape(-1, D);
            Tensor loss;
            if (dense) loss = F.cross_entropy(Model.Logits(h).view(-1, V), yc, ignore_index: -100, reduction: nn.Reduction.Sum);
            else
            {
                var at = yc.ne(IgnoreIndex).nonzero().squeeze(1);
                loss = F.cross_entropy(Model.Logits(h.index_select(0, at)), yc.index_select(0, at), reduction: nn.Reduction.Sum);
            }
            using var factor = new ScalarLease();
            loss = loss.mul(factor.Of(scale / targets));
            if (backward) loss.backward();
            total += loss.item<float>();
            i += n;
        }
        return total;
    }

    /// <summary>The target id that counts for no loss (prompt and padding positions), as a held Scalar (see <see cref="Scalars"/>).</summary>
    private static readonly Scalar IgnoreIndex = Scalars.Of(-100L);

    /// <summary>Per row of targets <paramref name="y"/> <c>[B, T]</c>: one past its last target (0: none); and the target count.</summary>
    internal static int[] TargetSpans(Tensor y, out long targets)
    {
        using var scope = NewDisposeScope();
        var has = y.ne(IgnoreIndex);
        targets = has.sum().item<long>();
        using var lease = new ScalarLease();
        var pos = arange(Scalars.One, lease.Of(y.shape[1] + 1), Scalars.One, dtype: ScalarType.Int64, device: y.device).unsqueeze(0) * has;
        return pos.amax([1L]).cpu().data<long>().Select(v => (int)v).ToArray();
    }

    /// <summary>Mean loss over the held-out batches (NaN when there are none).</summary>
    public double EvalLoss(Device? device = null) => TorchThread.Run(() => EvalLossHere(device));

    private double EvalLossHere(Device? device)
    {
        device ??= Model.Device;
        bool wasTraining = Model.training;
        Model.eval();
        using var _ = no_grad();
        double sum = 0; int n = 0;
        foreach (var (x, y) in _data.EvalBatches(Options.BatchSize, Options.SeqLen, Options.EvalBatches, device))
        {
            using var scope = NewDisposeScope();
            var v = BatchLoss(x, y, Options.ChunkBytes, backward: false, scale: 1.0);
            if (!double.IsNaN(v)) { sum += v; n++; }
            x.Dispose(); y.Dispose();
        }
        if (wasTraining) Model.train();
        return n == 0 ? double.NaN : sum / n;
    }

    private void SaveCheckpoint(string dir, AdamW opt, int step)
    {
        Checkpoint.Save(dir, Model, Tokenizer, tmp =>
        {
            opt.Save(Path.Combine(tmp, Checkpoint.OptimizerFile));
            File.WriteAllText(Path.Combine(tmp, Checkpoint.TrainerStateFile),
                JsonSerializer.Serialize(new TrainerState { Stage = Stage, Step = step, Options = Options }, Json));
            using var w = new StreamWriter(Path.Combine(tmp, Checkpoint.MetricsFile));
            foreach (var r in _history.Where(r => r.Step <= step)) w.WriteLine(JsonSerializer.Serialize(r, MetricsJson));
        });
    }

    private int ResumeFrom(string dir, AdamW opt, Device device)
    {
        var statePath = Path.Combine(dir, Checkpoint.TrainerStateFile);
        TrainerState state;
        try { state = JsonSerializer.Deserialize<TrainerState>(File.ReadAllText(statePath), Json) ?? throw new JsonException("null"); }
        catch (JsonException ex) { throw new QuestInputException(statePath, null, null, $"invalid trainer state: {ex.Message}", "trainer_state.json written by Trainer", ex); }
        var cfg = ModelConfig.Load(Path.Combine(dir, Checkpoint.ConfigFile));
        if (cfg with { MaxSeqLen = Model.Config.MaxSeqLen } != Model.Config with { })
            throw new QuestInputException(Path.Combine(dir, Checkpoint.ConfigFile), null, null, $"the checkpoint's model ({cfg}) differs from the one being trained ({Model.Config})", "the same model config to resume");
        Checkpoint.LoadWeights(Model, Path.Combine(dir, Checkpoint.WeightsFile));
        Model.to(device);
        opt.Load(Path.Combine(dir, Checkpoint.OptimizerFile));
        var metrics = Path.Combine(dir, Checkpoint.MetricsFile);
        if (File.Exists(metrics)) _history.AddRange(Jsonl.Read<StepReport>(metrics, tolerateTornTail: true, MetricsJson, legacyKeys: true));
        return state.Step;
    }
}
