using Quest.Models.Runtime;
using Quest.Models.Transformer;
using Quest.Models.Generation;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace Quest.Models.Training;

/// <summary>
/// One RL training row: a prompt the policy saw, the tokens it generated (token in, token out: never re-tokenised),
/// their log-probs at sampling time, and the advantage of the rollout the row belongs to. A rollout gives one row per
/// model call; every row of a rollout shares its reward, advantage and group id (QUEST trains each context session as
/// its own row the same way).
/// </summary>
/// <param name="PromptIds">The prompt (no loss).</param>
/// <param name="TokenIds">The generated tokens (loss taken on each).</param>
/// <param name="Logprobs">log π_old(token | prefix) per generated token.</param>
/// <param name="Advantage">The rollout's group-relative advantage.</param>
/// <param name="GroupId">The prompt (task) the rollout belongs to.</param>
public sealed record RlSample(int[] PromptIds, int[] TokenIds, float[] Logprobs, double Advantage, string GroupId);

/// <summary>Group-relative advantages of a batch of rollouts.</summary>
/// <param name="Values">Advantage per rollout (0 in groups whose rewards are all equal).</param>
/// <param name="Groups">Groups in the batch.</param>
/// <param name="ZeroVarianceGroups">Groups whose rewards were all equal: they carry no signal and are left out of the loss.</param>
public sealed record GroupAdvantages(double[] Values, int Groups, int ZeroVarianceGroups);

/// <summary>Settings of the GRPO policy update (defaults follow QUEST §6.1 where they apply; the learning rate is the small model's).</summary>
public sealed record GrpoOptions
{
    /// <summary>Lower PPO clip ε (ratio ≥ 1 − ε). QUEST: 0.2.</summary>
    public double ClipLow { get; init; } = 0.2;
    /// <summary>Upper PPO clip ε (ratio ≤ 1 + ε; DAPO clip-higher). QUEST: 0.28.</summary>
    public double ClipHigh { get; init; } = 0.28;
    /// <summary>Divide by the group's reward standard deviation (QUEST/verl GRPO: yes; Dr. GRPO: no).</summary>
    public bool ScaleByStd { get; init; } = true;
    /// <summary>Peak learning rate (QUEST: 1e-6 at 30B; the recipe's 1M-parameter model measured best at 3e-5 of 1e-4 and 3e-5).</summary>
    public double LearningRate { get; init; } = 3e-5;
    /// <summary>Global gradient-norm clip. QUEST: 1.0.</summary>
    public double GradClip { get; init; } = 1.0;
    /// <summary>AdamW weight decay on matrices. QUEST: 0.1.</summary>
    public double WeightDecay { get; init; } = 0.1;
    /// <summary>Optimizer steps per rollout batch (rows split into this many mini-batches; QUEST: 4). Clipping only
    /// matters from the second one on, when the policy has moved away from the one that sampled.</summary>
    public int MiniBatches { get; init; } = 2;
    /// <summary>
    /// Rows per forward/backward pass (memory and speed, not maths: gradients accumulate over a mini-batch). Small
    /// passes keep activations out of fresh mmaps (see <c>ActivationChunks</c>): 64 rows of ~400 tokens at d4 took
    /// 4.0 s in passes of 16 rows, 2.9 s in passes of 8 or 4 (one core).
    /// </summary>
    public int MicroBatch { get; init; } = 4;
    /// <summary>
    /// Matrix products of the update (<see cref="Transformer.Precision"/>: <c>auto</c>, the default, is bf16 on a CPU with
    /// native bfloat16 instructions; fp32; bf16). The update's passes of one RL step of the tiny SFT model took 3–14% less
    /// time in bf16 than in fp32 in four runs on a 2-core AMD EPYC (<c>quest bench rollout</c>, <c>update_passes_bf16_s</c>). The
    /// rollouts' log-probs come from float32 products, so bf16 makes the first mini-batch's ratio differ from 1 by
    /// rounding: on 960 sampled tokens of the tiny SFT model, mean |Δ log p| 0.0044 (largest 0.09), far inside the
    /// 0.2 / 0.28 clip range.
    /// </summary>
    public string Precision { get; init; } = Transformer.Precision.Auto;
    /// <summary>
    /// Temperature of the policy being optimised: the logits are divided by it before the log-softmax, so the ratio
    /// compares π_T of the current weights with the π_T the rollouts were sampled from (their stored log-probs are at the
    /// sampling temperature, <see cref="Generation.GeneratedSequence"/>). 1 is QUEST's. The RL stage sets it to its
    /// rollout temperature.
    /// </summary>
    public double Temperature { get; init; } = 1.0;
}

