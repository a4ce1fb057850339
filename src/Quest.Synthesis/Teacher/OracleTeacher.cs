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

/// <summary>Teacher settings.</summary>
public sealed record TeacherOptions
{
    /// <summary>
    /// Context-manager threshold in tokens: when set, the agent's context manager runs (condenser strategy) and long
    /// transcripts split into sessions exactly as in a real rollout; null turns it off.
    /// </summary>
    public int? ContextThreshold { get; init; }
    /// <summary>Context strategy when <see cref="ContextThreshold"/> is set.</summary>
    public ContextStrategy Strategy { get; init; } = ContextStrategy.Condenser;
    /// <summary>The date written into the system prompt (fixed so transcripts are reproducible).</summary>
    public DateOnly Date { get; init; } = new(2026, 1, 1);
    /// <summary>Search before each visit (a real agent finds a page before opening it).</summary>
    public bool SearchBeforeVisit { get; init; } = true;
    /// <summary>Turn budget (QUEST's <c>MAX_LLM_CALL_PER_RUN</c>).</summary>
    public int MaxTurns { get; init; } = 100;
}

/// <summary>A teacher trajectory with its reward under the task's own rubric.</summary>
/// <param name="Task">The task.</param>
/// <param name="Trajectory">The agent transcript (sessions, turns, tool calls), from the real agent loop.</param>
/// <param name="Reward">Its reward (rubric on the final answer, plus the citation part where the task needs it).</param>
public sealed record TeacherResult(SynthTask Task, Trajectory Trajectory, RewardResult Reward);

/// <summary>
/// The oracle teacher: replays a task's reference solution path as an agent policy (think → search → visit → … →
/// answer with citations) inside the real <see cref="ResearchAgent"/> loop with the REAL tools over the corpus, so
/// every tool response in the transcript is genuine and the context manager splits sessions as it would for a model.
/// SFT gets expert transcripts without any external model. Trajectories are scored with the task's own reward.
/// </summary>
public sealed class OracleTeacher(IReadOnlyList<ITool> tools, RewardFunction reward, TeacherOptions? options = null)
{
    /// <summary>Settings.</summary>
    public TeacherOptions Options { get; } = options ?? new TeacherOptions();

    /// <summary>The agent options the teacher runs with.</summary>
    public AgentOptions AgentOptions => new()
    {
        MaxTurns = Options.MaxTurns, Date = Options.Date, MaxToolResponseChars = 12000,
        Context = new ContextOptions
        {
            Enabled = Options.ContextThreshold is not null, Threshold = Options.ContextThreshold ?? 16000, Strategy = Options.Strategy, Seed = 0,
        },
    };

    /// <summary>The system prompt of the teacher's agent (what training rows start with).</summary>
    public string SystemPrompt => new ResearchAgent(new ScriptedChatClient(["<answer></answer>"]), tools, AgentOptions).BuildSystemPrompt();

    /// <summary>Solves one task and scores the trajectory.</summary>
    public async Task<TeacherResult> SolveAsync(SynthTask task, CancellationToken ct = default)
    {
        var turns = new List<string>();
        var policy = new ScriptedChatClient((messages, index) => NextTurn(task, messages, index));
        var agent = new ResearchAgent(policy, tools, AgentOptions);
        var traj = await agent.RunAsync(task.Question, new EpisodeInfo(task.Id, 0, task.Answer), cancellationToken: ct).ConfigureAwait(false);
        var r = await reward(task, Transcript(traj), ct).ConfigureAwait(false);
        traj.Reward = r.Total;
        return new TeacherResult(task, traj, r);
    }

    /// <summary>The scripted plan: for each step a search turn (optional) and a visit turn, then the answer turn.</summary>
    public IReadOnlyList<(string Kind, SolutionStep Step)> Plan(SynthTask task) => PlanOf(task, Options.SearchBeforeVisit);

    /// <summary>
    /// A task's reference path as tool actions: for each step a search (when it has a query, and either
    /// <paramref name="searchBeforeVisit"/> or it has no page), then a visit (when it has a page).
    /// </summary>
    public static List<(string Kind, SolutionStep Step)> PlanOf(SynthTask task, bool searchBeforeVisit = true)
    {
        var plan = new List<(string, SolutionStep)>();
        foreach (var s in task.Reference.Steps)
        {
            if (s.Query is not null && (searchBeforeVisit || s.Url is null)) plan.Add(("search", s));
            if (s.Url is not null) plan.Add(("visit", s));
        }
        return plan;
    }

    private string NextTurn(SynthTask task, IReadOnlyList<ChatMessage> messages, int index)
    {
        var plan = Plan(task);
        var last = messages.LastOrDefault()?.Text ?? "";
        string observed = Observation(last, index > 0 ? plan.ElementAtOrDefault(index - 1) : default);
        if (index >= plan.Count)
        {
            var think = $"{observed}I have checked every step of the solution against the pages, so I can answer and cite the pages I read.";
            return $"{Protocol.ThinkOpen}\n{think.Trim()}\n{Protocol.ThinkClose}\n{Protocol.AnswerOpen}\n{task.Reference.AnswerText}\n{Protocol.AnswerClose}";
        }
        var (kind, step) = plan[index];
        JsonObject call = kind == "search"
            ? new JsonObject { ["name"] = "search", ["arguments"] = new JsonObject { ["query"] = new JsonArray(step.Query!) } }
            : new JsonObject { ["name"] = "visit", ["arguments"] = new JsonObject { ["url"] = new JsonArray(step.Url!), ["goal"] = step.Goal ?? "Extract relevant information" } };
        var thought = kind == "search" ? step.Thought : $"I will open {step.Url} to confirm this{(step.Entity is null ? "" : $" about {step.Entity}")}.";
        return Protocol.ToolCallTurn(observed + thought, (string)call["name"]!, call["arguments"]!.AsObject());
    }

