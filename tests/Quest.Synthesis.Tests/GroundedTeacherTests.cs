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
    public async Task Report_tasks_get_a_compact_grounded_report_within_the_reply_budget()
    {
        var tools = (IReadOnlyList<ITool>)[.. ToolRegistry.ForIndex(fx.Index, null, ToolSizes.SmallWindow)];
        var teacher = new GroundedTeacher(tools, fx.Synth.Verifier.Reward, new GroundedTeacherOptions { ReplyTokens = 384 });
        var reports = fx.Tasks.Where(t => t.Family == "report").ToList();
        Assert.NotEmpty(reports);
        int kept = 0;
        foreach (var task in reports)
        {
            var g = await teacher.SolveAsync(task, TestContext.Current.CancellationToken);
            var msgs = g.Result.Trajectory.Sessions[0].Messages;
            var last = msgs.Last(m => m.Role == "assistant");
            Assert.True(last.Content.Length <= 384, $"{task.Id}: a {last.Content.Length}-character answer turn");
            var answer = Quest.Agent.ResponseParser.Parse(last.Content).Answer;
            Assert.NotNull(answer);
            Assert.True(System.Text.RegularExpressions.Regex.Matches(answer, @"(?m)^#{1,6} ").Count >= 3, answer);
            var before = string.Join("\n", msgs.Take(msgs.IndexOf(last)).Select(m => m.Content));
            foreach (var s in GroundedTeacher.ReportStrings(task).Where(x => answer.Contains(x, StringComparison.OrdinalIgnoreCase)))
                Assert.Contains(s, before, StringComparison.OrdinalIgnoreCase);   // every name and URL in the report was read before
            Assert.InRange(g.Result.Reward.Total, 0.0, 1.0);
            if (g.Groundedness.Complete && g.Result.Reward.Total >= 0.5) kept++;
        }
        // the reference reports are all longer than one reply, so before compact reports no report task was teachable
        Assert.True(kept * 2 >= reports.Count, $"only {kept} of {reports.Count} report trajectories are grounded and score 0.5 or more");
    }

    [Fact]
    public async Task Report_criteria_and_the_tasks_rubric_tree_check_answers_alike()
    {
        var tools = (IReadOnlyList<ITool>)[.. ToolRegistry.ForIndex(fx.Index, null, ToolSizes.SmallWindow)];
        var teacher = new GroundedTeacher(tools, fx.Synth.Verifier.Reward);
        int compared = 0;
        foreach (var task in fx.Tasks.Where(t => t.Family == "report"))
        {
            var tree = Quest.Rubrics.RubricTree.FromQuestJson(task.Rubric!.ToJsonString());
            var compact = (await teacher.SolveAsync(task, TestContext.Current.CancellationToken)).Answer;
            var reference = task.Reference.AnswerText;
            string[] answers = [reference, reference.Replace("#", ""), System.Text.RegularExpressions.Regex.Replace(reference, @"\[source\]\([^)]*\)", ""),
                string.Join(" ", reference.Split(' ').Take(30)), compact, ""];
            foreach (var answer in answers)
            {
                var report = await tree.ScoreAsync(answer, new Quest.Rubrics.RubricContext { WhenNoJudge = Quest.Rubrics.MissingJudgeBehavior.FailLeaf }, TestContext.Current.CancellationToken);
                foreach (var d in Rewards.ReportScoring.Dimensions)
                {
                    var criteria = task.Criteria!.Where(c => c.Dimension == d).ToList();
                    for (int i = 0; i < criteria.Count; i++)
                    {
                        if (criteria[i].Check == "judge") continue;
                        var leaf = report[$"{d}_{i + 1}"];
                        Assert.Equal(leaf.Score >= 1 ? 1.0 : 0.0, Rewards.ReportScoring.ProgramCheck(criteria[i], answer));
                        compared++;
                    }
                }
            }
        }
        Assert.True(compared > 0);
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
