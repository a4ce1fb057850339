namespace Quest.Core;

/// <summary>Counts tokens of text; pluggable so the context manager can use the policy model's own tokenizer.</summary>
public interface ITokenCounter
{
    /// <summary>Number of tokens in <paramref name="text"/>.</summary>
    int CountTokens(string text);
}
