using Microsoft.ML.Tokenizers;
using Quest.Core;

namespace Quest.Agent.Context;

/// <summary>Renders a history the way a Qwen-style chat template does, so token counts cover the role markers too.</summary>
public static class ChatFormat
{
    /// <summary><c>&lt;|im_start|&gt;role\ncontent&lt;|im_end|&gt;\n</c> per message (<see cref="Protocol.RenderChat"/>).</summary>
    public static string Render(IEnumerable<ChatTurn> messages) => Protocol.RenderChat(messages);

    private static readonly System.Runtime.CompilerServices.ConditionalWeakTable<ITokenCounter, System.Runtime.CompilerServices.ConditionalWeakTable<ChatTurn, System.Runtime.CompilerServices.StrongBox<int>>> Cache = new();

    /// <summary>
    /// Tokens of the chat-formatted history: the sum over messages of the tokens of each rendered message. Counts are
    /// cached per message object, so counting a growing history every turn costs only the new messages.
    /// </summary>
    public static int CountTokens(this ITokenCounter counter, IEnumerable<ChatTurn> messages)
    {
        var perCounter = Cache.GetValue(counter, _ => new());
        int total = 0;
        foreach (var m in messages)
            total += perCounter.GetValue(m, t => new System.Runtime.CompilerServices.StrongBox<int>(counter.CountTokens(Render([t])))).Value;
        return total;
    }
}

/// <summary>
/// A fast approximate counter: about one token per 4 characters of Latin text, one per CJK character, and one per
/// protocol marker. Deterministic; within ~20% of cl100k on English research transcripts.
/// </summary>
public sealed class ApproximateTokenCounter : ITokenCounter
{
    /// <summary>Shared instance.</summary>
    public static readonly ApproximateTokenCounter Instance = new();

    /// <inheritdoc/>
    public int CountTokens(string text)
    {
        if (string.IsNullOrEmpty(text)) return 0;
        long latin = 0; int cjk = 0, markers = 0;
        for (int i = 0; i < text.Length; i++)
        {
            char c = text[i];
            if (c == '<' && i + 1 < text.Length && (text[i + 1] == '|' || char.IsLetter(text[i + 1]) || text[i + 1] == '/'))
            {
                int close = text.IndexOf('>', i + 1);
                if (close > i && close - i < 20) { markers++; i = close; continue; }
            }
            if (c >= 0x2E80 && c <= 0x9FFF || c >= 0xAC00 && c <= 0xD7AF) cjk++;
            else latin++;
        }
        return (int)((latin + 3) / 4) + cjk + markers;
    }
}

/// <summary>Counts with a Microsoft.ML.Tokenizers tokenizer (cl100k_base by default, shipped in the Data package).</summary>
public sealed class TiktokenTokenCounter : ITokenCounter
{
    private static readonly Lazy<TiktokenTokenCounter?> Cl100k = new(() =>
    {
        try { return new TiktokenTokenCounter(TiktokenTokenizer.CreateForEncoding("cl100k_base")); }
        catch (Exception) { return null; }
    });

    private readonly Tokenizer _tokenizer;

    /// <summary>Wraps any Microsoft.ML.Tokenizers tokenizer.</summary>
    public TiktokenTokenCounter(Tokenizer tokenizer) => _tokenizer = tokenizer ?? throw new ArgumentNullException(nameof(tokenizer));

    /// <summary>The cl100k_base counter, or null when its data package is missing.</summary>
    public static TiktokenTokenCounter? TryCl100k() => Cl100k.Value;

    /// <inheritdoc/>
    public int CountTokens(string text) => string.IsNullOrEmpty(text) ? 0 : _tokenizer.CountTokens(text);
}

/// <summary>Picks the default token counter.</summary>
public static class TokenCounters
{
    /// <summary>cl100k_base when available, else <see cref="ApproximateTokenCounter"/>.</summary>
    public static ITokenCounter Default => (ITokenCounter?)TiktokenTokenCounter.TryCl100k() ?? ApproximateTokenCounter.Instance;

    /// <summary>By name: "cl100k", "approx".</summary>
    public static ITokenCounter ByName(string name) => name.ToLowerInvariant() switch
    {
        "cl100k" or "cl100k_base" or "tiktoken" => TiktokenTokenCounter.TryCl100k() ?? throw new InvalidOperationException("cl100k_base data is not available"),
        "approx" or "approximate" => ApproximateTokenCounter.Instance,
        _ => throw new ArgumentException($"unknown token counter '{name}' (expected cl100k or approx)", nameof(name)),
    };
}
