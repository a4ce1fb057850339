using Quest.Models.Transformer;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Quest.Models.Training;

/// <summary>The optimizer set-up every trainer shares (pretrain, SFT, GRPO): one place for its decay rule.</summary>
internal static class Optimizers
{
    /// <summary>AdamW with decoupled weight decay on matrices only (norm gains and other vectors get none), eps 1e-8.</summary>
    public static OptimizerHelper AdamW(QuestTransformer model, double lr, double weightDecay, double beta1, double beta2)
    {
        var decay = model.named_parameters().Where(p => p.parameter.dim() >= 2).Select(p => p.parameter).ToList();
        var noDecay = model.named_parameters().Where(p => p.parameter.dim() < 2).Select(p => p.parameter).ToList();
        return optim.AdamW(
            [new TorchSharp.Modules.AdamW.ParamGroup(decay, new TorchSharp.Modules.AdamW.Options { weight_decay = weightDecay }),
             new TorchSharp.Modules.AdamW.ParamGroup(noDecay, new TorchSharp.Modules.AdamW.Options { weight_decay = 0.0 })],
            lr: lr, beta1: beta1, beta2: beta2, eps: 1e-8, weight_decay: weightDecay);
    }

    /// <summary>Clips the global gradient norm to <paramref name="clip"/> (0: no clipping) and returns the norm before clipping.</summary>
    public static double ClipGradNorm(IList<Parameter> parameters, double clip)
    {
        if (clip > 0) return nn.utils.clip_grad_norm_(parameters, clip);
        using var scope = NewDisposeScope();
        double s = 0;
        foreach (var p in parameters) if (p.grad is { } g) s += g.pow(2).sum().item<float>();
        return Math.Sqrt(s);
    }
}
