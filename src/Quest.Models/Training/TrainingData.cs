using Quest.Core;
using Quest.Models.Generation;
using Quest.Models.Tokenization;
using static TorchSharp.torch;

namespace Quest.Models.Training;

/// <summary>Where a trainer gets its batches. Batches are a pure function of (seed, step, micro-step), so a resumed run sees the same data.</summary>
public interface ITrainingData
{
    /// <summary>Input ids <c>[batch, seq]</c> and targets <c>[batch, seq]</c> (-100 where no loss is taken) on <paramref name="device"/>.</summary>
    (Tensor Input, Tensor Target) Batch(int batchSize, int seqLen, long seed, int step, int micro, Device device);

    /// <summary>Fixed held-out batches for the eval loss (empty when there is no held-out data).</summary>
    IEnumerable<(Tensor Input, Tensor Target)> EvalBatches(int batchSize, int seqLen, int count, Device device);

    /// <summary>Tokens of training data (for display).</summary>
    long TrainTokens { get; }
}

/// <summary>
/// Causal-LM data: documents tokenized and concatenated into one stream, each followed by
/// <c>&lt;|endoftext|&gt;</c>, cut into random windows of seq+1 tokens. The last <c>evalFraction</c> of the
/// stream is held out for the eval loss.
/// </summary>
public sealed class PackedTokenStream : ITrainingData
{
    private readonly int[] _train, _eval;

    /// <summary>Tokenizes and packs <paramref name="documents"/>.</summary>
    public PackedTokenStream(IEnumerable<string> documents, QuestTokenizer tokenizer, double evalFraction = 0.05)
        : this(documents.SelectMany(d => tokenizer.Encode(d).Append(tokenizer.EndOfTextId)).ToArray(), evalFraction) { }

    /// <summary>Packs an existing token stream.</summary>
    public PackedTokenStream(int[] tokens, double evalFraction = 0.05)
    {
        if (tokens.Length < 4) throw new ArgumentException($"the token stream has only {tokens.Length} tokens; give the trainer some text");
        int evalLen = (int)(tokens.Length * Math.Clamp(evalFraction, 0, 0.5));
        _train = tokens[..(tokens.Length - evalLen)];
        _eval = tokens[(tokens.Length - evalLen)..];
    }

    /// <inheritdoc/>
    public long TrainTokens => _train.Length;

    /// <inheritdoc/>
    public (Tensor Input, Tensor Target) Batch(int batchSize, int seqLen, long seed, int step, int micro, Device device)
    {
        var rng = new Random(SeedMix.Of(seed, step, micro));
        return Windows(_train, batchSize, seqLen, () => rng.Next(Math.Max(1, _train.Length - seqLen - 1)), device);
    }

    /// <inheritdoc/>
    public IEnumerable<(Tensor Input, Tensor Target)> EvalBatches(int batchSize, int seqLen, int count, Device device)
    {
        if (_eval.Length < 2) yield break;
        int len = Math.Min(seqLen, _eval.Length - 1);
        int windows = Math.Max(1, (_eval.Length - 1) / len);
        int w = 0;
        for (int i = 0; i < count && w < windows; i++)
            yield return Windows(_eval, Math.Min(batchSize, windows - w), len, () => (w++ % windows) * len, device);
    }

    private static (Tensor, Tensor) Windows(int[] src, int batch, int seqLen, Func<int> start, Device device)
    {
        int len = Math.Min(seqLen, src.Length - 1);
        var x = new long[batch * len];
        var y = new long[batch * len];
        for (int b = 0; b < batch; b++)
        {
            int s = start();
            for (int t = 0; t < len; t++) { x[b * len + t] = src[s + t]; y[b * len + t] = src[s + t + 1]; }
        }
        return (tensor(x, [batch, len], device: device), tensor(y, [batch, len], device: device));
    }
}

