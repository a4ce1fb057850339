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

    /// <summary>
    /// An assistant turn in QUEST's format: an optional <c>&lt;think&gt;</c> block, then
    /// <c>&lt;tool_call&gt;\n{"name": …, "arguments": …}\n&lt;/tool_call&gt;</c> with the JSON written as Python's
    /// <c>json.dumps</c> writes it (<see cref="PyJson"/>), which is what the released QUEST models were trained on.
    /// </summary>
    public static string ToolCallTurn(string? think, string name, System.Text.Json.Nodes.JsonObject arguments) =>
        ThinkBlock(think) + ToolCallOpen + "\n" + PyJson.Dumps(new System.Text.Json.Nodes.JsonObject { ["name"] = name, ["arguments"] = arguments.DeepClone() }) + "\n" + ToolCallClose;

    /// <summary>A final-answer turn: an optional <c>&lt;think&gt;</c> block, then <c>&lt;answer&gt;\n…\n&lt;/answer&gt;</c>.</summary>
    public static string AnswerTurn(string? think, string answer) => ThinkBlock(think) + AnswerOpen + "\n" + answer.Trim() + "\n" + AnswerClose;

    /// <summary>One turn in the Qwen chat template: <c>&lt;|im_start|&gt;role\ncontent&lt;|im_end|&gt;\n</c>.</summary>
    public static string ChatTurn(string role, string content) => ImStart + role + "\n" + content + ImEnd + "\n";

    /// <summary>The role a turn header writes: tool results are user turns (QUEST's protocol), other roles as they are.</summary>
    public static string RenderRole(string role) => role.ToLowerInvariant() switch
    {
        "tool" => Roles.User,
        var r => r,
    };

    /// <summary>
    /// A conversation in the chat template (<see cref="ChatTurn(string, string)"/> per turn, roles by <see cref="RenderRole"/>),
    /// with an open <c>&lt;|im_start|&gt;assistant\n</c> header for the model to continue when <paramref name="addGenerationPrompt"/>.
    /// </summary>
    public static string RenderChat(IEnumerable<Core.ChatTurn> turns, bool addGenerationPrompt = false)
    {
        var sb = new System.Text.StringBuilder();
        foreach (var m in turns) sb.Append(ChatTurn(RenderRole(m.Role), m.Content));
        if (addGenerationPrompt) sb.Append(ImStart).Append(Roles.Assistant).Append('\n');
        return sb.ToString();
    }

    /// <summary>A tool result as the user turn QUEST appends: <c>&lt;tool_response&gt;\n…\n&lt;/tool_response&gt;</c>.</summary>
    public static string ToolResponse(string result) => ToolResponseOpen + "\n" + result + "\n" + ToolResponseClose;

    /// <summary>
    /// The tool result inside a <see cref="ToolResponse"/> turn (the wrapper removed, trimmed); text without the wrapper
    /// comes back trimmed. Text after the last closing tag (a model's stray output) is dropped.
    /// </summary>
    public static string ToolResponseBody(string turn)
    {
        var t = turn.Trim();
        if (t.StartsWith(ToolResponseOpen, StringComparison.Ordinal)) t = t[ToolResponseOpen.Length..];
        int c = t.LastIndexOf(ToolResponseClose, StringComparison.Ordinal);
        if (c >= 0) t = t[..c];
        return t.Trim();
    }

    private static string ThinkBlock(string? think) => string.IsNullOrWhiteSpace(think) ? "" : ThinkOpen + "\n" + think.Trim() + "\n" + ThinkClose + "\n";
}

/// <summary>
/// JSON text exactly as Python's <c>json.dumps</c> writes it with its defaults: <c>", "</c> between items,
/// <c>": "</c> after keys, non-ASCII characters escaped as <c>\uXXXX</c> (ensure_ascii), no newlines; with
/// <c>indent=N</c>, each item on its own line indented N spaces per level, <c>","</c> between items, empty containers
/// as <c>[]</c> and <c>{}</c>. The one writer of every JSON text the agent protocol shows a model (tool calls, the
/// research state).
/// </summary>
public static class PyJson
{
    /// <summary>Serialises <paramref name="node"/> (as <c>json.dumps(node)</c>, or <c>json.dumps(node, indent=indent)</c>).</summary>
    public static string Dumps(System.Text.Json.Nodes.JsonNode? node, int? indent = null)
    {
        var sb = new System.Text.StringBuilder();
        Write(sb, node, indent, 0);
        return sb.ToString();
    }

    private static void Write(System.Text.StringBuilder sb, System.Text.Json.Nodes.JsonNode? node, int? indent, int level)
    {
        void Break(int l) { if (indent is int n) sb.Append('\n').Append(' ', n * l); }
        string sep = indent is null ? ", " : ",";
        switch (node)
        {
            case null: sb.Append("null"); break;
            case System.Text.Json.Nodes.JsonObject o:
                if (o.Count == 0) { sb.Append("{}"); break; }
                sb.Append('{');
                bool first = true;
                foreach (var (k, v) in o) { if (!first) sb.Append(sep); first = false; Break(level + 1); Str(sb, k); sb.Append(": "); Write(sb, v, indent, level + 1); }
                Break(level);
                sb.Append('}');
                break;
            case System.Text.Json.Nodes.JsonArray a:
                if (a.Count == 0) { sb.Append("[]"); break; }
                sb.Append('[');
                for (int i = 0; i < a.Count; i++) { if (i > 0) sb.Append(sep); Break(level + 1); Write(sb, a[i], indent, level + 1); }
                Break(level);
                sb.Append(']');
                break;
            default:
                switch (node.GetValueKind())
                {
                    case System.Text.Json.JsonValueKind.String: Str(sb, node.GetValue<string>()); break;
                    default: sb.Append(node.ToJsonString()); break;   // numbers as written, true, false, null
                }
                break;
        }
    }

    private static void Str(System.Text.StringBuilder sb, string s)
    {
        sb.Append('"');
        foreach (char c in s)
        {
            switch (c)
            {
                case '"': sb.Append("\\\""); break;
                case '\\': sb.Append("\\\\"); break;
                case '\n': sb.Append("\\n"); break;
                case '\r': sb.Append("\\r"); break;
                case '\t': sb.Append("\\t"); break;
                case '\b': sb.Append("\\b"); break;
                case '\f': sb.Append("\\f"); break;
                default:
                    if (c < 0x20 || c > 0x7e) sb.Append("\\u").Append(((int)c).ToString("x4"));
                    else sb.Append(c);
                    break;
            }
        }
        sb.Append('"');
    }
}
