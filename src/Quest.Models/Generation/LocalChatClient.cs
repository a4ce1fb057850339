using Quest.Core;
using System.Runtime.CompilerServices;
using Microsoft.Extensions.AI;
using Quest.Models.Checkpoints;
using Quest.Models.Tokenization;
using Quest.Models.Transformer;

namespace Quest.Models.Generation;

/// <summary>
/// An <see cref="IChatClient"/> over a local <see cref="QuestTransformer"/>, so the agent runs on it unchanged.
/// Prompts are built by the model's own <see cref="AgentView"/> (its <c>view</c> setting: the chat template over the
/// whole history, or the question plus the most recent tokens), leaving room for the reply (at most half the window).
/// Honours <see cref="ChatOptions"/> <c>Temperature</c>, <c>TopP</c>, <c>TopK</c>, <c>MaxOutputTokens</c>,
/// <c>StopSequences</c> and <c>Seed</c>. Every response carries a <see cref="GeneratedTurn"/> (prompt ids, generated
/// ids, their log-probs) as its <c>RawRepresentation</c>, so RL trains on exactly the ids the policy produced (token in,
/// token out), and <c>AdditionalProperties</c> <c>token_ids</c>, <c>logprobs</c>, <c>prompt_token_ids</c>.
/// Without a <see cref="Batcher"/> calls are serialised; with one, concurrent episodes are decoded together.
/// Streaming sends text as it is sampled.
/// </summary>
public sealed class LocalChatClient : IChatClient
{
    private readonly SemaphoreSlim _gate = new(1, 1);

    /// <summary>The generator used.</summary>
    public TextGenerator Generator { get; }
    /// <summary>Defaults for options the caller leaves unset.</summary>
    public GenerationOptions Defaults { get; init; } = new() { Temperature = 0.7, TopP = 0.95, MaxNewTokens = 512 };
    /// <summary>Name reported as the model id.</summary>
    public string ModelId { get; init; } = "quest-local";
    /// <summary>When set, requests go through this batcher (concurrent callers are decoded together).</summary>
    public GenerationBatcher? Batcher { get; init; }
    /// <summary>What a rollout runner wraps each episode in so the turns of running episodes decode together (the
    /// batcher's join), or null without a batcher.</summary>
    public Func<IDisposable>? EpisodeScope => Batcher is { } b ? b.Join : null;
    /// <summary>How this model sees an episode (from its config).</summary>
    public AgentView View { get; }

    /// <summary>Wraps a model and its tokenizer.</summary>
    public LocalChatClient(QuestTransformer model, QuestTokenizer tokenizer)
    {
        Generator = new TextGenerator(model, tokenizer);
        View = ChatTemplate.View(tokenizer, model.Config.View);
    }

    /// <summary>
    /// A client that decodes concurrent callers together through a <see cref="GenerationBatcher"/> of its own (up to
    /// <paramref name="maxBatch"/> rows), disposed with the client: what an eval or a GRPO group of episodes uses.
    /// </summary>
    public static LocalChatClient Batched(QuestTransformer model, QuestTokenizer tokenizer, GenerationOptions defaults, int maxBatch, string modelId) =>
        new(model, tokenizer)
        {
            Defaults = defaults, ModelId = modelId, _ownsBatcher = true,
            // an agent's next turn starts with its last prompt: keep two batches' prompts (the weights do not change while this client lives)
            Batcher = new GenerationBatcher(new TextGenerator(model, tokenizer) { PrefixCapacity = 2 * Math.Max(1, maxBatch) }, Math.Max(1, maxBatch)),
        };

    private bool _ownsBatcher;

    /// <summary>Loads a stage directory (see <see cref="Checkpoint"/>) and wraps it.</summary>
    public static LocalChatClient Load(string dir) { var m = Checkpoint.Load(dir); return new LocalChatClient(m.Model, m.Tokenizer) { ModelId = Path.GetFileName(Path.GetFullPath(dir).TrimEnd('/')) }; }

