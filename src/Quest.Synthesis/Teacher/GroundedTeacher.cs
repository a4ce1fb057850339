using System.Text;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Microsoft.Extensions.AI;
using Quest.Agent;
using Quest.Agent.Context;
using Quest.Agent.Policies;
using Quest.Core;
using Quest.Synthesis.Export;
using Quest.Synthesis.Rewards;

namespace Quest.Synthesis.Teacher;

/// <summary>Settings of the grounded teacher.</summary>
public sealed record GroundedTeacherOptions
{
    /// <summary>
    /// What the student sees: the student model's own <see cref="AgentView"/> (its kind over its tokenizer's chat
    /// template), so a turn is checked against exactly the prompt the student is given at that turn. The default counts
    /// characters (<see cref="CharCodec"/>), for a teacher run with no tokenizer.
    /// </summary>
    public AgentView View { get; init; } = new QuestionRecentView(new CharCodec());
    /// <summary>The student's context window, in the view's tokens.</summary>
    public int Window { get; init; } = 1920;
    /// <summary>
    /// The student's reply budget, in the view's tokens: a longer turn is not grounded (the student could not write it),
    /// and the view keeps <see cref="Window"/> minus this (<see cref="AgentView.PromptBudget"/>, as rollouts do).
    /// </summary>
    public int ReplyTokens { get; init; } = 420;
    /// <summary>The date written into the system prompt.</summary>
    public DateOnly Date { get; init; } = new(2026, 1, 1);
    /// <summary>Most characters of a visit goal (the goal is the question, cut at a word).</summary>
    public int MaxGoalChars { get; init; } = DefaultMaxGoalChars;
    /// <summary>The default of <see cref="MaxGoalChars"/> (the recipe's teacher; its tokenizer stage writes goals of this length too).</summary>
    public const int DefaultMaxGoalChars = 200;
    /// <summary>Turn budget.</summary>
    public int MaxTurns { get; init; } = 16;
    /// <summary>
    /// Open-ended (report) tasks get a compact report that fits the reply budget (<see cref="GroundedTeacher.CompactReport"/>) instead
    /// of the reference report, which no small student can write in one turn (every reference report is longer than a
    /// 128-token reply, so without this the student never sees a report answered).
    /// </summary>
    public bool CompactReports { get; init; } = true;
}

/// <summary>
/// How grounded a teacher trajectory is for a student that sees only the question and the most recent history: every
/// query word, visited URL and answer string a teacher turn writes must be visible in that view at that turn, or be
/// carried in the teacher's own notes (which must themselves stay visible).
/// </summary>
public sealed record Groundedness
{
    /// <summary>Assistant turns.</summary>
    public int Turns { get; init; }
    /// <summary>Turns whose every written item was visible.</summary>
    public int GroundedTurns { get; init; }
    /// <summary>Items checked (query words, URLs, answer strings, carried notes).</summary>
    public int Items { get; init; }
    /// <summary>Items that were visible.</summary>
    public int VisibleItems { get; init; }
    /// <summary>Turns longer than the student's reply budget.</summary>
    public int LongTurns { get; init; }
    /// <summary>What was not visible (first few), for reading.</summary>
    public List<string> Misses { get; init; } = [];
    /// <summary>Every turn grounded and within the reply budget.</summary>
    public bool Complete => GroundedTurns == Turns && LongTurns == 0;
}

/// <summary>A grounded-teacher trajectory, its reward and groundedness.</summary>
/// <param name="Result">The trajectory and its reward under the task's own reward.</param>
/// <param name="Groundedness">What a small-window student could see of what the teacher wrote.</param>
/// <param name="Answer">The answer the teacher gave (the shortest verified answer).</param>
public sealed record GroundedTeacherResult(TeacherResult Result, Groundedness Groundedness, string Answer);

/// <summary>
/// A teacher for small-window students. The oracle teacher knows the graph and writes what the student's view does not
/// show (41% of its queries, 93% of its visited URLs and 59% of its cited sources were out of a 512-token view): a
/// student trained on that learns to invent. This teacher writes only what it can see: its first query is the question's first
/// sentence, verbatim, it visits URLs shown in the latest results, it notes every answer string the moment a tool response
/// shows it (<c>&lt;think&gt;Found: …&lt;/think&gt;</c>, carried from turn to turn: the research state of a tiny
/// window), and answers as soon as its notes hold the whole answer, with the shortest answer that the task's own
/// reward scores 1.0. Every turn is checked against the student's view at that turn (<see cref="Visible"/>: the prompt
/// the student's <see cref="AgentView"/> builds, decoded) and the result says how grounded it was.
/// </summary>
public sealed class GroundedTeacher(IReadOnlyList<ITool> tools, RewardFunction reward, GroundedTeacherOptions? options = null)
{