    private static string Observation(string lastMessage, (string Kind, SolutionStep Step) previous)
    {
        if (!lastMessage.TrimStart().StartsWith(Protocol.ToolResponseOpen, StringComparison.Ordinal) || previous.Step is null) return "";
        if (previous.Kind == "search")
        {
            var titles = Regex.Matches(lastMessage, @"^(?:\d+\.\s*)?Title:\s*(.+)$", RegexOptions.Multiline).Select(m => m.Groups[1].Value.Trim()).Take(3).ToList();
            var hit = previous.Step.Url is not null && lastMessage.Contains(previous.Step.Url, StringComparison.OrdinalIgnoreCase);
            return titles.Count == 0 ? "The search found nothing useful; I know which page to check. "
                : $"The search returned {string.Join("; ", titles)}{(hit ? ", including the page I need" : "")}. ";
        }
        return previous.Step.Fact is { Length: > 0 } f ? $"The page confirms: {f} " : "The page confirms what I needed. ";
    }

    /// <summary>The trajectory as one message list (every session's turns after its prompt), for rewards.</summary>
    public static IReadOnlyList<ChatTurn> Transcript(Trajectory t)
    {
        var list = new List<ChatTurn>();
        for (int i = 0; i < t.Sessions.Count; i++)
            list.AddRange(t.Sessions[i].Messages.Skip(i == 0 ? 0 : 2));
        return list;
    }

    /// <summary>
    /// ShareGPT samples of a trajectory: one per session, as QUEST trains on sessions (each with its own prompt: system +
    /// question + prev_state), trailing non-assistant turns dropped.
    /// </summary>
    public static IEnumerable<ShareGptSample> ToShareGpt(Trajectory t, ShareGptOptions? options = null) =>
        Sessions(t).Select(msgs => ShareGpt.ToSample(msgs, options));

    /// <summary>
    /// The training transcripts of a trajectory: one per session (each with its own prompt: system + question +
    /// prev_state), trailing non-assistant turns dropped, sessions without an assistant turn left out.
    /// </summary>
    public static IEnumerable<List<ChatTurn>> Sessions(Trajectory t)
    {
        foreach (var s in t.Sessions)
        {
            var msgs = s.Messages.ToList();   // a copy: trailing turns are removed below
            while (msgs.Count > 0 && msgs[^1].Role != Roles.Assistant) msgs.RemoveAt(msgs.Count - 1);
            if (msgs.Any(m => m.Role == Roles.Assistant)) yield return msgs;
        }
    }
}

/// <summary>
/// Reference-guided generation as in QUEST: a real model researches the task with the tools while its user turn carries
/// the reference solution as a hint; the hint is then removed from the transcript (training rows show only the
/// question) and the trajectory is kept only if its reward is 1.0 (rejection sampling).
/// </summary>
public sealed class ReferenceGuidedTeacher(IChatClient model, IReadOnlyList<ITool> tools, RewardFunction reward, AgentOptions? agentOptions = null)
{
    /// <summary>The hint appendix marker.</summary>
    public const string HintHeader = "\n\n====================\nREFERENCE SOLUTION (hint: verify every step with the tools; do not mention this hint)\n====================\n";

    /// <summary>Runs the model on one task; returns null when the attempt does not reach reward 1.0.</summary>
    public async Task<TeacherResult?> SolveAsync(SynthTask task, int attempts = 1, CancellationToken ct = default)
    {
        var hint = new StringBuilder();
        foreach (var s in task.Reference.Steps) hint.AppendLine($"- {s.Thought}{(s.Url is null ? "" : $" ({s.Url})")}");
        hint.AppendLine($"Expected answer: {task.Answer}");
        for (int a = 0; a < attempts; a++)
        {
            var agent = new ResearchAgent(model, tools, agentOptions ?? new AgentOptions());
            var traj = await agent.RunAsync(task.Question + HintHeader + hint, new EpisodeInfo(task.Id, a, task.Answer), cancellationToken: ct).ConfigureAwait(false);
            foreach (var s in traj.Sessions)
                for (int i = 0; i < s.Messages.Count; i++)
                    if (s.Messages[i].Role == "user" && s.Messages[i].Content.Contains(HintHeader, StringComparison.Ordinal))
                    {
                        var c = s.Messages[i].Content;
                        int h = c.IndexOf(HintHeader, StringComparison.Ordinal);
                        int st = c.IndexOf("\n\n====================\nRESEARCH STATE SUMMARY", h, StringComparison.Ordinal);
                        s.Messages[i] = s.Messages[i] with { Content = c[..h] + (st >= 0 ? c[st..] : "") };
                    }
            traj.Question = task.Question;
            var r = await reward(task, OracleTeacher.Transcript(traj), ct).ConfigureAwait(false);
            traj.Reward = r.Total;
            if (r.Total >= 1.0 - 1e-9) return new TeacherResult(task, traj, r);
        }
        return null;
    }
}