    /// <summary>The generation options a request maps to.</summary>
    public GenerationOptions ToGenerationOptions(ChatOptions? options)
    {
        var d = Defaults;
        if (options is null) return d;
        return d with
        {
            Temperature = options.Temperature ?? d.Temperature,
            TopP = options.TopP ?? d.TopP,
            TopK = options.TopK ?? d.TopK,
            MaxNewTokens = options.MaxOutputTokens ?? d.MaxNewTokens,
            StopSequences = options.StopSequences is { Count: > 0 } s ? [.. s] : d.StopSequences,
            Seed = options.Seed ?? d.Seed,
        };
    }

    /// <summary>The prompt ids for <paramref name="messages"/> under the model's view, with no length limit.</summary>
    public int[] PromptIds(IEnumerable<ChatMessage> messages) => View.Prompt(Texts(messages), int.MaxValue / 2);

    /// <summary>
    /// The prompt for the next turn and the generation options that fit it: the reply keeps at most half the window
    /// (so a long conversation never squeezes generation down to a single token) and the view fills the rest.
    /// </summary>
    public (int[] Prompt, GenerationOptions Options) Fit(IEnumerable<ChatMessage> messages, GenerationOptions gen)
    {
        int window = Generator.Model.Config.MaxSeqLen;
        return (View.Prompt(Texts(messages), AgentView.PromptBudget(window, gen.MaxNewTokens)), gen with { MaxNewTokens = AgentView.ReplyTokens(window, gen.MaxNewTokens) });
    }

    private static List<ChatTurn> Texts(IEnumerable<ChatMessage> messages) => messages.Select(m => new ChatTurn(m.Role.Value, m.Text ?? "")).ToList();

    /// <inheritdoc/>
    public async Task<ChatResponse> GetResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default)
    {
        var (prompt, gen) = Fit(messages, ToGenerationOptions(options));
        GeneratedSequence seq;
        if (Batcher is not null) seq = await Batcher.GenerateAsync(prompt, gen, cancellationToken).ConfigureAwait(false);
        else
        {
            await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
            try { seq = await Task.Run(() => Generator.Generate([prompt], gen, cancellationToken)[0], cancellationToken).ConfigureAwait(false); }
            finally { _gate.Release(); }
        }
        var response = new ChatResponse(new ChatMessage(ChatRole.Assistant, seq.Text))
        {
            ModelId = options?.ModelId ?? ModelId,
            FinishReason = seq.Finish == FinishReason.Length ? ChatFinishReason.Length : ChatFinishReason.Stop,
            Usage = new UsageDetails { InputTokenCount = prompt.Length, OutputTokenCount = seq.TokenIds.Length, TotalTokenCount = prompt.Length + seq.TokenIds.Length },
            RawRepresentation = new GeneratedTurn(prompt, seq.TokenIds, seq.Logprobs, seq.Finish),
            AdditionalProperties = new AdditionalPropertiesDictionary
            {
                ["token_ids"] = seq.TokenIds,
                ["logprobs"] = seq.Logprobs,
                ["prompt_token_ids"] = prompt,
                ["finish"] = seq.Finish.ToString(),
            },
        };
        return response;
    }

    /// <summary>
    /// Streams the reply: one update per decoded piece of text as tokens are sampled (bytes of a multi-byte character
    /// are held back until complete; text after a stop sequence is never sent), then a final update with the finish
    /// reason and usage.
    /// </summary>
    public async IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null,
        [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var (prompt, gen) = Fit(messages, ToGenerationOptions(options));
        var channel = System.Threading.Channels.Channel.CreateUnbounded<string>();
        var tokens = new List<int>();
        var stopIds = new HashSet<int>(gen.StopTokenIds ?? new[] { Generator.Tokenizer.ImEndId, Generator.Tokenizer.EndOfTextId });
        int holdBack = gen.StopSequences.Count == 0 ? 0 : gen.StopSequences.Max(x => x.Length);
        int sent = 0;
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        var run = Task.Run(() =>
        {
            try
            {
                return Generator.Generate([prompt], gen, cancellationToken, (_, id, _) =>
                {
                    if (stopIds.Contains(id)) return;
                    tokens.Add(id);
                    var text = Generator.Tokenizer.Decode(tokens);
                    if (text.EndsWith('\uFFFD')) return;                 // an incomplete UTF-8 sequence: wait for more bytes
                    int safe = Math.Max(sent, text.Length - holdBack);    // a stop sequence may still be forming at the end
                    foreach (var stop in gen.StopSequences)
                    {
                        int at = stop.Length == 0 ? -1 : text.IndexOf(stop, StringComparison.Ordinal);
                        if (at >= 0) safe = Math.Min(safe, at);               // never send text from a stop sequence on
                    }
                    if (safe > sent) { channel.Writer.TryWrite(text[sent..safe]); sent = safe; }
                })[0];
            }
            finally { channel.Writer.TryComplete(); }
        }, cancellationToken);
        try
        {
            await foreach (var piece in channel.Reader.ReadAllAsync(cancellationToken).ConfigureAwait(false))
                yield return new ChatResponseUpdate(ChatRole.Assistant, piece) { ModelId = options?.ModelId ?? ModelId };
            var seq = await run.ConfigureAwait(false);
            if (seq.Text.Length > sent) yield return new ChatResponseUpdate(ChatRole.Assistant, seq.Text[sent..]) { ModelId = options?.ModelId ?? ModelId };
            yield return new ChatResponseUpdate
            {
                Role = ChatRole.Assistant,
                ModelId = options?.ModelId ?? ModelId,
                FinishReason = seq.Finish == FinishReason.Length ? ChatFinishReason.Length : ChatFinishReason.Stop,
                Contents = [new UsageContent(new UsageDetails { InputTokenCount = prompt.Length, OutputTokenCount = seq.TokenIds.Length, TotalTokenCount = prompt.Length + seq.TokenIds.Length })],
            };
        }
        finally
        {
            try { await run.ConfigureAwait(false); } catch { /* surfaced above or cancelled */ }
            _gate.Release();
        }
    }

    /// <inheritdoc/>
    public object? GetService(Type serviceType, object? serviceKey = null) =>
        serviceKey is not null ? null
        : serviceType == typeof(ChatClientMetadata) ? new ChatClientMetadata("Quest.Models", null, ModelId)
        : serviceType.IsInstanceOfType(this) ? this
        : serviceType.IsInstanceOfType(Generator) ? Generator
        : null;

    /// <inheritdoc/>
    public void Dispose()
    {
        _gate.Dispose();
        if (_ownsBatcher) { Batcher?.Dispose(); Batcher?.Generator.Dispose(); }
        Generator.Dispose();
    }
}