    /// <summary>Settings.</summary>
    public GroundedTeacherOptions Options { get; } = options ?? new GroundedTeacherOptions();

    /// <summary>The agent options the teacher runs with (no context manager: the notes are the state).</summary>
    public AgentOptions AgentOptions => new() { MaxTurns = Options.MaxTurns, Date = Options.Date, MaxToolResponseChars = 12000, Context = new ContextOptions { Enabled = false } };

    /// <summary>Solves one task; the trajectory is scored with the task's reward and checked for groundedness.</summary>
    public async Task<GroundedTeacherResult> SolveAsync(SynthTask task, CancellationToken ct = default)
    {
        var compact = Options.CompactReports && task.Type == TaskTypes.OpenEnded && task.Criteria is { Count: > 0 };
        var (answer, required) = compact ? ("", ReportStrings(task)) : await ShortestAnswerAsync(task, ct).ConfigureAwait(false);
        var state = new State(task, answer, required) { Compact = compact };
        // a compact report needs only what the seed page shows (its URL from the results, the names its extract shows)
        if (compact) state.Plan.RemoveAll(x => x.Step != task.Reference.Steps[0]);
        var policy = new ScriptedChatClient((messages, _) => NextTurn(state, messages));
        var agent = new ResearchAgent(policy, tools, AgentOptions);
        var traj = await agent.RunAsync(task.Question, new EpisodeInfo(task.Id, 0, task.Answer), cancellationToken: ct).ConfigureAwait(false);
        var r = await reward(task, OracleTeacher.Transcript(traj), ct).ConfigureAwait(false);
        traj.Reward = r.Total;
        var g = new Groundedness
        {
            Turns = state.Turns, GroundedTurns = state.GroundedTurns, Items = state.Items, VisibleItems = state.Visible,
            LongTurns = state.LongTurns, Misses = state.Misses,
        };
        return new GroundedTeacherResult(new TeacherResult(task, traj, r), g, answer);
    }

    /// <summary>
    /// The shortest answer the task's reward scores 1.0, and the strings it needs the student to have seen (entities,
    /// values, cited URLs). Tried in order: the rubric's strings one per line (with "Final answer: X" where the rubric
    /// asks for it, and the reference's citation on each line that has one), the reference answer without repeated
    /// lines, the reference answer. The rubric's strings are tried without citations first (shortest), then with them.
    /// </summary>
    public async Task<(string Answer, IReadOnlyList<string> Required)> ShortestAnswerAsync(SynthTask task, CancellationToken ct = default)
    {
        var leaves = new List<string>();
        bool final = false;
        void Walk(JsonNode? n)
        {
            if (n is not JsonObject o) return;
            if (o["check"] is JsonObject c)
            {
                var type = (string?)c["type"];
                if (type == "exact" && (string?)c["expected"] is { Length: > 0 } e && !leaves.Contains(e)) leaves.Add(e);
                if (type == "regex" && ((string?)c["pattern"] ?? "").StartsWith("final answer", StringComparison.OrdinalIgnoreCase)) final = true;
            }
            if (o["children"] is JsonArray ch) foreach (var x in ch) Walk(x);
        }
        Walk(task.Rubric?["rubric_tree"] ?? task.Rubric?["root"] ?? task.Rubric);
        var refLines = task.Reference.AnswerText.Split('\n').Select(l => l.Trim()).Where(l => l.Length > 0).ToList();
        string Compact(bool cite)
        {
            var sb = new StringBuilder();
            foreach (var leaf in leaves)
            {
                if (final && string.Equals(leaf, task.Answer, StringComparison.OrdinalIgnoreCase)) continue;
                var source = refLines.Where(l => l.Contains(leaf, StringComparison.OrdinalIgnoreCase))
                    .Select(l => Citations.Parse(l).Urls.FirstOrDefault()).FirstOrDefault(u => u is not null);
                sb.Append(leaf);
                if (cite && source is not null) sb.Append(" [source](").Append(source).Append(')');
                sb.Append('\n');
            }
            if (final) sb.Append("Final answer: ").Append(task.Answer);
            return sb.ToString().Trim();
        }
        var candidates = new List<string> { Compact(false), Compact(true), string.Join("\n", refLines.Distinct()), task.Reference.AnswerText.Trim() };
        foreach (var a in candidates.Where(a => a.Length > 0).Distinct())
        {
            var r = await reward(task, Reward.AnswerOnly(task, a), ct).ConfigureAwait(false);
            if (r.Total >= 1 - 1e-9)
            {
                var req = leaves.Where(l => a.Contains(l, StringComparison.OrdinalIgnoreCase)).ToList();
                if (final && !req.Contains(task.Answer, StringComparer.OrdinalIgnoreCase)) req.Add(task.Answer);
                foreach (var u in Citations.Parse(a).Urls) if (!req.Contains(u)) req.Add(u);
                return (a, req);
            }
        }
        return (task.Reference.AnswerText.Trim(), [.. leaves]);
    }

