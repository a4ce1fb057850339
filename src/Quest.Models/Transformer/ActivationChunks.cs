namespace Quest.Models.Transformer;

/// <summary>
/// How many rows of a batch to run through the model at once. A small model's largest activations (the logits
/// <c>tokens × vocab</c>, attention scores <c>heads × T × T</c> per row) reach tens of MB for a modest batch; glibc serves
/// blocks over 32 MB (and, as measured, large blocks generally) with fresh mmaps, and page faults on fresh memory are
/// slow in VMs. Cutting a batch into row chunks of about <see cref="DefaultBytes"/> of activations gives the same result
/// (sums of per-chunk sums) at a fraction of the time. Measured on one core (forward + backward of a training batch):
/// d4 8×512 tokens 1.80 s whole vs 0.74 s in chunks of 2 rows; d5 8×640 3.13 s vs 1.50–1.65 s; d4 16×128 0.51 s vs
/// 0.27–0.33 s; a 64-prompt × 384-token prefill 1.85 s vs 1.30 s.
/// </summary>
public static class ActivationChunks
{
    /// <summary>The default budget of the largest activation per chunk: 8 MB.</summary>
    public const long DefaultBytes = 8L << 20;

    /// <summary>
    /// Rows per chunk for sequences of <paramref name="seqLen"/> tokens under <paramref name="bytes"/>: the largest of
    /// attention scores (<c>heads × T</c> per token), the feed-forward (<c>ffn</c>) and, when the logits of every
    /// position are taken (<paramref name="allLogits"/>), the vocabulary, at 4 bytes each. At least 1.
    /// </summary>
    public static int RowsPerChunk(ModelConfig config, int seqLen, bool allLogits, long bytes = DefaultBytes)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(seqLen, 1);
        long widest = Math.Max((long)config.Heads * seqLen, Math.Max(config.Ffn, config.DModel));
        if (allLogits) widest = Math.Max(widest, config.VocabSize);
        long perRow = 4L * seqLen * widest;
        return (int)Math.Clamp(bytes / perRow, 1, int.MaxValue);
    }
}
