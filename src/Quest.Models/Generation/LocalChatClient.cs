using System.Runtime.CompilerServices;
using Microsoft.Extensions.AI;
using Quest.Models.Checkpoints;
using Quest.Models.Tokenization;
using Quest.Models.Transformer;

namespace Quest.Models.Generation;

/// <summary>
/// An <see cref="IChatClient"/> over a local <see cref="QuestTransformer"/>, so the agent runs on it unchanged.
/// Messages are rendered with the Qwen chat template (<see cref="ChatTemplate"/>; the <c>tool</c> role becomes a user
/// turn, as in QUEST) plus an open assistant header. Honours <see cref="ChatOptions"/> <c>Temperature</c>, <c>TopP</c>,
/// <c>TopK</c>, <c>MaxOutputTokens</c>, <c>StopSequences</c> and <c>Seed</c>. The response's
/// <c>AdditionalProperties</c> carry <c>token_ids</c>, <c>logprobs</c> and <c>prompt_token_ids</c> for RL.
/// Calls are serialised (one generation at a time); use <see cref="TextGenerator"/> directly to batch many prompts.
/// </summary>
public sealed class LocalChatClient : IChatClient
{
    private readonly SemaphoreSlim _gate = new(1, 1);
    private readonly ChatTemplate _template;

    /// <summary>The generator used.</summary>
    public TextGenerator Generator { get; }
    /// <summary>Defaults for options the caller leaves unset.</summary>
    public GenerationOptions Defaults { get; init; } = new() { Temperature = 0.7, TopP = 0.95, MaxNewTokens = 512 };
    /// <summary>Name reported as the model id.</summary>
    public string ModelId { get; init; } = "quest-local";

    /// <summary>Wraps a model and its tokenizer.</summary>
    public LocalChatClient(QuestTransformer model, QuestTokenizer tokenizer)
    {
        Generator = new TextGenerator(model, tokenizer);
        _template = new ChatTemplate(tokenizer);
    }

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

    /// <summary>The prompt ids for <paramref name="messages"/> (template + open assistant header).</summary>
    public int[] PromptIds(IEnumerable<ChatMessage> messages) =>
        _template.Encode(messages.Select(m => new ChatMessageText(m.Role.Value, m.Text ?? "")), addGenerationPrompt: true).Ids;

    /// <inheritdoc/>
    public async Task<ChatResponse> GetResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default)
    {
        var prompt = PromptIds(messages);
        var gen = ToGenerationOptions(options);
        int room = Generator.Model.Config.MaxSeqLen - 1;
        if (prompt.Length > room) prompt = prompt[^room..];   // keep the most recent context
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        GeneratedSequence seq;
        try { seq = await Task.Run(() => Generator.Generate([prompt], gen, cancellationToken)[0], cancellationToken).ConfigureAwait(false); }
        finally { _gate.Release(); }
        var response = new ChatResponse(new ChatMessage(ChatRole.Assistant, seq.Text))
        {
            ModelId = options?.ModelId ?? ModelId,
            FinishReason = seq.Finish == FinishReason.Length ? ChatFinishReason.Length : ChatFinishReason.Stop,
            Usage = new UsageDetails { InputTokenCount = prompt.Length, OutputTokenCount = seq.TokenIds.Length, TotalTokenCount = prompt.Length + seq.TokenIds.Length },
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

    /// <inheritdoc/>
    public async IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null,
        [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var r = await GetResponseAsync(messages, options, cancellationToken).ConfigureAwait(false);
        foreach (var u in r.ToChatResponseUpdates()) yield return u;
    }

    /// <inheritdoc/>
    public object? GetService(Type serviceType, object? serviceKey = null) =>
        serviceKey is not null ? null
        : serviceType == typeof(ChatClientMetadata) ? new ChatClientMetadata("Quest.Models", null, ModelId)
        : serviceType.IsInstanceOfType(this) ? this
        : serviceType.IsInstanceOfType(Generator) ? Generator
        : null;

    /// <inheritdoc/>
    public void Dispose() => _gate.Dispose();
}