/// <summary>
/// What one policy update did: the measures every update has, and the named set its algorithm adds (for PPO clip:
/// <c>entropy</c> and <c>clip_fraction</c>). The RL step report, its frames, charts and report card carry the named set
/// as it comes, so a new update's measures need no new field anywhere.
/// </summary>
/// <param name="Loss">Mean loss over the mini-batches.</param>
/// <param name="GradNorm">Mean gradient norm before clipping.</param>
/// <param name="Rows">Rows trained on.</param>
/// <param name="Tokens">Generated tokens trained on.</param>
/// <param name="Metrics">The algorithm's own measures, by snake_case name.</param>
public sealed record PolicyUpdateReport(double Loss, double GradNorm, int Rows, long Tokens, IReadOnlyDictionary<string, double> Metrics)
{
    /// <summary>Nothing trained (no row carried signal): every measure of the update, <paramref name="names"/>, at 0, so
    /// the step's progress line keeps its fields.</summary>
    public static PolicyUpdateReport Nothing(params string[] names) => new(0, 0, 0, 0, names.ToDictionary(n => n, _ => 0.0));
}

/// <summary>
/// GRPO as QUEST runs it (verl, §6.1): group-relative advantages, token-level PPO clipping with clip-higher
/// (0.2 / 0.28), no KL term, the loss only on tokens the policy generated, aggregated seq-mean-token-mean (each row's
/// mean over its tokens, then the mean over rows). Groups whose rewards are all equal give zero advantage and are
/// dropped before the update.
/// </summary>
public static class Grpo
{
    /// <summary>
    /// Advantages of rollouts with <paramref name="rewards"/> in groups <paramref name="groupIds"/>: r − mean(group),
    /// divided by the group's standard deviation (+1e-6) when <paramref name="scaleByStd"/>. They sum to zero per group.
    /// </summary>
    public static GroupAdvantages Advantages(IReadOnlyList<double> rewards, IReadOnlyList<string> groupIds, bool scaleByStd = true)
    {
        AdvantageEstimators.CheckLengths(rewards, groupIds);
        var adv = new double[rewards.Count];
        int groups = 0, zero = 0;
        foreach (var idx in AdvantageEstimators.Groups(groupIds))
        {
            groups++;
            double mean = idx.Average(i => rewards[i]);
            double var = idx.Average(i => (rewards[i] - mean) * (rewards[i] - mean));
            double std = Math.Sqrt(idx.Length > 1 ? var * idx.Length / (idx.Length - 1) : 0);   // unbiased, as torch.std
            if (AdvantageEstimators.Flat(rewards, idx)) { zero++; continue; }
            foreach (var i in idx) adv[i] = scaleByStd ? (rewards[i] - mean) / (std + 1e-6) : rewards[i] - mean;
        }
        return new GroupAdvantages(adv, groups, zero);
    }