/// <summary>
/// Supervised fine-tuning data: chat transcripts shown to the model through its <see cref="AgentView"/> (the same view
/// the model is prompted with as an agent), the loss taken only on assistant tokens. Every <c>evalEvery</c>-th
/// transcript (0: none) is held out whole. Sequences are right-padded to the longest in the batch and cut to seq.
/// <para>
/// Batches can be grouped by length (<see cref="LengthGroup"/>, as Hugging Face's <c>group_by_length</c>): the examples of
/// <c>LengthGroup</c> consecutive batches are drawn together, sorted by length and cut into batches, which then come in
/// a shuffled order. Every example is still drawn uniformly at every step; what changes is only which examples share a
/// batch. The trainer already cuts each row after its last target and runs rows in chunks of similar length, so padding
/// costs little either way; grouped batches still ran 13% faster on the tiny recipe's teacher set (5,017 turn examples
/// of 85–513 tokens, a median of 344; 32 groups of 8: 157 against 180 ms a step, interleaved), because whole chunks
/// are then one length.
/// </para>
/// </summary>
public sealed class ChatSftData : ITrainingData
{
    private readonly List<ChatEncoding> _train, _eval;
    private readonly int _pad;

    /// <summary>Builds the examples of every transcript under <paramref name="view"/>, each at most <paramref name="seqLen"/> + 1 tokens.</summary>
    /// <param name="transcripts">The chats to learn from.</param>
    /// <param name="view">How the model sees an episode (its config's view).</param>
    /// <param name="seqLen">The context window: longer examples are cut by the view.</param>
    /// <param name="evalEvery">Every n-th transcript is held out whole (0: none).</param>
    /// <param name="lengthGroup">Batches whose examples are drawn together and sorted by length (<see cref="LengthGroup"/>; 1: every batch drawn on its own).</param>
    /// <param name="replyTokens">Tokens a turn may generate at rollout: prompts keep the window minus this, as rollouts do (<see cref="ViewExamples.TrainingExamples"/>).</param>
    public ChatSftData(IEnumerable<IReadOnlyList<ChatTurn>> transcripts, AgentView view, int seqLen, int evalEvery = 0, int lengthGroup = 1, int replyTokens = AgentView.DefaultReplyTokens)
    {
        if (lengthGroup < 1) throw new ArgumentOutOfRangeException(nameof(lengthGroup), lengthGroup, "at least 1 (1: no length grouping)");
        LengthGroup = lengthGroup;
        var list = transcripts.ToList();
        List<ChatEncoding> Examples(IEnumerable<IReadOnlyList<ChatTurn>> ts) =>
            ts.SelectMany(t => view.TrainingExamples(t, seqLen, replyTokens)).Where(e => e.AssistantTokenCount > 0).ToList();
        _eval = evalEvery > 0 ? Examples(list.Where((_, i) => i % evalEvery == evalEvery - 1)) : [];
        _train = evalEvery > 0 ? Examples(list.Where((_, i) => i % evalEvery != evalEvery - 1)) : Examples(list);
        if (_train.Count == 0) { _train = [.. _eval]; }
        if (_train.Count == 0) throw new ArgumentException("no transcript has an assistant turn; SFT needs assistant tokens to learn from");
        _pad = Math.Max(0, (view.Codec as ChatTemplate ?? throw new ArgumentException("SFT data needs a view over a ChatTemplate", nameof(view))).Tokenizer.EndOfTextId);
    }

    /// <summary>
    /// How many consecutive batches draw their examples together and share them out by length (1: each batch drawn on
    /// its own, padded to its longest example).
    /// </summary>
    public int LengthGroup { get; }

    /// <summary>Training examples.</summary>
    public int Count => _train.Count;

    /// <summary>Held-out examples.</summary>
    public int EvalCount => _eval.Count;

    /// <summary>Assistant tokens the loss is taken on, over the training examples.</summary>
    public long TargetTokens => _train.Sum(e => (long)e.AssistantTokenCount);

    /// <summary>The training examples (ids and loss mask), for inspection.</summary>
    public IReadOnlyList<ChatEncoding> Examples => _train;

    /// <summary>The held-out examples.</summary>
    public IReadOnlyList<ChatEncoding> EvalExamples => _eval;

    /// <inheritdoc/>
    public long TrainTokens => _train.Sum(e => (long)e.Ids.Length);

