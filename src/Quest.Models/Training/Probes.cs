using Quest.Models.Tokenization;
using Quest.Models.Transformer;
using static TorchSharp.torch;

namespace Quest.Models.Training;

/// <summary>Teacher-forced accuracy of a model on the target tokens of SFT examples, split by whether the token is a copy.</summary>
/// <param name="CopyTokens">Target tokens whose id occurs in the example's prompt (a query word, a URL, a name read earlier).</param>
/// <param name="CopyCorrect">Of those, how many the model predicts (argmax) given the true prefix.</param>
/// <param name="OtherTokens">The other target tokens (protocol, template words).</param>
/// <param name="OtherCorrect">Of those, how many the model predicts.</param>
public sealed record CopyProbe(long CopyTokens, long CopyCorrect, long OtherTokens, long OtherCorrect)
{
    /// <summary>Accuracy on copy tokens.</summary>
    public double CopyAccuracy => CopyTokens == 0 ? 0 : (double)CopyCorrect / CopyTokens;
    /// <summary>Accuracy on the other target tokens.</summary>
    public double OtherAccuracy => OtherTokens == 0 ? 0 : (double)OtherCorrect / OtherTokens;
}

/// <summary>
/// Probes of what a small agent has learned. Copying is the skill that comes last (../shared/RL-NOTES.md): a model can
/// write a perfectly formed tool call whose query words it invented. Teacher-forced accuracy on copy tokens shows it.
/// </summary>
public static class Probes
{
    /// <summary>Teacher-forced accuracy on the masked (target) tokens of <paramref name="examples"/>, split into copies and others.</summary>
    public static CopyProbe CopyAccuracy(QuestTransformer model, IReadOnlyList<ChatEncoding> examples, int maxExamples = 64) =>
        Quest.Models.Runtime.TorchThread.Run(() => CopyAccuracyHere(model, examples, maxExamples));

    private static CopyProbe CopyAccuracyHere(QuestTransformer model, IReadOnlyList<ChatEncoding> examples, int maxExamples)
    {
        long ct = 0, cc = 0, ot = 0, oc = 0;
        bool wasTraining = model.training;
        model.eval();
        using var _ = no_grad();
        foreach (var e in examples.Take(maxExamples))
        {
            int first = Array.IndexOf(e.AssistantMask, true);
            if (first <= 0) continue;
            var prompt = new HashSet<int>(e.Ids[..first]);
            using var scope = NewDisposeScope();
            var x = tensor(e.Ids[..^1].Select(i => (long)i).ToArray(), [1, e.Ids.Length - 1], device: model.Device);
            var pred = model.forward(x).argmax(-1).cpu().data<long>().ToArray();
            for (int t = first; t < e.Ids.Length; t++)
            {
                if (!e.AssistantMask[t]) continue;
                bool ok = pred[t - 1] == e.Ids[t];
                if (prompt.Contains(e.Ids[t])) { ct++; if (ok) cc++; }
                else { ot++; if (ok) oc++; }
            }
        }
        if (wasTraining) model.train();
        return new CopyProbe(ct, cc, ot, oc);
    }
}