    /// <summary>
    /// Right-padded tensors of <paramref name="rows"/>: input ids <c>[B, T]</c> (prompt + generated, last token dropped),
    /// target ids <c>[B, T]</c>, loss mask <c>[B, T]</c> (1 exactly where the target is a generated token), old
    /// log-probs <c>[B, T]</c> and advantages <c>[B]</c>.
    /// </summary>
    public static (Tensor Input, Tensor Target, Tensor Mask, Tensor OldLogprobs, Tensor Advantages) Collate(IReadOnlyList<RlSample> rows, int padId, Device device)
    {
        int T = rows.Max(r => r.PromptIds.Length + r.TokenIds.Length) - 1;
        int B = rows.Count;
        var x = new long[B * T];
        var y = new long[B * T];
        var m = new float[B * T];
        var old = new float[B * T];
        var a = new float[B];
        for (int b = 0; b < B; b++)
        {
            var r = rows[b];
            if (r.TokenIds.Length == 0 || r.PromptIds.Length == 0) throw new ArgumentException("every RL row needs prompt and generated tokens");
            if (r.Logprobs.Length != r.TokenIds.Length) throw new ArgumentException("one log-prob per generated token");
            var seq = r.PromptIds.Concat(r.TokenIds).ToArray();
            for (int t = 0; t < T; t++)
            {
                x[b * T + t] = t < seq.Length - 1 ? seq[t] : padId;
                y[b * T + t] = t < seq.Length - 1 ? seq[t + 1] : padId;
                int g = t + 1 - r.PromptIds.Length;   // index of the target within the generated tokens
                if (g >= 0 && g < r.TokenIds.Length) { m[b * T + t] = 1; old[b * T + t] = r.Logprobs[g]; }
            }
            a[b] = (float)r.Advantage;
        }
        return (tensor(x, [B, T], device: device), tensor(y, [B, T], device: device), tensor(m, [B, T], device: device),
                tensor(old, [B, T], device: device), tensor(a, [B], device: device));
    }

    /// <summary>
    /// The clipped policy loss of one micro-batch, summed over its rows (each row: the mean over its generated tokens of
    /// max(−A·ratio, −A·clip(ratio, 1−ε_low, 1+ε_high)), ratio = exp(log π − log π_old)); divide by the mini-batch's row
    /// count for the seq-mean-token-mean loss. Also returns the clipped-token count and the entropy sum (no gradient).
    /// <paramref name="logits"/> are <c>[B, T, vocab]</c>; the loss reads only the generated positions (<see cref="TokenLoss"/>).
    /// </summary>
    public static (Tensor LossSum, double ClippedTokens, double EntropySum) PolicyLoss(Tensor logits, Tensor target, Tensor mask, Tensor oldLogprobs, Tensor advantages, double clipLow, double clipHigh)
    {
        var t = Select(target, mask, oldLogprobs, advantages);
        var sel = logits.reshape(-1, logits.shape[^1]).index_select(0, t.Index);
        return TokenLoss(sel, t, clipLow, clipHigh);
    }

    /// <summary>
    /// The generated tokens of a collated micro-batch, flattened: their flat positions in <c>[B·T]</c>, targets, old
    /// log-probs, advantages (the row's) and weights (1 / the row's generated-token count, so a sum over tokens is the
    /// sum over rows of each row's token mean).
    /// </summary>
    public static GeneratedTokens Select(Tensor target, Tensor mask, Tensor oldLogprobs, Tensor advantages)
    {
        long B = mask.shape[0], T = mask.shape[1];
        var idx = mask.reshape(-1).nonzero().squeeze(1);
        var perRow = mask.sum(1).clamp_min(Scalars.One).reciprocal().unsqueeze(1).expand(B, T).reshape(-1);
        return new GeneratedTokens(idx, target.reshape(-1).index_select(0, idx), oldLogprobs.reshape(-1).index_select(0, idx),
            advantages.unsqueeze(1).expand(B, T).reshape(-1).index_select(0, idx), perRow.index_select(0, idx));
    }

    /// <summary>The clipped loss (summed as <see cref="PolicyLoss"/>) of the generated tokens' logits <c>[N, vocab]</c>.</summary>
    public static (Tensor LossSum, double ClippedTokens, double EntropySum) TokenLoss(Tensor logits, GeneratedTokens t, double clipLow, double clipHigh)
    {
        var logp = F.log_softmax(logits, -1);
        var tokLogp = logp.gather(-1, t.Target.unsqueeze(-1)).squeeze(-1);
        var ratio = (tokLogp - t.OldLogprobs).exp();
        var pg1 = -t.Advantages * ratio;
        var pg2 = -t.Advantages * ratio.clamp(Scalars.Of(1 - clipLow), Scalars.Of(1 + clipHigh));
        var loss = (maximum(pg1, pg2) * t.Weights).sum();
        double clipped, entropy;
        using (no_grad())
        {
            clipped = pg2.gt(pg1).sum().item<long>();
            entropy = (-(logp.exp() * logp).sum(-1)).sum().item<float>();
        }
        return (loss, clipped, entropy);
    }