    /// <summary>
    /// What the student reads before its next turn after <paramref name="messages"/>: the text of its view's prompt
    /// within the window and reply budget (<see cref="AgentView.Visible"/>), the same ids a rollout feeds the model.
    /// </summary>
    public string Visible(IReadOnlyList<ChatMessage> messages) =>
        Options.View.Visible([.. messages.Select(m => new ChatTurn(m.Role.Value, m.Text ?? ""))], AgentView.PromptBudget(Options.Window, Options.ReplyTokens));

    /// <summary>Whether the student could write <paramref name="turn"/> within its reply budget (its tokens and the closing <c>&lt;|im_end|&gt;</c>).</summary>
    public bool FitsReply(string turn) => Options.View.Codec.CountTokens(turn) + 1 <= AgentView.ReplyTokens(Options.Window, Options.ReplyTokens);

    private sealed class State(SynthTask task, string answer, IReadOnlyList<string> required)
    {
        public readonly SynthTask Task = task;
        public readonly string Answer = answer;
        public readonly IReadOnlyList<string> Required = required;
        public readonly List<string> Notes = [];
        public readonly List<(string Kind, SolutionStep Step)> Plan = OracleTeacher.PlanOf(task);
        public int Next, Turns, GroundedTurns, Items, Visible, LongTurns;
        public bool Searched, Compact;
        public readonly List<string> Misses = [];
    }

    private string NextTurn(State s, IReadOnlyList<ChatMessage> messages)
    {
        var view = Visible(messages);
        bool ok = true;
        void Check(bool visible, string what)
        {
            s.Items++;
            if (visible) { s.Visible++; return; }
            ok = false;
            if (s.Misses.Count < 8) s.Misses.Add(what);
        }
        bool Sees(string x) => view.Contains(x, StringComparison.OrdinalIgnoreCase);
        // the notes written last turn must still be visible to be copied forward
        foreach (var n in s.Notes) Check(Sees(n), $"note '{n}' scrolled out");
        // note what the latest tool response shows
        var last = messages.LastOrDefault();
        if (last is not null && last.Role == ChatRole.User && (last.Text ?? "").StartsWith(Protocol.ToolResponseOpen, StringComparison.Ordinal))
            foreach (var r in s.Required)
                if (!s.Notes.Contains(r, StringComparer.OrdinalIgnoreCase) && !s.Task.Question.Contains(r, StringComparison.OrdinalIgnoreCase) && (last.Text ?? "").Contains(r, StringComparison.OrdinalIgnoreCase) && Sees(r))
                    s.Notes.Add(r);
        string think = s.Notes.Count == 0 ? "" : "Found: " + string.Join("; ", s.Notes) + ".";
        bool Known(string r) => s.Notes.Contains(r, StringComparer.OrdinalIgnoreCase) || s.Task.Question.Contains(r, StringComparison.OrdinalIgnoreCase);
        string turn;
        if (s.Required.All(Known) || s.Next >= s.Plan.Count)
        {
            if (s.Compact)
            {
                turn = Protocol.AnswerTurn(think, CompactReport(s.Task, s.Required.Where(Known).ToList(), r => FitsReply(Protocol.AnswerTurn(think, r))));
            }
            else
            {
                foreach (var r in s.Required) Check(Known(r), $"answer string '{r}' never seen");
                turn = Protocol.AnswerTurn(think, s.Answer);
            }
        }
        else
        {
            var (kind, step) = s.Plan[s.Next++];
            // a search whose page is already on screen is skipped: open it
            if (kind == "search" && step.Url is not null && Sees(step.Url) && s.Next < s.Plan.Count && s.Plan[s.Next].Step == step)
                (kind, step) = s.Plan[s.Next++];
            if (kind == "search")
            {
                // the first query is the question's first sentence, verbatim: the easiest copy there is, and BM25 finds
                // the target with it as often as with hand-picked words (quest recipe, 1,352 tasks: 1,339 vs 1,327 in the top 3)
                if (!s.Searched && FirstSentence(s.Task.Question) is { Length: > 0 } first) step = step with { Query = first };
                s.Searched = true;
                foreach (var w in step.Query!.Split(' ', StringSplitOptions.RemoveEmptyEntries)) Check(Sees(w) || s.Notes.Any(n => n.Contains(w, StringComparison.OrdinalIgnoreCase)), $"query word '{w}'");
                turn = Protocol.ToolCallTurn(think, "search", new JsonObject { ["query"] = new JsonArray(step.Query) });
            }
            else
            {
                Check(Sees(step.Url!), $"url {step.Url}");
                turn = Protocol.ToolCallTurn(think, "visit", new JsonObject { ["url"] = new JsonArray(step.Url!), ["goal"] = BestGoal(s, step.Url!, Known) });
            }
        }
        s.Turns++;
        if (ok) s.GroundedTurns++;
        if (!FitsReply(turn)) s.LongTurns++;
        return turn;
    }

