using Quest.Eval;
using Quest.Core;
using Quest.Agent;
using Xunit;

namespace Quest.Recipe.Tests;

public class SeedAggregateTests
{
    [Fact]
    public void A_row_lists_each_runs_mean_averages_them_and_its_interval_carries_the_seed_spread()
    {
        double[] a = [0.2, 0.4, 0.6, 0.8], b = [0.1, 0.1, 0.3, 0.3], c = [];
        var row = SeedAggregate.Row(TestSets.FreshWorld, "sft", [a, b, c], seed: 3);
        Assert.Equal(0.5, row.PerRun[0], 9);
        Assert.Equal(0.2, row.PerRun[1], 9);
        Assert.True(double.IsNaN(row.PerRun[2]));                       // a run without rollouts is shown, not counted
        Assert.Equal(0.35, row.Mean, 9);
        Assert.True(row.Lo < row.Mean && row.Mean < row.Hi, $"{row.Lo} {row.Mean} {row.Hi}");
        // two identical runs: the interval is the task-level one alone, narrower than with a second, different seed
        var same = SeedAggregate.Row(TestSets.FreshWorld, "sft", [a, a], seed: 3);
        var mixed = SeedAggregate.Row(TestSets.FreshWorld, "sft", [a, [0.0, 0.0, 0.1, 0.1]], seed: 3);
        Assert.True(mixed.Hi - mixed.Lo > same.Hi - same.Lo);
        var md = SeedAggregate.ToMarkdown(["runs/s1", "runs/s2", "runs/s3"], [row, SeedAggregate.Row(TestSets.FreshWorld, "sft→rl", [[0.1], [0.2], [0.3]])]);
        Assert.Contains("| s1 | s2 | s3 | mean |", md);
        Assert.Contains("| sft | 0.500 | 0.200 | – | **0.350** |", md);
        Assert.Contains("| sft→rl | +0.100 | +0.200 | +0.300 | **+0.200** |", md);
    }
}
