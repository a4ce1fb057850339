namespace Quest.Core;

/// <summary>
/// Chat turns as token ids and back: the chat template over a tokenizer. The model room's <c>ChatTemplate</c> is the
/// real one (byte-level BPE); <see cref="CharCodec"/> counts characters, for a view with no model behind it.
/// </summary>
public interface IChatCodec : ITokenCounter
{
    /// <summary>
    /// The ids of <paramref name="turns"/> rendered with the chat template (<see cref="Protocol.RenderChat"/>), with an
    /// open assistant header appended when <paramref name="addGenerationPrompt"/>.
    /// </summary>
    int[] EncodeChat(IEnumerable<ChatTurn> turns, bool addGenerationPrompt);

    /// <summary>The text of <paramref name="ids"/>.</summary>
    string Decode(IEnumerable<int> ids);
}

/// <summary>
/// A codec whose tokens are characters (UTF-16 code units) of the rendered chat: the view of a student whose window is
/// counted in characters, for a teacher run with no tokenizer (its tests and the synthesis room alone).
/// </summary>
public sealed class CharCodec : IChatCodec
{
    /// <inheritdoc/>
    public int[] EncodeChat(IEnumerable<ChatTurn> turns, bool addGenerationPrompt) =>
        [.. Protocol.RenderChat(turns, addGenerationPrompt).Select(ch => (int)ch)];

    /// <inheritdoc/>
    public string Decode(IEnumerable<int> ids) => new([.. ids.Select(i => (char)i)]);

    /// <inheritdoc/>
    public int CountTokens(string text) => text.Length;
}

/// <summary>
/// What a model sees of an agent episode: the one definition the teacher's groundedness check, SFT's examples, RL's
/// rollouts and evaluation all use, so a teacher turn is judged against exactly the prompt the student will be given.
/// A view is a kind (<see cref="Full"/> or <see cref="QuestionRecent"/>, a class each) over a codec (the model's
/// tokenizer, or characters); <see cref="Prompt"/> builds the ids for the next assistant turn within a budget, and
/// <see cref="PromptBudget"/> is that budget for a window that keeps room for the reply.
/// </summary>
public abstract class AgentView
{
    /// <summary>System prompt and whole history (oldest tokens dropped on overflow).</summary>
    public const string Full = "full";
    /// <summary>The question, then the most recent tokens (no system prompt).</summary>
    public const string QuestionRecent = "question_recent";
    /// <summary>The question, then recent tokens from a start that moves in steps of half the room (<see cref="SteppedQuestionRecentView"/>).</summary>
    public const string QuestionRecentStepped = "question_recent_stepped";
    /// <summary>Every kind.</summary>
    public static readonly IReadOnlyList<string> Kinds = [Full, QuestionRecent, QuestionRecentStepped];
    /// <summary>The reply budget rollouts and evaluation generate with unless told otherwise (tokens a turn).</summary>
    public const int DefaultReplyTokens = 128;

    /// <summary>A view over <paramref name="codec"/>.</summary>
    protected AgentView(IChatCodec codec) => Codec = codec;

    /// <summary>The view of <paramref name="kind"/> (<see cref="Kinds"/>) over <paramref name="codec"/>.</summary>
    /// <exception cref="QuestInputException">An unknown kind.</exception>
    public static AgentView Create(IChatCodec codec, string kind) => kind switch
    {
        Full => new FullView(codec),
        QuestionRecent => new QuestionRecentView(codec),
        QuestionRecentStepped => new SteppedQuestionRecentView(codec),
        _ => throw new QuestInputException(null, null, null, $"unknown agent view '{kind}'", string.Join(" or ", Kinds)),
    };

    /// <summary>The tool output sizes a view of <paramref name="kind"/> is designed for (<see cref="ToolOutput"/>).</summary>
    public static string ToolOutputOf(string kind) => Create(new CharCodec(), kind).ToolOutput;

    /// <summary>The codec prompts are counted and built in.</summary>
    public IChatCodec Codec { get; }
    /// <summary>The kind's name, as a model's <c>config.json</c> records it.</summary>
    public abstract string Kind { get; }
    /// <summary>
    /// The tool output sizes this view is designed for (a name of the world room's <c>ToolSizes.Named</c>): what a
    /// window of this kind can show whole.
    /// </summary>
    public abstract string ToolOutput { get; }

    /// <summary>
    /// Whether a history that fits the budget is shown whole, system prompt included, so that every turn's prompt is
    /// a prefix of the whole transcript's ids (SFT can then train all of a transcript's turns as one sequence).
    /// </summary>
    public virtual bool ShowsWholeHistory => false;