    /// <summary>
    /// A mini-batch's rows in micro-batches of at most <paramref name="size"/> sequences, longest first, so sequences of
    /// like length share a micro-batch and little is padding. A sequence is a chain of rows (<see cref="Chains"/>: one
    /// model call, or several that extend each other), kept together and in order. Regrouping is exact: gradients
    /// accumulate over the whole mini-batch.
    /// </summary>
    public static List<List<RlSample>> MicroBatches(IReadOnlyList<RlSample> rows, int size) =>
        Chains(rows).OrderByDescending(c => c[^1].PromptIds.Length + c[^1].TokenIds.Length).Chunk(Math.Max(1, size))
            .Select(c => c.SelectMany(x => x).ToList()).ToList();

    /// <summary>
    /// Consecutive rows that extend each other, as one sequence each: row i + 1 joins row i's chain when its prompt is
    /// row i's prompt and generated tokens followed by more (the next call of the same rollout, under a view that did not
    /// re-window in between, <c>question_recent_stepped</c>). A causal model gives every earlier row's tokens the same
    /// log-probs inside the longer sequence, so a chain is trained as one row of the chain's last prompt and tokens, with
    /// each call's tokens weighted as in its own row: the same loss and gradients for fewer positions (QUEST trains a
    /// context session as one row the same way).
    /// </summary>
    public static List<RlSample[]> Chains(IReadOnlyList<RlSample> rows)
    {
        var chains = new List<RlSample[]>();
        var current = new List<RlSample>();
        foreach (var r in rows)
        {
            if (current.Count > 0 && !Extends(r, current[^1])) { chains.Add([.. current]); current.Clear(); }
            current.Add(r);
        }
        if (current.Count > 0) chains.Add([.. current]);
        return chains;
    }

    /// <summary>Whether <paramref name="next"/>'s prompt is <paramref name="prev"/>'s prompt and generated tokens followed by more, in the same group.</summary>
    private static bool Extends(RlSample next, RlSample prev)
    {
        int p = prev.PromptIds.Length, g = prev.TokenIds.Length;
        return next.GroupId == prev.GroupId && next.PromptIds.Length > p + g
            && next.PromptIds.AsSpan(0, p).SequenceEqual(prev.PromptIds) && next.PromptIds.AsSpan(p, g).SequenceEqual(prev.TokenIds);
    }

    /// <summary>
    /// Right-padded tensors of chains of rows (<see cref="Chains"/>; one sequence each, the chain's last prompt and
    /// generated tokens): input ids <c>[B, T]</c>, target ids, and per target position the loss mask (1 where the target
    /// is a token some row of the chain generated), its old log-prob, its row's advantage and its weight (1 / that row's
    /// generated-token count).
    /// </summary>
    public static (Tensor Input, Tensor Target, Tensor Mask, Tensor OldLogprobs, Tensor Advantages, Tensor Weights) CollateChains(IReadOnlyList<RlSample[]> chains, int padId, Device device)
    {
        int T = chains.Max(c => c[^1].PromptIds.Length + c[^1].TokenIds.Length) - 1;
        int B = chains.Count;
        var x = new long[B * T];
        var y = new long[B * T];
        var m = new float[B * T];
        var old = new float[B * T];
        var a = new float[B * T];
        var w = new float[B * T];
        for (int b = 0; b < B; b++)
        {
            var last = chains[b][^1];
            var seq = last.PromptIds.Concat(last.TokenIds).ToArray();
            for (int t = 0; t < T; t++)
            {
                x[b * T + t] = t < seq.Length - 1 ? seq[t] : padId;
                y[b * T + t] = t < seq.Length - 1 ? seq[t + 1] : padId;
            }
            foreach (var r in chains[b])
            {
                if (r.TokenIds.Length == 0 || r.PromptIds.Length == 0) throw new ArgumentException("every RL row needs prompt and generated tokens");
                if (r.Logprobs.Length != r.TokenIds.Length) throw new ArgumentException("one log-prob per generated token");
                for (int g = 0; g < r.TokenIds.Length; g++)
                {
                    int at = b * T + r.PromptIds.Length - 1 + g;   // the position whose target is generated token g
                    m[at] = 1; old[at] = r.Logprobs[g]; a[at] = (float)r.Advantage; w[at] = 1f / r.TokenIds.Length;
                }
            }
        }
        return (tensor(x, [B, T], device: device), tensor(y, [B, T], device: device), tensor(m, [B, T], device: device),
                tensor(old, [B, T], device: device), tensor(a, [B, T], device: device), tensor(w, [B, T], device: device));
    }

