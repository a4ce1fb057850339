using Quest.Synthesis;
using Quest.Synthesis.Teacher;
using Quest.World.Tools;
using Xunit;
using Quest.World;

namespace Quest.Recipe.Tests;

public class MidTrainingTests
{
    [Fact]
    public async Task Copy_drills_repeat_exactly_what_they_show()
    {
        using var sc = WorldEnvironment.Open("world-tiny");
        var search = sc.ToolsSized(ToolSizes.SmallWindow).First(t => t.Name == "search");
        var titles = sc.Corpus.Select(p => p.Title).ToList();
        string[] questions = ["Which painter was born in 1777 and worked as a painter? Explain how each condition is met.", "List every work set in Kamere. Give each name on its own line."];
        var drills = await MidTraining.CopyDrillsAsync(titles, questions, search, 30, 1, TestContext.Current.CancellationToken);
        Assert.Equal(30, drills.Count);
        int names = 0, queries = 0, results = 0;
        foreach (var d in drills)
        {
            var lines = d.Split('\n');
            if (d.StartsWith("Names: "))
            {
                names++;
                Assert.Equal(lines[0]["Names: ".Length..], lines[1]["Found: ".Length..]);
            }
            else if (lines[^1].StartsWith("Query: "))
            {
                queries++;
                Assert.Contains(lines[0], questions);
                Assert.Equal(GroundedTeacher.FirstSentence(lines[0]), lines[1]["Query: ".Length..]);
            }
            else
            {
                results++;
                var first = MidTraining.FirstResult(d);
                Assert.NotNull(first);
                Assert.Equal($"Found: {first.Value.Title}; {first.Value.Link}.", lines[^1]);
                Assert.Contains(first.Value.Title, titles);
            }
        }
        Assert.Equal(10, names); Assert.Equal(10, queries); Assert.Equal(10, results);
        // seeded: the same drills again
        Assert.Equal(drills, await MidTraining.CopyDrillsAsync(titles, questions, search, 30, 1, TestContext.Current.CancellationToken));
    }
}
