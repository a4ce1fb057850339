using System.Globalization;
using Quest.Core;

namespace Quest.Agent;

/// <summary>
/// Builds QUEST's system prompt: the research-assistant preamble, the tool signatures as JSON lines inside
/// <c>&lt;tools&gt;…&lt;/tools&gt;</c> (<see cref="ToolText.ToolsBlock"/>), the tool-call format, the explanation of
/// the <c>prev_state</c> memory section, and finally <c>Current date: YYYY-MM-DD</c>.
/// </summary>
public static class SystemPrompt
{
    /// <summary>The opening paragraph (QUEST / Tongyi DeepResearch wording).</summary>
    public const string Preamble =
        "You are a deep research assistant. Your core function is to conduct thorough, multi-source investigations into any topic. " +
        "You must handle both broad, open-domain inquiries and queries within specialized academic fields. For every request, " +
        "synthesize information from credible, diverse sources to deliver a comprehensive, accurate, and objective response. " +
        "When you have gathered sufficient information and are ready to provide the definitive response, you must enclose the " +
        "entire final answer within <answer></answer> tags.";

    /// <summary>The memory paragraph: how to use the RESEARCH STATE SUMMARY (prev_state) section.</summary>
    public const string MemorySection =
        "# Memory\n\n" +
        "Long investigations are compressed. When the conversation grows too long, earlier turns are replaced by a " +
        "\"RESEARCH STATE SUMMARY (prev_state)\" section appended to the user's question. It is a JSON object with " +
        "\"version\": \"dr_state\", \"search_queries\" (queries already issued, with their intent), \"visited_sources\" " +
        "(URLs already visited, with a note), and \"information_state\" with three buckets of claims: \"trusted\" " +
        "(supported by visited pages), \"untrusted\" (contradicted or unreliable) and \"uncertain\" (each with a \"need\": " +
        "the concrete next action that would settle it).\n" +
        "- Check search_queries and visited_sources before acting, so you do not repeat work.\n" +
        "- Use trusted facts directly.\n" +
        "- Follow the need entries of uncertain claims to resolve them.\n" +
        "- The final answer must exclude any information that remains uncertain or pending.";

    /// <summary>The tool-call format paragraph that follows the tool list.</summary>
    public const string ToolCallFormat =
        "For each function call, return a json object with function name and arguments within <tool_call></tool_call> XML tags:\n" +
        "<tool_call>\n{\"name\": <function-name>, \"arguments\": <args-json-object>}\n</tool_call>";

    /// <summary>The literal text the prompt ends with, before the date.</summary>
    public const string DatePrefix = "Current date: ";

    /// <summary>
    /// A system prompt from a template the user supplies (e.g. QUEST's <c>SYSTEM_PROMPT</c> from its <c>prompt.py</c>,
    /// which the released models were trained on): the template's text exactly, with the date appended as QUEST
    /// appends it (the template normally ends with <c>Current date: </c>).
    /// </summary>
    public static string FromTemplate(string template, DateOnly date)
    {
        ArgumentNullException.ThrowIfNull(template);
        return template + date.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);
    }

    /// <summary>
    /// Reads a prompt template file (UTF-8; one trailing newline, as editors add, is dropped so that the date follows
    /// <c>Current date: </c> directly). Missing or empty files throw <see cref="QuestInputException"/>.
    /// </summary>
    public static string ReadTemplate(string path)
    {
        var text = Utf8Text.ReadFile(path, "a system-prompt template file (e.g. QUEST's SYSTEM_PROMPT text, ending with \"Current date: \")");
        if (text.EndsWith("\r\n", StringComparison.Ordinal)) text = text[..^2];
        else if (text.EndsWith('\n')) text = text[..^1];
        if (string.IsNullOrWhiteSpace(text)) throw new QuestInputException(path, null, null, "the system-prompt template is empty", "the prompt text the model was trained with");
        return text;
    }

    /// <summary>Builds the system prompt for <paramref name="tools"/> on <paramref name="date"/>.</summary>
    /// <param name="tools">The tools the agent may call, in the order they are listed.</param>
    /// <param name="date">The date written after "Current date: " (QUEST appends the real date; pass a fixed one for reproducible transcripts).</param>
    /// <param name="extraInstructions">Optional paragraph inserted after the preamble (e.g. citation rules).</param>
    public static string Build(IEnumerable<ITool> tools, DateOnly date, string? extraInstructions = null)
    {
        ArgumentNullException.ThrowIfNull(tools);
        var sb = new System.Text.StringBuilder();
        sb.Append(Preamble).Append("\n\n");
        if (!string.IsNullOrWhiteSpace(extraInstructions)) sb.Append(extraInstructions.Trim()).Append("\n\n");
        sb.Append("# Tools\n\nYou may call one or more functions to assist with the user query.\n\n");
        sb.Append("You are provided with function signatures within <tools></tools> XML tags:\n");
        sb.Append(Protocol.ToolsOpen).Append('\n').Append(ToolText.ToolsBlock(tools)).Append('\n').Append(Protocol.ToolsClose).Append("\n\n");
        sb.Append(ToolCallFormat).Append("\n\n");
        sb.Append(MemorySection).Append("\n\n");
        sb.Append(DatePrefix).Append(date.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture));
        return sb.ToString();
    }
}