    /// <summary>
    /// The loss sum of one micro-batch under <paramref name="model"/>: the final hidden states of every position, the LM
    /// head only at generated positions (a prompt position's logits would be masked out anyway), then <see cref="TokenLoss"/>.
    /// </summary>
    public static (Tensor LossSum, double ClippedTokens, double EntropySum, long Tokens) MicroBatchLoss(QuestTransformer model, IReadOnlyList<RlSample> rows, int padId, double clipLow, double clipHigh, double temperature = 1.0)
    {
        var (logits, t) = GeneratedLogits(model, rows, padId, temperature);
        var (loss, c, e) = TokenLoss(logits, t, clipLow, clipHigh);
        return (loss, c, e, t.Index.shape[0]);
    }

    /// <summary>
    /// The float32 logits <c>[N, vocab]</c> of <paramref name="model"/> at the generated positions of a micro-batch, at
    /// <paramref name="temperature"/> (the final hidden states of every position, the LM head only where a generated
    /// token is the target), with those tokens (as <see cref="Select"/>). Rows that extend each other run as one
    /// sequence (<see cref="Chains"/>). What every policy update's loss reads.
    /// </summary>
    public static (Tensor Logits, GeneratedTokens Tokens) GeneratedLogits(QuestTransformer model, IReadOnlyList<RlSample> rows, int padId, double temperature = 1.0)
    {
        var (x, y, m, old, a, w) = CollateChains(Chains(rows), padId, model.Device);
        var idx = m.reshape(-1).nonzero().squeeze(1);
        Tensor At(Tensor v) => v.reshape(-1).index_select(0, idx);
        var t = new GeneratedTokens(idx, At(y), At(old), At(a), At(w));
        var h = model.Hidden(x, null, null, null);
        var logits = model.Logits(h.reshape(-1, h.shape[^1]).index_select(0, t.Index)).to_type(ScalarType.Float32);
        return (TextGenerator.AtTemperature(logits, temperature), t);
    }

    /// <summary>
    /// The plain formulation of <see cref="MicroBatchLoss"/>: logits at every position, the per-token loss masked to the
    /// generated ones. Slower (the head and softmax run on prompt positions too); kept as the reference the fast path is
    /// tested and benchmarked against.
    /// </summary>
    public static Tensor ReferenceMicroBatchLoss(QuestTransformer model, IReadOnlyList<RlSample> rows, int padId, double clipLow, double clipHigh, double temperature = 1.0)
    {
        var (x, y, m, old, a) = Collate(rows, padId, model.Device);
        var logp = F.log_softmax(TextGenerator.AtTemperature(model.forward(x).to_type(ScalarType.Float32), temperature), -1);
        var ratio = (logp.gather(-1, y.unsqueeze(-1)).squeeze(-1) - old).exp();
        var adv = a.unsqueeze(1);
        var perTok = maximum(-adv * ratio, -adv * ratio.clamp(Scalars.Of(1 - clipLow), Scalars.Of(1 + clipHigh))) * m;
        return (perTok.sum(1) / m.sum(1).clamp_min(Scalars.One)).sum();
    }
}

/// <summary>The generated tokens of a collated micro-batch (<see cref="Grpo.Select"/>), each tensor <c>[N]</c>.</summary>
/// <param name="Index">Flat positions in <c>[B·T]</c>.</param>
/// <param name="Target">The generated token ids.</param>
/// <param name="OldLogprobs">Their log-probs when sampled.</param>
/// <param name="Advantages">Their row's advantage.</param>
/// <param name="Weights">1 / their row's generated-token count.</param>
public sealed record GeneratedTokens(Tensor Index, Tensor Target, Tensor OldLogprobs, Tensor Advantages, Tensor Weights);

