using System.Text.Json.Nodes;
using Quest.Agent.Rollout;
using Xunit;

namespace Quest.Agent.Tests;

public class RubricScoringTests
{
    private static readonly JsonNode Rubric = JsonNode.Parse("""
        {"name": "founder", "root": {"id": "root", "description": "names the founder and the year", "children": [
          {"id": "who", "description": "names Ada", "critical": true, "check": {"type": "contains", "expected": "Ada"}},
          {"id": "year", "description": "says 1901", "check": {"type": "number", "expected": 1901}}]}}
        """)!;

    private static RolloutTask Task(JsonNode? rubric) => new() { Id = "t", Question = "Who founded it, and when?", Answer = "Ada Example", Rubric = rubric?.DeepClone() };

    [Theory]
    [InlineData("Ada Example founded it in 1901.", 1.0)]
    [InlineData("Ada Example founded it in 1899.", 0.0)] // critical passes, the only soft leaf fails
    [InlineData("Bob founded it in 1901.", 0.0)]        // critical fails: gate
    public async Task Tasks_with_a_rubric_are_scored_by_the_tree(string prediction, double expected)
    {
        var s = await RolloutScorers.Default().ScoreAsync(Task(Rubric), new Trajectory { Prediction = prediction }, TestContext.Current.CancellationToken);
        Assert.Equal(expected, s!.Reward, 6);
        Assert.Equal("rubric", s.Report!["scorer"]!.GetValue<string>());
    }

    [Fact]
    public async Task No_answer_scores_zero_and_tasks_without_rubric_fall_back_to_answer_match()
    {
        var none = await RolloutScorers.Default().ScoreAsync(Task(Rubric), new Trajectory { Prediction = null }, TestContext.Current.CancellationToken);
        Assert.Equal(0, none!.Reward);
        var match = await RolloutScorers.Default().ScoreAsync(Task(null), new Trajectory { Prediction = "ada example" }, TestContext.Current.CancellationToken);
        Assert.Equal(1, match!.Reward);
        Assert.Equal("answer_match", match.Report!["scorer"]!.GetValue<string>());
    }
}