    /// <summary>
    /// The strings a compact report is made of, in the order the report writes them: the names its <c>mentions</c>
    /// criteria ask for (the topic first), then the URLs its <c>cites</c> criteria ask for.
    /// </summary>
    public static IReadOnlyList<string> ReportStrings(SynthTask task)
    {
        var c = task.Criteria ?? [];
        return c.Where(x => x.Check == "mentions").Select(x => x.Value).Concat(c.Where(x => x.Check == "cites").Select(x => x.Value))
            .OfType<string>().Where(x => x.Length > 0).Distinct(StringComparer.OrdinalIgnoreCase).ToList();
    }

    /// <summary>
    /// A report a small student can write in one reply, from what it has seen: a title naming the topic, an overview that
    /// lists the related names the notes hold with the topic's page cited, and a summary heading (three markdown
    /// sections). Names are dropped from the end until <paramref name="fits"/> accepts the report.
    /// It meets the program-checked criteria it can (names, sections, the citation) and not the length one.
    /// </summary>
    /// <param name="task">An open-ended task with criteria.</param>
    /// <param name="known">The report strings (<see cref="ReportStrings"/>) the student has seen.</param>
    /// <param name="fits">Whether a report fits the student's reply (<see cref="FitsReply"/> of its answer turn).</param>
    public static string CompactReport(SynthTask task, IReadOnlyList<string> known, Func<string, bool> fits)
    {
        var all = ReportStrings(task);
        var topic = all.FirstOrDefault(x => !x.StartsWith("http", StringComparison.OrdinalIgnoreCase)) ?? "";
        var url = known.FirstOrDefault(x => x.StartsWith("http", StringComparison.OrdinalIgnoreCase));
        var names = known.Where(x => !x.StartsWith("http", StringComparison.OrdinalIgnoreCase) && !string.Equals(x, topic, StringComparison.OrdinalIgnoreCase)).ToList();
        string Render(int n)
        {
            var line = topic + (n > 0 ? ": " + string.Join("; ", names.Take(n)) : "") + (url is null ? "" : $" [source]({url})");
            return $"# {topic}\n## Overview\n{line}\n## Summary";
        }
        int k = names.Count;
        while (k > 0 && !fits(Render(k))) k--;
        return Render(k);
    }

    /// <summary>
    /// The visit goal the student can copy: a sentence of the question (or the whole question, cut to
    /// <see cref="GroundedTeacherOptions.MaxGoalChars"/>). The teacher tries each on the page and keeps the one whose
    /// extraction shows the most answer strings not yet found (the shortest among equals): the sentence that names the
    /// next hop's relation.
    /// </summary>
    private string BestGoal(State s, string url, Func<string, bool> known)
    {
        var visit = tools.FirstOrDefault(t => t.Name == "visit");
        var candidates = Regex.Split(s.Task.Question, @"(?<=[.?!])\s+").Select(x => x.Trim()).Where(x => x.Length > 0)
            .Append(Goal(s.Task.Question, Options.MaxGoalChars)).Distinct().ToList();
        if (visit is null) return candidates[^1];
        var missing = s.Required.Where(r => !known(r)).ToList();
        string best = candidates[^1];
        int bestScore = -1;
        foreach (var g in candidates)
        {
            var text = visit.CallAsync(new JsonObject { ["url"] = new JsonArray(url), ["goal"] = g }).GetAwaiter().GetResult();   // offline tools answer synchronously
            int score = missing.Count(m => text.Contains(m, StringComparison.OrdinalIgnoreCase));
            if (score > bestScore || (score == bestScore && g.Length < best.Length)) { best = g; bestScore = score; }
        }
        return best;
    }

    /// <summary>The first sentence of a question (through its first '.', '?' or '!').</summary>
    public static string FirstSentence(string question) => Regex.Split(question.Trim(), @"(?<=[.?!])\s+")[0].Trim();

    /// <summary>
    /// The visit goal: the question itself (its first <paramref name="maxChars"/> characters, cut at a word), so the page
    /// extractor returns the sentences that bear on it (the next hop's relation included) and the goal is a copy of what
    /// the student sees.
    /// </summary>
    public static string Goal(string question, int maxChars)
    {
        var q = question.Trim();
        if (q.Length <= maxChars) return q;
        int cut = q.LastIndexOf(' ', maxChars);
        return q[..(cut > 0 ? cut : maxChars)];
    }
}
