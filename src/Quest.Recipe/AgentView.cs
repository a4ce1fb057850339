using System.Runtime.CompilerServices;
using Microsoft.Extensions.AI;
using Quest.Models.Generation;
using Quest.Models.Tokenization;
using Quest.Models.Training;
using static TorchSharp.torch;

namespace Quest.Recipe;

/// <summary>
/// What a small-window model sees of an agent episode. QUEST's system prompt alone is longer than a tiny model's
/// window, so the view is: the question (the first user turn, capped at half the budget), then the most recent
/// tokens of the episode that still fit, then the open assistant header. SFT trains on exactly this view and the eval
/// client builds exactly this view, so training and rollout agree. Rendering uses the model's <see cref="ChatTemplate"/>.
/// </summary>
public sealed class AgentView(QuestTokenizer tokenizer)
{
    private readonly ChatTemplate _template = new(tokenizer);

    /// <summary>The tokenizer.</summary>
    public QuestTokenizer Tokenizer => tokenizer;

    /// <summary>
    /// Prompt ids for the next assistant turn after <paramref name="messages"/> (system prompt first, then the
    /// question, then assistant / tool-response turns), at most <paramref name="budget"/> tokens.
    /// </summary>
    public int[] Prompt(IReadOnlyList<ChatMessageText> messages, int budget)
    {
        var rest = messages.SkipWhile(m => m.Role == "system").ToList();
        if (rest.Count == 0) return _template.Encode([], addGenerationPrompt: true).Ids;
        var q = _template.Encode([rest[0]]).Ids;
        if (q.Length > budget / 2) q = q[..(budget / 2)];
        var tail = _template.Encode(rest.Skip(1), addGenerationPrompt: true).Ids;
        int room = budget - q.Length;
        if (tail.Length > room) tail = tail[^room..];
        return [.. q, .. tail];
    }

    /// <summary>
    /// One SFT example per assistant turn of a transcript: the view before the turn (<see cref="Prompt"/>) followed by
    /// the turn's tokens and <c>&lt;|im_end|&gt;</c>; the mask marks the turn's tokens (the loss is taken only there).
    /// A turn longer than half of <paramref name="seqLen"/> is cut.
    /// </summary>
    public IEnumerable<ChatEncoding> TrainingExamples(IReadOnlyList<ChatMessageText> transcript, int seqLen)
    {
        for (int i = 0; i < transcript.Count; i++)
        {
            if (transcript[i].Role != "assistant") continue;
            var turn = _template.Encode([transcript[i]]);
            // the turn's own tokens: after "<|im_start|>assistant\n", through <|im_end|> (the trailing newline is prompt)
            var target = turn.Ids.Where((_, k) => turn.AssistantMask[k]).ToArray();
            if (target.Length > seqLen / 2) target = target[..(seqLen / 2)];
            var prompt = Prompt(transcript.Take(i).ToList(), seqLen + 1 - target.Length);
            var ids = prompt.Concat(target).ToArray();
            var mask = Enumerable.Repeat(false, prompt.Length).Concat(Enumerable.Repeat(true, target.Length)).ToArray();
            yield return new ChatEncoding(ids, mask);
        }
    }
}

/// <summary>
/// SFT data made of <see cref="AgentView"/> examples (one assistant turn each, with the context the agent shows the
/// model at that turn); loss on the turn's tokens only. Every <c>evalEvery</c>-th example is held out.
/// </summary>
public sealed class AgentViewSftData : ITrainingData
{
    private readonly List<ChatEncoding> _train, _eval;
    private readonly int _pad;

    /// <summary>Builds the examples of every transcript.</summary>
    public AgentViewSftData(IEnumerable<IReadOnlyList<ChatMessageText>> transcripts, AgentView view, int seqLen, int evalEvery = 10)
    {
        var all = transcripts.SelectMany(t => view.TrainingExamples(t, seqLen)).Where(e => e.AssistantTokenCount > 0).ToList();
        if (all.Count == 0) throw new ArgumentException("no transcript has an assistant turn; SFT needs assistant tokens to learn from");
        _eval = evalEvery > 1 ? all.Where((_, i) => i % evalEvery == evalEvery - 1).ToList() : [];
        _train = evalEvery > 1 ? all.Where((_, i) => i % evalEvery != evalEvery - 1).ToList() : all;
        _pad = Math.Max(0, view.Tokenizer.EndOfTextId);
    }

