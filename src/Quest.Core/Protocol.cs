namespace Quest.Core;

/// <summary>
/// The text markers of QUEST's agent protocol. Released QUEST models were trained on exactly these strings,
/// so every part of the kit (agent parser, tokenizer special tokens, teacher transcripts) takes them from here.
/// </summary>
public static class Protocol
{
    /// <summary>Opens the model's private reasoning.</summary>
    public const string ThinkOpen = "<think>";
    /// <summary>Closes the model's private reasoning.</summary>
    public const string ThinkClose = "</think>";
    /// <summary>Opens a tool call: a JSON object <c>{"name": …, "arguments": {…}}</c>.</summary>
    public const string ToolCallOpen = "<tool_call>";
    /// <summary>Closes a tool call.</summary>
    public const string ToolCallClose = "</tool_call>";
    /// <summary>Opens a tool result; tool results come back as a user turn.</summary>
    public const string ToolResponseOpen = "<tool_response>";
    /// <summary>Closes a tool result.</summary>
    public const string ToolResponseClose = "</tool_response>";
    /// <summary>Opens the final answer.</summary>
    public const string AnswerOpen = "<answer>";
    /// <summary>Closes the final answer.</summary>
    public const string AnswerClose = "</answer>";
    /// <summary>Opens the tool list in the system prompt.</summary>
    public const string ToolsOpen = "<tools>";
    /// <summary>Closes the tool list in the system prompt.</summary>
    public const string ToolsClose = "</tools>";
    /// <summary>Qwen-style chat-turn start delimiter.</summary>
    public const string ImStart = "<|im_start|>";
    /// <summary>Qwen-style chat-turn end delimiter.</summary>
    public const string ImEnd = "<|im_end|>";
    /// <summary>End-of-text / padding token.</summary>
    public const string EndOfText = "<|endoftext|>";

    /// <summary>Stop sequences QUEST sends with every generation request.</summary>
    public static readonly IReadOnlyList<string> StopSequences = ["\n<tool_response>", "<tool_response>"];

    /// <summary>All markers that a trained tokenizer keeps as single special tokens.</summary>
    public static readonly IReadOnlyList<string> SpecialTokens =
    [
        EndOfText, ImStart, ImEnd, ThinkOpen, ThinkClose, ToolCallOpen, ToolCallClose,
        ToolResponseOpen, ToolResponseClose, AnswerOpen, AnswerClose,
    ];

    /// <summary>
    /// Extracts the text of the last <c>&lt;answer&gt;…&lt;/answer&gt;</c> block, or null when there is none.
    /// An unclosed final block counts as an answer running to the end of the text.
    /// </summary>
    public static string? ExtractLastAnswer(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        int open = text.LastIndexOf(AnswerOpen, StringComparison.Ordinal);
        if (open < 0) return null;
        int start = open + AnswerOpen.Length;
        int close = text.IndexOf(AnswerClose, start, StringComparison.Ordinal);
        return (close < 0 ? text[start..] : text[start..close]).Trim();
    }
}
