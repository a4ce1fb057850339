using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using Quest.Core;

namespace Quest.Models.Tokenization;

/// <summary>A rendered conversation: token ids plus, per token, whether the assistant produced it.</summary>
/// <param name="Ids">Token ids.</param>
/// <param name="AssistantMask">True where the token was written by the assistant (loss is taken there in SFT).</param>
public sealed record ChatEncoding(int[] Ids, bool[] AssistantMask)
{
    /// <summary>Number of assistant tokens.</summary>
    public int AssistantTokenCount => AssistantMask.Count(m => m);
}

/// <summary>
/// The Qwen-style chat template: every turn is <c>&lt;|im_start|&gt;role\ncontent&lt;|im_end|&gt;\n</c>. The
/// assistant's tokens are its content plus the closing <c>&lt;|im_end|&gt;</c> (so the model learns to stop);
/// the header <c>&lt;|im_start|&gt;assistant\n</c> and the trailing newline are prompt. Tool results are user
/// turns (QUEST's protocol), so the <c>tool</c> role renders as <c>user</c>.
/// </summary>
public sealed class ChatTemplate(QuestTokenizer tokenizer) : IChatCodec
{
    /// <summary>The tokenizer.</summary>
    public QuestTokenizer Tokenizer { get; } = tokenizer;

    /// <summary>The role name written into the turn header (<see cref="Protocol.RenderRole"/>).</summary>
    public static string RenderRole(string role) => Protocol.RenderRole(role);

    /// <summary>The conversation as text (what <see cref="Encode"/> tokenizes; <see cref="Protocol.RenderChat"/>).</summary>
    public static string Render(IEnumerable<ChatTurn> messages, bool addGenerationPrompt = false) => Protocol.RenderChat(messages, addGenerationPrompt);

    /// <summary>The agent view of <paramref name="kind"/> (<see cref="AgentView.Kinds"/>) over <paramref name="tokenizer"/>'s chat template.</summary>
    public static AgentView View(QuestTokenizer tokenizer, string kind) => AgentView.Create(new ChatTemplate(tokenizer), kind);

    /// <inheritdoc/>
    public int[] EncodeChat(IEnumerable<ChatTurn> turns, bool addGenerationPrompt) => Encode(turns, addGenerationPrompt).Ids;

    /// <inheritdoc/>
    public string Decode(IEnumerable<int> ids) => Tokenizer.Decode(ids);

    /// <inheritdoc/>
    public int CountTokens(string text) => Tokenizer.CountTokens(text);

    /// <summary>
    /// Renders <paramref name="messages"/> to ids with the assistant mask. With <paramref name="addGenerationPrompt"/>
    /// an open <c>&lt;|im_start|&gt;assistant\n</c> header is appended for the model to continue.
    /// Message content is encoded with special tokens recognised (the protocol tags in content become single tokens).
    /// </summary>
    public ChatEncoding Encode(IEnumerable<ChatTurn> messages, bool addGenerationPrompt = false)
    {
        var ids = new List<int>();
        var mask = new List<bool>();
        int imStart = Tokenizer.SpecialTokens[Protocol.ImStart], imEnd = Tokenizer.SpecialTokens[Protocol.ImEnd];
        var newline = Tokenizer.EncodeOrdinary("\n");
        void Add(IEnumerable<int> t, bool m) { foreach (var i in t) { ids.Add(i); mask.Add(m); } }
        foreach (var msg in messages)
        {
            bool assistant = RenderRole(msg.Role) == Roles.Assistant;
            Add([imStart], false);
            Add(Tokenizer.EncodeOrdinary(RenderRole(msg.Role) + "\n"), false);
            Add(Tokenizer.Encode(msg.Content), assistant);
            Add([imEnd], assistant);
            Add(newline, false);
        }
        if (addGenerationPrompt)
        {
            Add([imStart], false);
            Add(Tokenizer.EncodeOrdinary("assistant\n"), false);
        }
        return new ChatEncoding([.. ids], [.. mask]);
    }

    /// <summary>
    /// Reads chat transcripts from a JSONL file: one <c>{"messages":[{"role":…,"content":…},…]}</c> object per line
    /// (a bare array of messages per line is accepted too). Bad lines throw <see cref="QuestInputException"/>.
    /// </summary>
    public static List<List<ChatTurn>> ReadTranscripts(string path)
    {
        var result = new List<List<ChatTurn>>();
        var lines = File.ReadAllLines(path);
        for (int i = 0; i < lines.Length; i++)
        {
            if (string.IsNullOrWhiteSpace(lines[i])) continue;
            try
            {
                using var doc = JsonDocument.Parse(lines[i]);
                var arr = doc.RootElement.ValueKind == JsonValueKind.Array ? doc.RootElement
                    : doc.RootElement.ValueKind == JsonValueKind.Object && doc.RootElement.TryGetProperty("messages", out var m) ? m
                    : throw new QuestInputException(path, i + 1, null, "no \"messages\" array", "{\"messages\":[{\"role\":…,\"content\":…}]}");
                if (arr.ValueKind != JsonValueKind.Array)
                    throw new QuestInputException(path, i + 1, null, $"\"messages\" is {arr.ValueKind.ToString().ToLowerInvariant()}, not a list", "{\"messages\":[{\"role\":…,\"content\":…}]}");
                var msgs = new List<ChatTurn>();
                foreach (var e in arr.EnumerateArray())
                {
                    if (e.ValueKind != JsonValueKind.Object)
                        throw new QuestInputException(path, i + 1, null, $"a message is {e.ValueKind.ToString().ToLowerInvariant()}, not an object", "{\"role\":\"user|assistant|system|tool\",\"content\":\"…\"}");
                    var role = e.TryGetProperty("role", out var r) && r.ValueKind == JsonValueKind.String ? r.GetString() : null;
                    var content = e.TryGetProperty("content", out var c) && c.ValueKind == JsonValueKind.String ? c.GetString() : null;
                    if (role is null || content is null)
                        throw new QuestInputException(path, i + 1, null, "message without role or content", "{\"role\":\"user|assistant|system|tool\",\"content\":\"…\"}");
                    msgs.Add(new ChatTurn(role, content));
                }
                result.Add(msgs);
            }
            catch (JsonException ex)
            {
                throw new QuestInputException(path, i + 1, ex.BytePositionInLine + 1, $"invalid JSON: {Quest.Core.JsonFiles.Describe(ex)}", "one JSON object per line", ex);
            }
        }
        return result;
    }
}