    /// <inheritdoc/>
    public (Tensor Input, Tensor Target) Batch(int batchSize, int seqLen, long seed, int step, int micro, Device device) =>
        Pad(BatchIndices(batchSize, seed, step, micro).Select(i => _train[i]).ToList(), seqLen, device);

    /// <summary>
    /// The training examples (indices into <see cref="Examples"/>) of one batch: a pure function of the seed, step and
    /// micro-step, so a resumed run sees the same data. With <see cref="LengthGroup"/> g &gt; 1, steps ⌊step / g⌋·g …
    /// +g−1 draw g·<paramref name="batchSize"/> examples together, sort them by length and each take one slice, in a
    /// shuffled order.
    /// </summary>
    public int[] BatchIndices(int batchSize, long seed, int step, int micro)
    {
        if (LengthGroup == 1)
        {
            var rng = new Random(SeedMix.Of(seed, step, micro, 17));
            return Enumerable.Range(0, batchSize).Select(_ => rng.Next(_train.Count)).ToArray();
        }
        int block = step / LengthGroup, slot = step % LengthGroup;
        var r = new Random(SeedMix.Of(seed, block, micro, LengthGroup, 19));
        var pool = Enumerable.Range(0, LengthGroup * batchSize).Select(_ => r.Next(_train.Count)).ToArray();
        var sorted = pool.Select((ex, k) => (ex, k)).OrderBy(p => _train[p.ex].Ids.Length).ThenBy(p => p.k).Select(p => p.ex).ToArray();
        var order = Enumerable.Range(0, LengthGroup).ToArray();
        r.Shuffle(order);
        return sorted.AsSpan(order[slot] * batchSize, batchSize).ToArray();
    }

    /// <inheritdoc/>
    public IEnumerable<(Tensor Input, Tensor Target)> EvalBatches(int batchSize, int seqLen, int count, Device device)
    {
        for (int i = 0; i < count && i * batchSize < _eval.Count; i++)
            yield return Pad(_eval.Skip(i * batchSize).Take(batchSize).ToList(), seqLen, device);
    }

    private (Tensor, Tensor) Pad(List<ChatEncoding> batch, int seqLen, Device device) => PadBatch(batch, seqLen, _pad, device);

    /// <summary>
    /// Right-pads encoded chats to the longest in the batch (cut to <paramref name="seqLen"/>) and builds next-token
    /// targets that are -100 (ignored by the loss) wherever the next token is not an assistant token.
    /// </summary>
    public static (Tensor Input, Tensor Target) PadBatch(IReadOnlyList<ChatEncoding> batch, int seqLen, int padId, Device device)
    {
        int len = Math.Min(seqLen, batch.Max(e => e.Ids.Length) - 1);
        var x = new long[batch.Count * len];
        var y = new long[batch.Count * len];
        for (int b = 0; b < batch.Count; b++)
        {
            var e = batch[b];
            for (int t = 0; t < len; t++)
            {
                bool has = t + 1 < e.Ids.Length;
                x[b * len + t] = t < e.Ids.Length ? e.Ids[t] : padId;
                y[b * len + t] = has && e.AssistantMask[t + 1] ? e.Ids[t + 1] : -100;
            }
        }
        return (tensor(x, [batch.Count, len], device: device), tensor(y, [batch.Count, len], device: device));
    }
}

/// <summary>Deterministic seed mixing (HashCode.Combine is randomised per process, so it cannot make resumable data).</summary>
internal static class SeedMix
{
    public static int Of(params long[] parts)
    {
        ulong h = 0x9E3779B97F4A7C15UL;
        foreach (var p in parts)
        {
            h ^= (ulong)p + 0x9E3779B97F4A7C15UL + (h << 6) + (h >> 2);
            h = (h ^ (h >> 30)) * 0xBF58476D1CE4E5B9UL;
            h = (h ^ (h >> 27)) * 0x94D049BB133111EBUL;
            h ^= h >> 31;
        }
        return (int)(h & 0x7FFFFFFF);
    }
}
