using Quest.Models.Transformer;
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
public sealed class RejectionSamplingUpdate(QuestTransformer model, GrpoOptions options) : PolicyUpdateBase(model, options)
{
    /// <summary>The names of this update's measures.</summary>
    public static class Metric
    {
        /// <summary>Mean negative log-likelihood of the kept rollouts' tokens (nats).</summary>
        public const string Nll = "nll";
        /// <summary>Share of the batch's rows kept (advantage &gt; 0).</summary>
        public const string KeptRows = "kept_rows";
    }

    /// <inheritdoc/>
    public override string Name => "rft";

    /// <inheritdoc/>
    protected override PolicyUpdateReport UpdateHere(IReadOnlyList<RlSample> rows, double lr, int padId, long seed)
    {
        var kept = rows.Where(r => r.Advantage > 1e-12).ToList();
        if (kept.Count == 0) return PolicyUpdateReport.Nothing(Metric.Nll, Metric.KeptRows);
        double nllSum = 0;
        long tokens = 0;
        var (loss, gnorm) = OptimizerSteps(kept, lr, seed, micro =>
        {
            var (logits, t) = Grpo.GeneratedLogits(Model, micro, padId, Options.Temperature);
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
}