/// <summary>
/// What a local policy produced for one turn, as token ids: the prompt it was conditioned on, every sampled token
/// (a final stop token included) and each token's log-probability at sampling time. RL trains on exactly these ids.
/// </summary>
/// <param name="PromptIds">The prompt the model saw (its view of the episode).</param>
/// <param name="TokenIds">The generated tokens.</param>
/// <param name="Logprobs">log p(token | prefix) of each generated token under the sampling policy (temperature 1, unfiltered).</param>
/// <param name="Finish">Why generation ended.</param>
public sealed record GeneratedTurn(int[] PromptIds, int[] TokenIds, float[] Logprobs, FinishReason Finish);

/// <summary>
/// Wraps a local policy for one episode and keeps every <see cref="GeneratedTurn"/> it returned, in order: the exact
/// prompt and generated ids that RL trains on.
/// </summary>
public sealed class TurnRecorder(IChatClient inner) : DelegatingChatClient(inner)
{
    private readonly List<GeneratedTurn> _turns = [];

    /// <summary>The turns generated so far.</summary>
    public IReadOnlyList<GeneratedTurn> Turns { get { lock (_turns) return [.. _turns]; } }

    /// <inheritdoc/>
    public override async Task<ChatResponse> GetResponseAsync(IEnumerable<ChatMessage> messages,
        ChatOptions? options = null, CancellationToken cancellationToken = default)
    {
        var r = await base.GetResponseAsync(messages, options, cancellationToken).ConfigureAwait(false);
        if (r.RawRepresentation is GeneratedTurn t) lock (_turns) _turns.Add(t);
        return r;
    }
}