/// <summary>
/// One policy update on a batch of RL rows (each row: a prompt, the tokens the policy generated, their log-probs at
/// sampling time and the rollout's advantage): the seam where an RL algorithm's loss lives. A new update is one class
/// implementing this and a name in the RL options; the advantages come from an <see cref="IAdvantageEstimator"/>.
/// </summary>
public interface IPolicyUpdate : IDisposable
{
    /// <summary>The name the options use.</summary>
    string Name { get; }
    /// <summary>Updates the model on <paramref name="rows"/> at learning rate <paramref name="lr"/>.</summary>
    PolicyUpdateReport Update(IReadOnlyList<RlSample> rows, double lr, int padId, long seed = 0);
    /// <summary>Saves the optimizer state.</summary>
    void SaveState(string path);
    /// <summary>Loads an optimizer state written by <see cref="SaveState"/>.</summary>
    void LoadState(string path);
}

/// <summary>The policy updates by name.</summary>
public static class PolicyUpdates
{
    /// <summary>The names <see cref="Create"/> knows: <c>ppo_clip</c> (QUEST's), <c>rft</c> (rejection-sampling fine-tuning).</summary>
    public static readonly IReadOnlyList<string> Names = ["ppo_clip", "rft"];

    /// <summary>The update called <paramref name="name"/> for <paramref name="model"/>.</summary>
    public static IPolicyUpdate Create(string name, QuestTransformer model, GrpoOptions options) => name.Trim().ToLowerInvariant() switch
    {
        "ppo_clip" => new GrpoUpdater(model, options),
        "rft" => new RejectionSamplingUpdate(model, options),
        _ => throw new Quest.Core.QuestInputException(null, null, null, $"policy update '{name}'", string.Join(", ", Names)),
    };
}

/// <summary>
/// What every policy update shares: AdamW (decay on matrices only) over the model, its state saved with the RL
/// checkpoint, the libtorch work on the torch thread, and the optimizer loop (<see cref="OptimizerSteps"/>). An update
/// picks the rows it trains on and writes its loss; that is all a subclass holds.
/// </summary>
public abstract class PolicyUpdateBase : IPolicyUpdate
{
    private readonly AdamW _opt;

    /// <summary>An update of <paramref name="model"/> with <paramref name="options"/>.</summary>
    protected PolicyUpdateBase(QuestTransformer model, GrpoOptions options)
    {
        Model = model;
        Options = options;
        _opt = new AdamW(model, options.WeightDecay, beta1: 0.9, beta2: 0.95);
    }

    /// <inheritdoc/>
    public abstract string Name { get; }
    /// <summary>The model.</summary>
    public QuestTransformer Model { get; }
    /// <summary>The options.</summary>
    public GrpoOptions Options { get; }

    /// <inheritdoc/>
    public PolicyUpdateReport Update(IReadOnlyList<RlSample> rows, double lr, int padId, long seed = 0) =>
        TorchThread.Run(() => UpdateHere(rows, lr, padId, seed));   // the libtorch work runs on the torch thread

    /// <summary>The update itself, on the torch thread.</summary>
    protected abstract PolicyUpdateReport UpdateHere(IReadOnlyList<RlSample> rows, double lr, int padId, long seed);

