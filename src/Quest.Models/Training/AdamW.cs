using Quest.Core;
using Quest.Models.Checkpoints;
using Quest.Models.Runtime;
using Quest.Models.Transformer;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Quest.Models.Training;

/// <summary>
/// AdamW as PyTorch (and TorchSharp's <c>optim.AdamW</c>) computes it: decoupled weight decay, bias-corrected first and
/// second moments, eps 1e-8 added after the square root. Decay applies to matrices only (norm gains and other vectors
/// get none). The one optimizer every trainer shares (pretrain, SFT, GRPO).
/// <para>
/// Written out rather than taken from TorchSharp because <c>optim.AdamW.step()</c> converts about 300 numbers a step
/// into temporary Scalars that a garbage collection can free while libtorch reads them (see <see cref="Scalars"/>);
/// here the constants are held and a step's values live in a <see cref="ScalarLease"/>. Same operations in the same
/// order, so the same numbers (a test compares the two).
/// </para>
/// </summary>
public sealed class AdamW : IDisposable
{
    private sealed record Slot(string Name, Parameter Param, Tensor ExpAvg, Tensor ExpAvgSq, bool Decay);

    private readonly List<Slot> _slots;
    private readonly double _beta1, _beta2, _weightDecay;
    private readonly Scalar _b1, _b2, _oneMinusB1, _oneMinusB2, _eps;

    /// <summary>Optimizer steps taken (the bias corrections' t).</summary>
    public long Steps { get; private set; }

    /// <summary>An optimizer over every parameter of <paramref name="model"/> (moments zero, on the parameters' device).</summary>
    public AdamW(QuestTransformer model, double weightDecay, double beta1, double beta2, double eps = 1e-8)
    {
        _beta1 = beta1; _beta2 = beta2; _weightDecay = weightDecay;
        _b1 = Scalars.Of(beta1); _b2 = Scalars.Of(beta2);
        _oneMinusB1 = Scalars.Of(1 - beta1); _oneMinusB2 = Scalars.Of(1 - beta2);
        _eps = Scalars.Of(eps);
        _slots = model.named_parameters()
            .Select(p => new Slot(p.name, p.parameter, zeros_like(p.parameter).DetachFromDisposeScope(), zeros_like(p.parameter).DetachFromDisposeScope(), p.parameter.dim() >= 2))
            .ToList();
    }

    /// <summary>Sets every gradient to zero (keeping its buffer).</summary>
    public void ZeroGrad()
    {
        foreach (var s in _slots)
        {
            using var g = s.Param.grad;
            g?.zero_();
        }
    }

    /// <summary>One step at learning rate <paramref name="lr"/> over the parameters that have a gradient.</summary>
    public void Step(double lr)
    {
        Steps++;
        using var _ = no_grad();
        using var lease = new ScalarLease();
        double bc1 = 1 - Math.Pow(_beta1, Steps), bc2 = 1 - Math.Pow(_beta2, Steps);
        var decay = lease.Of(1 - lr * _weightDecay);
        var noDecay = lease.Of(1.0);
        var sqrtBc2 = lease.Of(Math.Sqrt(bc2));
        var stepSize = lease.Of(-(lr / bc1));
        foreach (var s in _slots)
        {
            using var scope = NewDisposeScope();
            var grad = s.Param.grad;
            if (grad is null) continue;
            s.Param.mul_(s.Decay ? decay : noDecay);
            s.ExpAvg.mul_(_b1).add_(grad, _oneMinusB1);
            s.ExpAvgSq.mul_(_b2).addcmul_(grad, grad, _oneMinusB2);
            var denom = s.ExpAvgSq.sqrt().div_(sqrtBc2).add_(_eps, Scalars.One);
            s.Param.addcdiv_(s.ExpAvg, denom, stepSize);
        }
    }

    /// <summary>
    /// The global gradient norm before clipping; with <paramref name="clip"/> &gt; 0 the gradients are scaled so the norm
    /// is at most <paramref name="clip"/> (libtorch's <c>clip_grad_norm_</c>, which takes no Scalar).
    /// </summary>
    public double ClipGradNorm(double clip)
    {
        var ps = _slots.Select(s => s.Param).ToList();
        if (clip > 0) return nn.utils.clip_grad_norm_(ps, clip);
        using var scope = NewDisposeScope();
        double sum = 0;
        foreach (var p in ps) if (p.grad is { } g) sum += g.mul(g).sum().item<float>();
        return Math.Sqrt(sum);
    }

    /// <summary>Writes the moments (safetensors, <c>NAME.exp_avg</c> / <c>NAME.exp_avg_sq</c>) and the step count.</summary>
    public void Save(string path)
    {
        using var fs = File.Create(path);
        Safetensors.Write(fs, _slots.SelectMany(s => new[] { (s.Name + ".exp_avg", s.ExpAvg), (s.Name + ".exp_avg_sq", s.ExpAvgSq) }),
            new Dictionary<string, string> { ["format"] = "quest-adamw", ["step"] = Steps.ToString(System.Globalization.CultureInfo.InvariantCulture) });
        fs.Flush(true);
    }

    /// <summary>Reads a state written by <see cref="Save"/>; every moment must be present with its parameter's shape.</summary>
    public void Load(string path)
    {
        if (!File.Exists(path) && File.Exists(Path.Combine(Path.GetDirectoryName(path) ?? ".", LegacyFile)))
            throw new QuestInputException(path, null, null,
                $"the checkpoint has {LegacyFile}, TorchSharp's optimizer format of older versions of the kit, which this version does not read",
                "optimizer.safetensors; restart this stage without --resume");
        var (_, meta, _) = Safetensors.ReadHeader(path);
        if (!meta.TryGetValue("step", out var stepText) || !long.TryParse(stepText, out long step) || step < 0)
            throw new QuestInputException(path, null, null, "no valid 'step' in the header's metadata", "an optimizer state written by AdamW.Save");
        var tensors = Safetensors.Read(path);
        try
        {
            using var _ = no_grad();
            foreach (var s in _slots)
            {
                foreach (var (key, dst) in new[] { (s.Name + ".exp_avg", s.ExpAvg), (s.Name + ".exp_avg_sq", s.ExpAvgSq) })
                {
                    if (!tensors.TryGetValue(key, out var src))
                        throw new QuestInputException(path, null, null, $"tensor '{key}' is missing", "a moment for every parameter");
                    if (!src.shape.SequenceEqual(dst.shape))
                        throw new QuestInputException(path, null, null, $"tensor '{key}' has shape [{string.Join(",", src.shape)}], the parameter [{string.Join(",", dst.shape)}]", "the model being trained");
                    dst.copy_(src);
                }
            }
            Steps = step;
        }
        finally { foreach (var t in tensors.Values) t.Dispose(); }
    }

    /// <summary>The optimizer file of checkpoints written before this optimizer (TorchSharp's binary format).</summary>
    public const string LegacyFile = "optimizer.bin";

    /// <summary>Frees the moments.</summary>
    public void Dispose()
    {
        foreach (var s in _slots) { s.ExpAvg.Dispose(); s.ExpAvgSq.Dispose(); }
    }
}