    /// <summary>
    /// Prompt ids for the next assistant turn after <paramref name="messages"/> (system prompt first when present, then
    /// the question, then assistant / tool-response turns), at most <paramref name="budget"/> tokens.
    /// </summary>
    public abstract int[] Prompt(IReadOnlyList<ChatTurn> messages, int budget);

    /// <summary>The text of <see cref="Prompt"/>: exactly what the model reads before its next turn.</summary>
    public string Visible(IReadOnlyList<ChatTurn> messages, int budget) => Codec.Decode(Prompt(messages, budget));

    /// <summary>
    /// The reply budget a window of <paramref name="window"/> tokens grants a request for <paramref name="maxNewTokens"/>:
    /// at most half the window, so a long conversation never squeezes generation down to a single token.
    /// </summary>
    public static int ReplyTokens(int window, int maxNewTokens) => Math.Clamp(maxNewTokens, 1, Math.Max(1, window / 2));

    /// <summary>The prompt budget of a <paramref name="window"/>-token model that generates up to <paramref name="maxNewTokens"/> a turn.</summary>
    public static int PromptBudget(int window, int maxNewTokens) => window - ReplyTokens(window, maxNewTokens);

    /// <summary>The last <paramref name="n"/> ids (all when there are fewer).</summary>
    protected static int[] Last(int[] ids, int n) => ids.Length > n ? ids[^n..] : ids;

    /// <summary>Checks a budget.</summary>
    protected static void CheckBudget(int budget)
    {
        if (budget < 1) throw new ArgumentOutOfRangeException(nameof(budget), "the prompt budget must be at least one token");
    }
}

/// <summary>The chat-template rendering of every message (system prompt first) plus the open assistant header; on overflow the oldest tokens are dropped.</summary>
public sealed class FullView(IChatCodec codec) : AgentView(codec)
{
    /// <inheritdoc/>
    public override string Kind => Full;
    /// <inheritdoc/>
    public override string ToolOutput => "quest";
    /// <inheritdoc/>
    public override bool ShowsWholeHistory => true;

    /// <inheritdoc/>
    public override int[] Prompt(IReadOnlyList<ChatTurn> messages, int budget)
    {
        CheckBudget(budget);
        return Last(Codec.EncodeChat(messages, addGenerationPrompt: true), budget);
    }
}

/// <summary>
/// QUEST's system prompt alone is longer than a tiny model's window, so this view is the question (the first user turn,
/// capped at half the budget), then the most recent tokens of the episode that still fit, then the open assistant
/// header. No system prompt.
/// </summary>
public class QuestionRecentView(IChatCodec codec) : AgentView(codec)
{
    /// <inheritdoc/>
    public override string Kind => QuestionRecent;
    /// <inheritdoc/>
    public override string ToolOutput => "small";

    /// <inheritdoc/>
    public override int[] Prompt(IReadOnlyList<ChatTurn> messages, int budget)
    {
        CheckBudget(budget);
        var rest = messages.SkipWhile(m => m.Role == Roles.System).ToList();
        if (rest.Count == 0) return Last(Codec.EncodeChat(rest, addGenerationPrompt: true), budget);
        var q = Codec.EncodeChat([rest[0]], addGenerationPrompt: false);
        if (q.Length > budget / 2) q = q[..(budget / 2)];
        var tail = Codec.EncodeChat(rest.Skip(1), addGenerationPrompt: true);
        int room = budget - q.Length;
        return [.. q, .. tail.Length <= room ? tail : tail[TailStart(tail.Length, room)..]];
    }

    /// <summary>Where the tail of <paramref name="length"/> tokens starts when only <paramref name="room"/> fit (length &gt; room): the most recent tokens.</summary>
    protected virtual int TailStart(int length, int room) => length - room;
}

/// <summary>
/// <see cref="QuestionRecentView"/> whose window of recent tokens starts at a multiple of half the room instead of
/// sliding every turn: between two moves each turn's prompt is the last one extended (the reply and the tool output
/// appended), so a generator that keeps the last prompts' keys and values prefills only the new tokens. The price is a
/// shorter view on average (between half the room and the whole of it, not always all of it).
/// </summary>
public sealed class SteppedQuestionRecentView(IChatCodec codec) : QuestionRecentView(codec)
{
    /// <inheritdoc/>
    public override string Kind => QuestionRecentStepped;

    /// <inheritdoc/>
    protected override int TailStart(int length, int room)
    {
        int step = Math.Max(1, room / 2);
        return (length - room + step - 1) / step * step;
    }
}