    /// <summary>
    /// The optimizer loop: <paramref name="rows"/> shuffled by <paramref name="seed"/> (a chain of rows that extend each
    /// other, <see cref="Grpo.Chains"/>, as one), split into <see cref="GrpoOptions.MiniBatches"/> optimizer steps, each accumulating the gradient of
    /// <paramref name="microLossSum"/> (a micro-batch's loss summed over its rows) over micro-batches of
    /// <see cref="GrpoOptions.MicroBatch"/> rows, a dispose scope around every pass, divided by the mini-batch's row count;
    /// gradients clipped, AdamW stepped at <paramref name="lr"/>. The model trains in <see cref="GrpoOptions.Precision"/>
    /// and is back in eval mode and float32 on return. Returns the mean loss and gradient norm over the mini-batches.
    /// </summary>
    protected (double Loss, double GradNorm) OptimizerSteps(List<RlSample> rows, double lr, long seed, Func<IReadOnlyList<RlSample>, Tensor> microLossSum)
    {
        var rng = new Random((int)(seed & 0x7FFFFFFF));
        // chains of rows that extend each other (Grpo.Chains) are shuffled and shared out whole, so each trains as one sequence
        var units = Grpo.Chains(rows).OrderBy(_ => rng.Next()).ToList();
        int mb = Math.Clamp(Options.MiniBatches, 1, units.Count);
        Model.train();
        using var precision = Model.UsePrecision(Options.Precision, Model.Device);   // restored on return: the next rollouts sample in float32
        double loss = 0, gnorm = 0;
        using var lease = new ScalarLease();   // the per-batch divisors (see Scalars)
        for (int k = 0; k < mb; k++)
        {
            var mini = units.Where((_, i) => i % mb == k).SelectMany(c => c).ToList();
            _opt.ZeroGrad();
            foreach (var micro in Grpo.MicroBatches(mini, Options.MicroBatch))
            {
                using var scope = NewDisposeScope();
                var l = microLossSum(micro).div(lease.Of((long)mini.Count));
                l.backward();
                loss += l.item<float>() / mb;
            }
            gnorm += _opt.ClipGradNorm(Options.GradClip) / mb;
            _opt.Step(lr);
        }
        Model.eval();
        return (loss, gnorm);
    }

    /// <summary>Saves the optimizer state.</summary>
    public void SaveState(string path) => _opt.Save(path);

    /// <summary>Loads an optimizer state written by <see cref="SaveState"/>.</summary>
    public void LoadState(string path) => _opt.Load(path);

    /// <inheritdoc/>
    public void Dispose() => _opt.Dispose();
}

/// <summary>
/// The PPO-clip update QUEST's GRPO runs (<c>ppo_clip</c>): AdamW (decay on matrices only), gradient clipping,
/// <see cref="GrpoOptions.MiniBatches"/> optimizer steps per rollout batch (with one, the ratio is 1 and the update is
/// plain REINFORCE on the given advantages), micro-batched forward/backward, a dispose scope around every pass.
/// </summary>
public sealed class GrpoUpdater(QuestTransformer model, GrpoOptions options) : PolicyUpdateBase(model, options)
{
    /// <summary>The names of this update's measures.</summary>
    public static class Metric
    {
        /// <summary>Mean token entropy of the policy on the trained tokens (nats).</summary>
        public const string Entropy = "entropy";
        /// <summary>Share of trained tokens whose ratio was clipped.</summary>
        public const string ClipFraction = "clip_fraction";
    }

    /// <inheritdoc/>
    public override string Name => "ppo_clip";

    /// <summary>
    /// One update on <paramref name="rows"/> (rows with zero advantage are dropped first; they add nothing but cost) at
    /// learning rate <paramref name="lr"/>. Returns zeros when no row carries signal.
    /// </summary>
    protected override PolicyUpdateReport UpdateHere(IReadOnlyList<RlSample> rows, double lr, int padId, long seed)
    {
        var live = rows.Where(r => Math.Abs(r.Advantage) > 1e-12).ToList();
        if (live.Count == 0) return PolicyUpdateReport.Nothing(Metric.Entropy, Metric.ClipFraction);
        double clipped = 0, ent = 0;
        long tokens = 0;
        var (loss, gnorm) = OptimizerSteps(live, lr, seed, micro =>
        {
            var (sum, c, e, n) = Grpo.MicroBatchLoss(Model, micro, padId, Options.ClipLow, Options.ClipHigh, Options.Temperature);
            clipped += c; ent += e; tokens += n;
            return sum;
        });
        return new PolicyUpdateReport(loss, gnorm, live.Count, tokens, new Dictionary<string, double>
        {
            [Metric.Entropy] = tokens == 0 ? 0 : ent / tokens,
            [Metric.ClipFraction] = tokens == 0 ? 0 : clipped / tokens,
        });
    }
}
