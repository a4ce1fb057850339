using System.Text.Json.Nodes;
using Quest.Agent.Context;
using Quest.Agent.Policies;
using Quest.Agent.Rollout;
using Quest.Core;
using Xunit;

namespace Quest.Agent.Tests;

public sealed class RolloutTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "quest-agent-tests", Guid.NewGuid().ToString("N"));
    public void Dispose() { try { Directory.Delete(_dir, true); } catch (IOException) { } }
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static List<RolloutTask> Tasks(int n) => Enumerable.Range(0, n).Select(i => new RolloutTask
    {
        Id = $"t{i}", Question = $"What is item {i}?", Answer = $"Item {i}", Aliases = [$"the {i}th item"],
    }).ToList();

    /// <summary>A policy that searches once, then answers "Item i" (right for even i, wrong for odd).</summary>
    private static ScriptedChatClient Policy(int delayMs = 0) => new((msgs, call) =>
    {
        var q = StateSection.Remove(msgs[1].Text);
        int i = int.Parse(System.Text.RegularExpressions.Regex.Match(q, @"\d+").Value);
        var d = delayMs > 0 ? $"!delay {delayMs}\n" : "";
        return call == 0 ? d + Turns.Search(q) : d + Turns.Answer(i % 2 == 0 ? $"item {i}" : "no idea");
    });

    private static ResearchAgent Agent(ScriptedChatClient p) =>
        new(p, [FakeTool.Search()], new AgentOptions { Date = new DateOnly(2026, 1, 1), Context = new ContextOptions { Enabled = false } }, ApproximateTokenCounter.Instance);

    [Fact]
    public async Task Writes_one_scored_line_per_task_and_sample()
    {
        var runner = new RolloutRunner(Agent(Policy()), new AnswerMatchScorer());
        var progress = new List<RolloutProgress>();
        var s = await runner.RunAsync(Tasks(3), new RolloutOptions { OutDir = _dir, Samples = 2, Parallelism = 3 }, progress.Add, Ct);
        Assert.Equal(6, s.Written);
        Assert.Equal(6, s.InFile);
        Assert.Equal(6, progress.Count);
        var ts = RolloutRunner.ReadTrajectories(s.OutFile);
        Assert.Equal(6, ts.Select(t => (t.TaskId, t.Sample)).Distinct().Count());
        Assert.All(ts, t => Assert.Equal(Termination.Answer, t.Termination));
        Assert.Equal(4, ts.Count(t => t.Reward == 1)); // t0, t2 × 2 samples
        Assert.Equal(4.0 / 6, s.MeanReward!.Value, 6);
        Assert.True(File.Exists(Path.Combine(_dir, "summary.json")));
        // a line round-trips with its sessions and messages
        var t0 = ts.First(t => t.TaskId == "t0");
        Assert.Equal("What is item 0?", t0.Question);
        Assert.Equal("Item 0", t0.Answer);
        Assert.Equal(5, t0.Messages.Count);
        Assert.Equal("assistant", t0.Messages[2].Role);
        Assert.Contains("<tool_call>", File.ReadAllText(s.OutFile)); // readable, not \u003C-escaped
    }

    [Fact]
    public async Task Cancel_midway_keeps_finished_episodes_and_resume_completes_without_duplicates()
    {
        var tasks = Tasks(12);
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        int seen = 0;
        var s1 = await new RolloutRunner(Agent(Policy(delayMs: 20)), new AnswerMatchScorer())
            .RunAsync(tasks, new RolloutOptions { OutDir = _dir, Parallelism = 2 }, _ => { if (Interlocked.Increment(ref seen) == 4) cts.Cancel(); }, cts.Token);
        Assert.True(s1.Cancelled);
        Assert.InRange(s1.InFile, 4, 11);
        Assert.Equal(s1.Written, s1.InFile);
        var first = RolloutRunner.ReadTrajectories(s1.OutFile);
        Assert.All(first, t => Assert.NotEqual(Termination.Cancelled, t.Termination));

        var s2 = await new RolloutRunner(Agent(Policy()), new AnswerMatchScorer())
            .RunAsync(tasks, new RolloutOptions { OutDir = _dir, Parallelism = 2, Resume = true }, cancellationToken: Ct);
        Assert.False(s2.Cancelled);
        Assert.Equal(s1.InFile, s2.Skipped);
        Assert.Equal(12, s2.InFile);
        var all = RolloutRunner.ReadTrajectories(s2.OutFile);
        Assert.Equal(tasks.Select(t => t.Id).Order(), all.Select(t => t.TaskId).Order());
        // earlier lines were kept byte for byte
        var lines = File.ReadAllLines(s2.OutFile);
        Assert.Equal(first.Select(t => t.EpisodeId), all.Take(first.Count).Select(t => t.EpisodeId));
        Assert.Equal(12, lines.Length);
    }

    [Fact]
    public async Task Resume_repairs_a_torn_last_line_and_reruns_that_episode()
    {
        var tasks = Tasks(3);
        var s1 = await new RolloutRunner(Agent(Policy())).RunAsync(tasks, new RolloutOptions { OutDir = _dir }, cancellationToken: Ct);
        var lines = File.ReadAllLines(s1.OutFile);
        File.WriteAllText(s1.OutFile, lines[0] + "\n" + lines[1] + "\n" + lines[2][..(lines[2].Length / 2)]); // killed mid-append
        var s2 = await new RolloutRunner(Agent(Policy())).RunAsync(tasks, new RolloutOptions { OutDir = _dir, Resume = true }, cancellationToken: Ct);
        Assert.Equal(2, s2.Skipped);
        Assert.Equal(1, s2.Written);
        Assert.Equal(3, File.ReadAllLines(s2.OutFile).Length);
        Assert.Equal(3, RolloutRunner.ReadTrajectories(s2.OutFile).Select(t => t.TaskId).Distinct().Count());
    }

    [Fact]
    public async Task Existing_output_without_resume_is_refused()
    {
        await new RolloutRunner(Agent(Policy())).RunAsync(Tasks(1), new RolloutOptions { OutDir = _dir }, cancellationToken: Ct);
        var ex = await Assert.ThrowsAsync<QuestInputException>(() => new RolloutRunner(Agent(Policy())).RunAsync(Tasks(1), new RolloutOptions { OutDir = _dir }, cancellationToken: Ct));
        Assert.Contains("--resume", ex.Message);
    }

    [Fact]
    public async Task Policy_errors_are_written_then_retried_on_resume()
    {
        var broken = new ScriptedChatClient((_, _) => "!error server down");
        var s1 = await new RolloutRunner(Agent(broken)).RunAsync(Tasks(2), new RolloutOptions { OutDir = _dir }, cancellationToken: Ct);
        Assert.Equal(2, s1.ByTermination[Termination.PolicyError]);
        var s2 = await new RolloutRunner(Agent(Policy())).RunAsync(Tasks(2), new RolloutOptions { OutDir = _dir, Resume = true }, cancellationToken: Ct);
        Assert.Equal(0, s2.Skipped);
        Assert.Equal(2, s2.InFile);
        Assert.Equal(2, s2.ByTermination[Termination.Answer]);
    }

    [Fact]
    public async Task A_failing_scorer_never_loses_the_episode()
    {
        var scorer = new DelegateScorer((_, _, _) => throw new InvalidOperationException("judge exploded"));
        var s = await new RolloutRunner(Agent(Policy()), scorer).RunAsync(Tasks(2), new RolloutOptions { OutDir = _dir }, cancellationToken: Ct);
        var ts = RolloutRunner.ReadTrajectories(s.OutFile);
        Assert.Equal(2, ts.Count);
        Assert.All(ts, t => { Assert.Null(t.Reward); Assert.Contains("judge exploded", t.Score!["error"]!.GetValue<string>()); });
    }

    [Fact]
    public void Task_files_accept_id_or_task_id_and_report_bad_lines()
    {
        Directory.CreateDirectory(_dir);
        var p = Path.Combine(_dir, "tasks.jsonl");
        const string rubric = "{\"node_name\":\"root\",\"description\":\"r\",\"children\":[{\"node_name\":\"leaf\",\"description\":\"names A\"}]}";
        File.WriteAllText(p, "\uFEFF{\"id\":\"a\",\"question\":\"Q1?\",\"answer\":\"A\",\"aliases\":[\"a1\"],\"rubric\":" + rubric + ",\"family\":\"f\"}\n\n{\"task_id\":\"7\",\"question\":\"Q2?\"}\n");
        var ts = RolloutTask.ReadFile(p);
        Assert.Equal(["a", "7"], ts.Select(t => t.Id));
        Assert.Equal(["a1"], ts[0].Aliases);
        Assert.NotNull(ts[0].Rubric);
        Assert.Equal("f", ts[0].Extra["family"]!.GetValue<string>());

        void Bad(string content, int line, string text)
        {
            File.WriteAllText(p, content);
            var e = Assert.Throws<QuestInputException>(() => RolloutTask.ReadFile(p));
            Assert.Equal(line, e.Line);
            Assert.Contains(text, e.Message);
        }
        Bad("{\"id\":\"a\",\"question\":\"Q1?\"}\n{\"id\":\"b\"}\n", 2, "question");
        Bad("{\"id\":\"a\",\"question\":\"Q1?\"}\n{not json\n", 2, "invalid JSON");
        Bad("{\"id\":\"a\",\"question\":\"Q1?\"}\n{\"id\":\"a\",\"question\":\"Q2?\"}\n", 2, "duplicate task id 'a'");
        // The strict rules every command shares: a string id must be there, rubrics must compile, types must match.
        Bad("{\"question\":\"Q1?\"}\n", 1, "missing task id");
        Bad("{\"id\":7,\"question\":\"Q1?\"}\n", 1, "\"id\" is a number");
        Bad("{\"id\":\"a\",\"question\":\"Q1?\",\"rubric\":\"x\"}\n", 1, "\"rubric\" of task 'a' is a string");
        Bad("{\"id\":\"a\",\"question\":\"Q1?\",\"rubric\":{\"x\":1}}\n", 1, "the rubric of task 'a' is invalid");
        Bad("{\"id\":\"a\",\"question\":\"Q1?\",\"aliases\":\"A\"}\n", 1, "\"aliases\" is not a list");

        // Invalid UTF-8 is an error with its byte offset, never replaced.
        var bytes = System.Text.Encoding.UTF8.GetBytes("{\"id\":\"a\",\"question\":\"Q1?\"}\n{\"id\":\"b\",\"question\":\"Q");
        File.WriteAllBytes(p, [.. bytes, 0xC3, 0x28, .. "?\"}\n"u8.ToArray()]);
        var u = Assert.Throws<QuestInputException>(() => RolloutTask.ReadFile(p));
        Assert.Equal(2, u.Line);
        Assert.Contains($"invalid UTF-8 at byte offset {bytes.Length}", u.Message);
    }

    [Theory]
    [InlineData("The Eiffel Tower", "eiffel tower", true)]
    [InlineData("Ángela Merkel", "angela merkel", true)]
    [InlineData("1,200", "1200", true)]
    [InlineData("3.0", "3", true)]
    [InlineData("Paris, France", "Paris", false)]
    [InlineData("", "x", false)]
    public void Answer_matching_normalises(string pred, string gold, bool expected) =>
        Assert.Equal(expected, AnswerMatchScorer.Matches(pred, gold));
}
