using Quest.Core;
using Quest.Synthesis.Teacher;
using Quest.World.Tools;
using Xunit;

namespace Quest.Synthesis.Tests;

public class GroundedTeacherTests(TeacherFixture fx) : IClassFixture<TeacherFixture>
{
    [Fact]
    public async Task Grounded_trajectories_score_one_and_write_only_what_the_student_could_see()
    {
        var tools = (IReadOnlyList<ITool>)[.. ToolRegistry.ForIndex(fx.Index, null, ToolSizes.SmallWindow)];
        var teacher = new GroundedTeacher(tools, fx.Synth.Verifier.Reward);
        int complete = 0;
        foreach (var task in fx.Tasks.Where(t => t.Family != "report"))
        {
            var g = await teacher.SolveAsync(task, TestContext.Current.CancellationToken);
            Assert.Equal(1.0, g.Result.Reward.Total, 6);
            Assert.True(g.Answer.Length <= task.Reference.AnswerText.Length, $"{task.Id}: the shortest verified answer is not longer than the reference");
            if (!g.Groundedness.Complete) continue;
            complete++;
            var msgs = g.Result.Trajectory.Sessions[0].Messages;
            var first = msgs.First(m => m.Role == "assistant");
            Assert.Contains(PyJson.Dumps(new System.Text.Json.Nodes.JsonArray(GroundedTeacher.FirstSentence(task.Question))), first.Content);
            for (int i = 2; i < msgs.Count; i++)
            {
                if (msgs[i].Role != "assistant") continue;
                var before = string.Join("\n", msgs.Take(i).Skip(1).Select(m => m.Content));
                var p = Quest.Agent.ResponseParser.Parse(msgs[i].Content);
                if (p.ToolCall?.Name == "visit")
                    foreach (var u in ToolArgs.StringList(System.Text.Json.JsonSerializer.SerializeToElement(p.ToolCall.Arguments), "url")!)
                        Assert.Contains(u, before);                                          // every visited URL was shown before
                if (p.Think is { } think && think.StartsWith("Found: "))
                    foreach (var note in think["Found: ".Length..].TrimEnd('.').Split("; "))
                        Assert.Contains(note, before, StringComparison.OrdinalIgnoreCase);   // every note was read before
                if (p.Answer is { } answer)
                    foreach (var line in answer.Split('\n').Select(l => l.Replace("Final answer:", "").Trim()).Where(l => l.Length > 0 && !l.Contains("[source]")))
                        Assert.Contains(line, before, StringComparison.OrdinalIgnoreCase);   // every answer string was read before
            }
        }
        Assert.True(complete >= 4, $"only {complete} grounded trajectories");
    }

    [Fact]
    public void Tool_calls_are_written_as_python_json_dumps_writes_them()
    {
        var turn = Protocol.ToolCallTurn("Found: X.", "search", new System.Text.Json.Nodes.JsonObject { ["query"] = new System.Text.Json.Nodes.JsonArray("Élan \"quoted\"", "b") });
        Assert.Equal("<think>\nFound: X.\n</think>\n<tool_call>\n{\"name\": \"search\", \"arguments\": {\"query\": [\"\\u00c9lan \\\"quoted\\\"\", \"b\"]}}\n</tool_call>", turn);
        Assert.Equal("{\"a\": 1, \"b\": [true, null, 2.5]}", PyJson.Dumps(System.Text.Json.Nodes.JsonNode.Parse("{\"a\":1,\"b\":[true,null,2.5]}")));
        Assert.Equal("<answer>\nFinal answer: Y\n</answer>", Protocol.AnswerTurn(null, " Final answer: Y "));
    }
}
