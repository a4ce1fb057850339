using Quest.Core;
using Quest.Models.Tokenization;

namespace Quest.Models.Generation;

/// <summary>
/// What a model sees of an agent episode, as token ids. It is the model's own setting (<c>view</c> in its
/// <c>config.json</c>), so SFT, RL, eval and every local policy (<see cref="LocalChatClient"/>) build prompts the same
/// way for one checkpoint. Two kinds:
/// <list type="bullet">
/// <item><see cref="Full"/>: the chat-template rendering of every message (system prompt first) plus the open assistant
/// header; when it overflows the budget the oldest tokens are dropped.</item>
/// <item><see cref="QuestionRecent"/>: QUEST's system prompt alone is longer than a tiny model's window, so the view is
/// the question (the first user turn, capped at half the budget), then the most recent tokens of the episode that
/// still fit, then the open assistant header. No system prompt.</item>
/// </list>
/// </summary>
public sealed class AgentView
{
    /// <summary>System prompt and whole history (oldest tokens dropped on overflow).</summary>
    public const string Full = "full";
    /// <summary>The question, then the most recent tokens (no system prompt).</summary>
    public const string QuestionRecent = "question_recent";
    /// <summary>Every kind.</summary>
    public static readonly IReadOnlyList<string> Kinds = [Full, QuestionRecent];

    private readonly ChatTemplate _template;

    /// <summary>A view of <paramref name="kind"/> over <paramref name="tokenizer"/>'s chat template.</summary>
    public AgentView(QuestTokenizer tokenizer, string kind = Full)
    {
        if (!Kinds.Contains(kind)) throw new QuestInputException(null, null, null, $"unknown agent view '{kind}'", string.Join(" or ", Kinds));
        Tokenizer = tokenizer;
        Kind = kind;
        _template = new ChatTemplate(tokenizer);
    }

    /// <summary>The tokenizer.</summary>
    public QuestTokenizer Tokenizer { get; }
    /// <summary><see cref="Full"/> or <see cref="QuestionRecent"/>.</summary>
    public string Kind { get; }

    /// <summary>
    /// Prompt ids for the next assistant turn after <paramref name="messages"/> (system prompt first when present, then
    /// the question, then assistant / tool-response turns), at most <paramref name="budget"/> tokens.
    /// </summary>
    public int[] Prompt(IReadOnlyList<ChatTurn> messages, int budget)
    {
        if (budget < 1) throw new ArgumentOutOfRangeException(nameof(budget), "the prompt budget must be at least one token");
        var rest = Kind == Full ? messages : messages.SkipWhile(m => m.Role == "system").ToList();
        if (Kind == Full || rest.Count == 0) return Last(_template.Encode(rest, addGenerationPrompt: true).Ids, budget);
        var q = _template.Encode([rest[0]]).Ids;
        if (q.Length > budget / 2) q = q[..(budget / 2)];
        return [.. q, .. Last(_template.Encode(rest.Skip(1), addGenerationPrompt: true).Ids, budget - q.Length)];
        static int[] Last(int[] ids, int n) => ids.Length > n ? ids[^n..] : ids;
    }

    /// <summary>
    /// SFT examples of a transcript under this view, each at most <paramref name="seqLen"/> + 1 tokens with a mask on the
    /// tokens the loss is taken on. One example per assistant turn: the view before the turn (<see cref="Prompt"/>)
    /// followed by the turn's tokens and <c>&lt;|im_end|&gt;</c> (a turn longer than half of <paramref name="seqLen"/>
    /// is cut). Under <see cref="Full"/>, a transcript that fits whole is one example with every assistant turn masked
    /// in: the same prompts and targets, since a causal model sees exactly the earlier tokens.
    /// </summary>
    public IEnumerable<ChatEncoding> TrainingExamples(IReadOnlyList<ChatTurn> transcript, int seqLen)
    {
        if (Kind == Full)
        {
            var whole = _template.Encode(transcript);
            if (whole.Ids.Length <= seqLen + 1)
            {
                yield return whole;
                yield break;
            }
        }
        for (int i = 0; i < transcript.Count; i++)
        {
            if (transcript[i].Role != Roles.Assistant) continue;
            var turn = _template.Encode([transcript[i]]);
            // the turn's own tokens: after "<|im_start|>assistant\n", through <|im_end|> (the trailing newline is prompt)
            var target = turn.Ids.Where((_, k) => turn.AssistantMask[k]).ToArray();
            if (target.Length > seqLen / 2) target = target[..(seqLen / 2)];
            var prompt = Prompt(transcript.Take(i).ToList(), seqLen + 1 - target.Length);
            yield return new ChatEncoding([.. prompt, .. target], [.. Enumerable.Repeat(false, prompt.Length), .. Enumerable.Repeat(true, target.Length)]);
        }
    }
}
