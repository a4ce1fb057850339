using System.Text.Json;
using Quest.Eval;
using Quest.Agent.Rollout;
using Quest.Models.Checkpoints;
using Quest.Recipe;
using Xunit;

namespace Quest.Recipe.Tests;

public class RecipeEndToEndTests
{
    /// <summary>The tiny recipe, cut further so the slow test stays a few minutes.</summary>
    private static RecipeOptions Small(string dir) => RecipeOptions.Tiny with
    {
        OutDir = dir, WorldPages = 200, Tasks = 20, TestFraction = 0.3, PretrainSteps = 24, SftSteps = 24, ToolOutputDocs = 40, CopyDrills = 300, CopyPhaseSteps = 20,
        EvalTestTasks = 4, EvalTrainTasks = 2, EvalMaxTurns = 4, EvalMaxNewTokens = 96, FreshWorldTasks = 6,
        RlSteps = 3, RlPromptsPerStep = 2, RlGroupSize = 4,
    };

    [Fact, Trait("Category", "Slow")]
    public async Task The_whole_tiny_recipe_survives_three_cancellations_and_resumes_to_a_summary_without_duplicates()
    {
        using var tmp = new TempDir();
        var o = Small(tmp.Path);
        var p = new RecipePaths(tmp.Path);
        var outer = TestContext.Current.CancellationToken;

        // 1. cancel in the middle of pretraining (after step 10)
        using (var cts = CancellationTokenSource.CreateLinkedTokenSource(outer))
        {
            await Assert.ThrowsAnyAsync<OperationCanceledException>(async () =>
            {
                await foreach (var e in Recipe.RunAsync(o, cts.Token))
                    if (e.Stage == "pretrain" && e.Message.StartsWith("pretrain step 10/", StringComparison.Ordinal)) cts.Cancel();
            });
        }
        Assert.Equal(["world", "synth", "tokenizer", "teacher"], Recipe.Completed(tmp.Path).Select(s => s.Stage));
        Assert.True(Checkpoint.Exists(p.Pretrain), "the interrupted stage keeps its checkpoint");
        var teacherLines = File.ReadAllLines(p.TeacherTrajectories).Length;

        // 2. resume; cancel in RL after its first step
        var resumed = new List<RecipeEvent>();
        using (var cts = CancellationTokenSource.CreateLinkedTokenSource(outer))
        {
            await Assert.ThrowsAnyAsync<OperationCanceledException>(async () =>
            {
                await foreach (var e in Recipe.RunAsync(o, cts.Token))
                {
                    resumed.Add(e);
                    if (e.Stage == "rl" && e.Message.StartsWith("rl step 1/", StringComparison.Ordinal)) cts.Cancel();
                }
            });
        }
        Assert.Equal(Recipe.StageNames.ToList().IndexOf("pretrain"), resumed.Count(e => e.Kind == RecipeEventKind.Skipped));   // every stage before the interrupted one
        var firstStep = resumed.First(e => e.Stage == "pretrain" && e.Message.StartsWith("pretrain step", StringComparison.Ordinal));
        int resumedAt = int.Parse(firstStep.Message["pretrain step".Length..].Split('/')[0].Trim());
        Assert.True(resumedAt > 10, $"pretraining resumed from its checkpoint, not from scratch: {firstStep.Message}");
        Assert.Contains("sft", Recipe.Completed(tmp.Path).Select(s => s.Stage));
        Assert.DoesNotContain("rl", Recipe.Completed(tmp.Path).Select(s => s.Stage));
        Assert.True(Checkpoint.Exists(p.Rl), "the interrupted RL stage keeps its checkpoint");

        // 3. resume (RL continues at step 2); cancel during eval after two episodes
        var again = new List<RecipeEvent>();
        using (var cts = CancellationTokenSource.CreateLinkedTokenSource(outer))
        {
            int episodes = 0;
            await Assert.ThrowsAnyAsync<OperationCanceledException>(async () =>
            {
                await foreach (var e in Recipe.RunAsync(o, cts.Token))
                {
                    again.Add(e);
                    if (e.Stage == "eval" && e.Kind == RecipeEventKind.Progress && e.Message.Contains("episode") && ++episodes == 2) cts.Cancel();
                }
            });
        }
        var rlSteps = again.Where(e => e.Stage == "rl" && e.Message.StartsWith("rl step", StringComparison.Ordinal)).Select(e => e.Message).ToList();
        Assert.StartsWith("rl step 2/3", rlSteps[0]);
        Assert.Contains("rl", Recipe.Completed(tmp.Path).Select(s => s.Stage));
        Assert.DoesNotContain("eval", Recipe.Completed(tmp.Path).Select(s => s.Stage));

        // 3. resume to the end
        var final = new List<RecipeEvent>();
        await foreach (var e in Recipe.RunAsync(o, outer)) final.Add(e);
        Assert.Equal(Recipe.StageNames.ToList().IndexOf("eval"), final.Count(e => e.Kind == RecipeEventKind.Skipped));
        Assert.Contains(final, e => e.Stage == "eval" && e.Kind == RecipeEventKind.Finished);

        var summary = RecipeSummary.Read(tmp.Path);
        Assert.Equal(Recipe.StageNames, summary.Stages.Select(s => s.Stage));
        var evalTasks = RecipeEval.Tasks(o, p);
        foreach (var (name, _) in RecipeEval.Models(p))
        {
            var trajs = RolloutRunner.ReadTrajectories(Path.Combine(p.Eval, name, RolloutRunner.TrajectoriesFile));
            Assert.Equal(evalTasks.Count, trajs.Count);                                      // every task once
            Assert.Equal(trajs.Count, trajs.Select(t => (t.TaskId, t.Sample)).Distinct().Count());   // no duplicates
            Assert.All(trajs, t => Assert.InRange(t.Reward!.Value, 0.0, 1.0));
            var all = summary.Eval.Single(r => r.Model == name && r.Group == "all test" && r.Set == TestSets.HeldOut);
            Assert.Equal(evalTasks.Count(t => t.Split == "test"), all.N);
            Assert.InRange(all.MeanReward, 0.0, 1.0);
            Assert.InRange(all.ProtocolValidPct, 0.0, 100.0);
        }
        // outputs not duplicated by the resumes
        Assert.Equal(teacherLines, File.ReadAllLines(p.TeacherTrajectories).Length);
        var steps = File.ReadAllLines(Path.Combine(p.Pretrain, Checkpoint.MetricsFile)).Select(l => JsonDocument.Parse(l).RootElement.GetProperty("step").GetInt32()).ToList();
        Assert.Equal(Enumerable.Range(1, o.PretrainSteps), steps);
        var rl = File.ReadAllLines(Path.Combine(p.Rl, Checkpoint.MetricsFile)).Select(l => JsonDocument.Parse(l).RootElement.GetProperty("step").GetInt32()).ToList();
        Assert.Equal(Enumerable.Range(1, o.RlSteps), rl);
        // the stage ablation on each test set: each stage against the one before it, on the same tasks
        var held = summary.Ablation.Where(a => a.Set == TestSets.HeldOut).ToList();
        Assert.Equal(["untrained>mt", "mt>sft", "sft>rl", "mt>rl"], held.Select(a => a.From + ">" + a.To));
        Assert.All(held, a => { Assert.Equal(evalTasks.Count(t => t.Split == "test"), a.Tasks); Assert.True(a.Lo <= a.MeanDiff && a.MeanDiff <= a.Hi); });
        // the fresh world: a world of another seed, its tasks all in the test split, every model on every task once
        var fresh = Quest.Synthesis.TaskFile.Read(p.FreshTasks);
        Assert.NotEmpty(fresh);
        Assert.All(fresh, t => Assert.Equal("test", t.Split));
        Assert.DoesNotContain(fresh, f => evalTasks.Any(t => t.Question == f.Question));   // another world: no question repeats
        foreach (var (name, _) in RecipeEval.Models(p))
        {
            var trajs = RolloutRunner.ReadTrajectories(Path.Combine(p.EvalFresh, name, RolloutRunner.TrajectoriesFile));
            Assert.Equal(fresh.Count, trajs.Select(t => t.TaskId).Distinct().Count());
            Assert.Equal(fresh.Count, summary.Eval.Single(r => r.Model == name && r.Group == "all test" && r.Set == TestSets.FreshWorld).N);
        }
        var freshAblation = summary.Ablation.Where(a => a.Set == TestSets.FreshWorld).ToList();
        Assert.Equal(["untrained>mt", "mt>sft", "sft>rl", "mt>rl"], freshAblation.Select(a => a.From + ">" + a.To));
        Assert.All(freshAblation, a => Assert.Equal(fresh.Count, a.Tasks));
        Assert.Equal(4, summary.RecallGaps.Count);
        Assert.All(summary.RecallGaps, g => Assert.Equal(g.HeldOut - g.Fresh, g.Gap, 9));
        Assert.Contains("fresh world", summary.FormatTable());
        // the seed aggregate of a run with itself: each run's values are the summary's, and so is their mean
        var agg = SeedAggregate.Of([tmp.Path, tmp.Path]);
        foreach (var r in summary.Eval.Where(r => r.Group == "all test"))
        {
            var a = agg.Single(x => x.Set == r.Set && x.Model == r.Model);
            Assert.All(a.PerRun, v => Assert.Equal(r.MeanReward, v, 9));   // one sample per task: the per-task mean is the row's mean
            Assert.Equal(r.MeanReward, a.Mean, 9);
        }
        Assert.Contains(agg, x => x.Set == TestSets.FreshWorld && x.Model == "sft→rl");
    }
}