    /// <summary>Training examples.</summary>
    public int Count => _train.Count;

    /// <summary>Held-out examples.</summary>
    public int EvalCount => _eval.Count;

    /// <summary>Assistant tokens the loss is taken on, over the training examples.</summary>
    public long TargetTokens => _train.Sum(e => (long)e.AssistantTokenCount);

    /// <inheritdoc/>
    public long TrainTokens => _train.Sum(e => (long)e.Ids.Length);

    /// <inheritdoc/>
    public (Tensor Input, Tensor Target) Batch(int batchSize, int seqLen, long seed, int step, int micro, Device device)
    {
        var rng = new Random((int)((seed * 1_000_003 + step * 7919L + micro) & 0x7FFFFFFF));
        return Pad(Enumerable.Range(0, batchSize).Select(_ => _train[rng.Next(_train.Count)]).ToList(), seqLen, device);
    }

    /// <inheritdoc/>
    public IEnumerable<(Tensor Input, Tensor Target)> EvalBatches(int batchSize, int seqLen, int count, Device device)
    {
        for (int i = 0; i < count && i * batchSize < _eval.Count; i++)
            yield return Pad(_eval.Skip(i * batchSize).Take(batchSize).ToList(), seqLen, device);
    }

    private (Tensor, Tensor) Pad(List<ChatEncoding> batch, int seqLen, Device device) => ChatSftData.PadBatch(batch, seqLen, _pad, device);
}

/// <summary>
/// An <see cref="IChatClient"/> over a local model that builds the <see cref="AgentView"/> prompt (question + most
/// recent context, leaving room for <see cref="GenerationOptions.MaxNewTokens"/>) and generates with the model's
/// <see cref="TextGenerator"/>. (<see cref="LocalChatClient"/> keeps the last max_seq_len − 1 tokens, which leaves a
/// full window room for a single new token, and always sends the whole system prompt.)
/// </summary>
public sealed class AgentViewChatClient(LocalChatClient inner) : IChatClient
{
    private readonly AgentView _view = new(inner.Generator.Tokenizer);
    private readonly SemaphoreSlim _gate = new(1, 1);

    /// <summary>The wrapped client (its defaults apply).</summary>
    public LocalChatClient Inner => inner;

    /// <inheritdoc/>
    public async Task<ChatResponse> GetResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default)
    {
        var gen = inner.ToGenerationOptions(options);
        int window = inner.Generator.Model.Config.MaxSeqLen;
        gen = gen with { MaxNewTokens = Math.Min(gen.MaxNewTokens, window / 2) };
        var prompt = _view.Prompt(messages.Select(m => new ChatMessageText(m.Role.Value, m.Text ?? "")).ToList(), window - gen.MaxNewTokens);
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        GeneratedSequence seq;
        try { seq = await Task.Run(() => inner.Generator.Generate([prompt], gen, cancellationToken)[0], cancellationToken).ConfigureAwait(false); }
        finally { _gate.Release(); }
        return new ChatResponse(new ChatMessage(ChatRole.Assistant, seq.Text))
        {
            ModelId = inner.ModelId,
            FinishReason = seq.Finish == FinishReason.Length ? ChatFinishReason.Length : ChatFinishReason.Stop,
            Usage = new UsageDetails { InputTokenCount = prompt.Length, OutputTokenCount = seq.TokenIds.Length, TotalTokenCount = prompt.Length + seq.TokenIds.Length },
        };
    }

    /// <inheritdoc/>
    public async IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null,
        [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var r = await GetResponseAsync(messages, options, cancellationToken).ConfigureAwait(false);
        foreach (var u in r.ToChatResponseUpdates()) yield return u;
    }

    /// <inheritdoc/>
    public object? GetService(Type serviceType, object? serviceKey = null) =>
        serviceKey is null && serviceType.IsInstanceOfType(this) ? this : inner.GetService(serviceType, serviceKey);

    /// <inheritdoc/>
    public void Dispose() { _gate.Dispose(); inner.Dispose(); }
}
