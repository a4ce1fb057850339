using Quest.Models.Runtime;
using Quest.Models.Transformer;
using Quest.Models.Generation;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace Quest.Models.Training;

/// <summary>
/// Rejection-sampling fine-tuning (<c>rft</c>; RAFT, ReST, STaR): supervised learning on the policy's own rollouts that
/// beat their baseline (advantage &gt; 0), each row's generated tokens weighted equally (the mean negative log-likelihood
/// per row, then the mean over rows). No ratio, no clip and no negative signal: the baseline against which the PPO-clip
/// update (<see cref="GrpoUpdater"/>) has to show what pushing down the worse rollouts adds. Same optimizer, gradient
/// clip, mini- and micro-batching as PPO clip (<see cref="GrpoOptions"/>; the clip ranges are unused).
/// </summary>
public sealed class RejectionSamplingUpdate : IPolicyUpdate
{
    /// <summary>The names of this update's measures.</summary>
    public static class Metric
    {
        /// <summary>Mean negative log-likelihood of the kept rollouts' tokens (nats).</summary>
        public const string Nll = "nll";
        /// <summary>Share of the batch's rows kept (advantage &gt; 0).</summary>
        public const string KeptRows = "kept_rows";
    }

    private readonly AdamW _opt;

    /// <summary>An update for <paramref name="model"/>.</summary>
    public RejectionSamplingUpdate(QuestTransformer model, GrpoOptions options)
    {
        Model = model;
        Options = options;
        _opt = new AdamW(model, options.WeightDecay, beta1: 0.9, beta2: 0.95);
    }

    /// <inheritdoc/>
    public string Name => "rft";
    /// <summary>The model.</summary>
    public QuestTransformer Model { get; }
    /// <summary>The options.</summary>
    public GrpoOptions Options { get; }

    /// <inheritdoc/>
    public PolicyUpdateReport Update(IReadOnlyList<RlSample> rows, double lr, int padId, long seed = 0) =>
        TorchThread.Run(() => UpdateHere(rows, lr, padId, seed));

    private PolicyUpdateReport UpdateHere(IReadOnlyList<RlSample> rows, double lr, int padId, long seed)
    {
        var kept = rows.Where(r => r.Advantage > 1e-12).ToList();
        if (kept.Count == 0) return PolicyUpdateReport.Nothing(Metric.Nll, Metric.KeptRows);
        double nllSum = 0;
        long tokens = 0;
        var (loss, gnorm) = Grpo.OptimizerSteps(Model, _opt, Options, kept, lr, seed, micro =>
        {
            var (x, y, m, old, a) = Grpo.Collate(micro, padId, Model.Device);
            var t = Grpo.Select(y, m, old, a);
            var h = Model.Hidden(x, null, null, null);
            var logits = TextGenerator.AtTemperature(Model.Logits(h.reshape(-1, h.shape[^1]).index_select(0, t.Index)).to_type(ScalarType.Float32), Options.Temperature);
            var nll = -F.log_softmax(logits, -1).gather(-1, t.Target.unsqueeze(-1)).squeeze(-1);
            using (no_grad()) nllSum += nll.sum().item<float>();
            tokens += t.Index.shape[0];
            return (nll * t.Weights).sum();
        });
        return new PolicyUpdateReport(loss, gnorm, kept.Count, tokens, new Dictionary<string, double>
        {
            [Metric.Nll] = tokens == 0 ? 0 : nllSum / tokens,
            [Metric.KeptRows] = (double)kept.Count / rows.Count,
        });
    }

    /// <inheritdoc/>
    public void SaveState(string path) => _opt.Save(path);

    /// <inheritdoc/>
    public void LoadState(string path) => _opt.Load(path);

    /// <inheritdoc/>
    public void Dispose() => _opt.Dispose();
}
