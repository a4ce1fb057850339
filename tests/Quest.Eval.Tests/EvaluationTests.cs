using Quest.Eval;
using Quest.Core;
using Quest.Agent;
using Xunit;

namespace Quest.Eval.Tests;

public class EvaluationTests
{
    private static Trajectory T(string task, double reward, int sample = 0, string? prediction = "x") =>
        new() { TaskId = task, Sample = sample, Reward = reward, Prediction = prediction, Termination = Termination.Answer };

    [Fact]
    public void Paired_comparison_uses_per_task_means_and_a_bootstrap_interval_around_the_mean()
    {
        // model A: task t1 twice (0 and 1 -> mean 0.5), t2 0, t3 0; model B: t1 1, t2 1, t3 0, t4 1 (t4 not in A: left out)
        var a = new[] { T("t1", 0), T("t1", 1, 1), T("t2", 0), T("t3", 0) };
        var b = new[] { T("t1", 1), T("t2", 1), T("t3", 0), T("t4", 1) };
        var c = Evaluation.Compare("a", a, "b", b, ["t1", "t2", "t3", "t4"]);
        Assert.Equal(3, c.Tasks);
        Assert.Equal((0.5 + 1 + 0) / 3, c.MeanDiff, 9);
        Assert.True(c.Lo <= c.MeanDiff && c.MeanDiff <= c.Hi);
        Assert.True(c.Lo >= 0 && c.Hi <= 1);
        // only tasks in the given set count
        Assert.Equal(2, Evaluation.Compare("a", a, "b", b, ["t1", "t2"]).Tasks);
        // a constant difference has a zero-width interval; no tasks, (0, 0)
        Assert.Equal((0.25, 0.25), Evaluation.Bootstrap([0.25, 0.25, 0.25]));
        Assert.Equal((0.0, 0.0), Evaluation.Bootstrap([]));
        // a difference that is positive everywhere is significant; one that straddles zero is not
        Assert.True(Evaluation.Compare("a", [T("x", 0), T("y", 0.2)], "b", [T("x", 0.5), T("y", 0.4)], ["x", "y"]).Significant);
        var mixed = Enumerable.Range(0, 40).Select(i => T($"k{i}", i % 2)).ToArray();
        var flipped = Enumerable.Range(0, 40).Select(i => T($"k{i}", 1 - i % 2)).ToArray();
        var m = Evaluation.Compare("a", mixed, "b", flipped, mixed.Select(t => t.TaskId).ToList());
        Assert.False(m.Significant);
        Assert.True(m.Lo < 0 && m.Hi > 0);
    }

    [Fact]
    public void Rows_count_pass_at_k_per_task_and_copy_probes_from_the_transcript()
    {
        var a = T("t1", 1, 0); var b = T("t1", 0.5, 1); var c = T("t2", 0.5, 0, null);
        var row = Evaluation.Row("m", "all", [a, b, c]);
        Assert.Equal(2, row.Tasks);
        Assert.Equal(3, row.N);
        Assert.Equal(50.0, row.PassAtK, 9);                 // t1 has a full-reward sample, t2 none
        Assert.Equal(2 / 3.0 * 100, row.AnsweredPct, 9);
        Assert.Equal(2 / 3.0, row.MeanReward, 9);
        // probes: the first query copies the question, the visited URL was shown, the answer string was read
        var t = new Trajectory { TaskId = "p", Question = "Which painter was born in 1777?" };
        t.Sessions.Add(new Session
        {
            Messages =
            [
                ChatTurn.System("sys"), ChatTurn.User(t.Question),
                ChatTurn.Assistant("<tool_call>\n{\"name\": \"search\", \"arguments\": {\"query\": [\"painter 1777\"]}}\n</tool_call>"),
                ChatTurn.User("<tool_response>\n1. Title: Ante Marsel\nLink: https://w/Ante_Marsel\n</tool_response>"),
                ChatTurn.Assistant("<tool_call>\n{\"name\": \"visit\", \"arguments\": {\"url\": [\"https://w/Invented\"], \"goal\": \"g\"}}\n</tool_call>"),
                ChatTurn.User("<tool_response>\nnothing\n</tool_response>"),
                ChatTurn.Assistant("<answer>\nAnte Marsel [source](https://w/Ante_Marsel)\nNobody Else\nFinal answer: Ante Marsel\n</answer>"),
            ],
        });
        var (first, fromCtx, urls, inCtx, strings) = CopyProbes.Of(t);
        Assert.True(first);
        Assert.Equal((0, 1), (fromCtx, urls));                 // the visited URL was invented
        Assert.Equal((2, 3), (inCtx, strings));                // "Ante Marsel" twice in context, "Nobody Else" not
    }
}

public class EvaluationRoomTests
{
    [Fact]
    public void The_evaluation_room_reaches_no_TorchSharp_through_any_reference()
    {
        // the room's whole reference closure, as the runtime would resolve it: an endpoint evaluation never needs libtorch
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var todo = new Stack<System.Reflection.Assembly>([typeof(Evaluation).Assembly]);
        while (todo.Count > 0)
            foreach (var r in todo.Pop().GetReferencedAssemblies())
            {
                if (!seen.Add(r.Name!) || r.Name!.StartsWith("System", StringComparison.Ordinal) || r.Name is "netstandard" or "mscorlib") continue;
                try { todo.Push(System.Reflection.Assembly.Load(r)); }
                catch (FileNotFoundException) { }   // a facade the runtime never loads
            }
        Assert.Contains("Quest.Synthesis", seen);                          // the walk follows references
        Assert.Contains("Quest.Agent", seen);
        Assert.DoesNotContain(seen, n => n.StartsWith("TorchSharp", StringComparison.Ordinal) || n == "Quest.Models");
    }
}
