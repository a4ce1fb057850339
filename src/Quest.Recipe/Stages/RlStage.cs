using Quest.Models.Training;
using Quest.Synthesis;

namespace Quest.Recipe;

/// <summary>Stage 7 of the recipe: GRPO over the agent's own rollouts, from the SFT checkpoint (the trainer itself is <see cref="RlTrainer"/>).</summary>
public static class RlStage
{
    /// <summary>The RL settings of a run.</summary>
    public static RlOptions OptionsOf(RecipeOptions o, RecipePaths p) => new()
    {
        Steps = o.RlSteps, PromptsPerStep = o.RlPromptsPerStep, GroupSize = o.RlGroupSize, MaxTurns = o.EvalMaxTurns, MaxNewTokens = o.EvalMaxNewTokens, Temperature = o.RlTemperature, KeepGroups = o.RlKeepGroups,
        Grpo = new GrpoOptions { LearningRate = o.RlLearningRate, MiniBatches = o.RlMiniBatches, ScaleByStd = o.RlScaleByStd, Precision = o.Precision }, Advantage = o.RlAdvantage, Update = o.RlUpdate, CheckpointEvery = Math.Max(1, o.RlSteps / 4),
        OutputDir = p.Rl, Seed = o.Seed, Device = o.Device, Date = o.Date,
    };





    /// <summary>
    /// Stage 7: GRPO from the SFT checkpoint (resumes from its checkpoint) on the tasks of the RL worlds
    /// (<see cref="RecipeOptions.RlWorlds"/>), else on the train tasks reserved for RL, else on every train task
    /// (<see cref="RecipeOptions.RlTaskFraction"/> 0).
    /// </summary>
    public static async Task<Dictionary<string, double>> RunAsync(Recipe.StageContext c, CancellationToken ct)
    {
        var o = c.Options;
        var train = TaskFile.Read(c.Paths.Tasks).Where(t => t.Split == "train").ToList();
        var tasks = o.RlWorlds > 0 ? [.. await TaskWorlds.RlTasksAsync(o, c.Paths, s => c.Progress(s, null), ct).ConfigureAwait(false)]
            : train.Where(t => Recipe.IsRlTask(o, t)).ToList() is { Count: > 0 } reserved ? reserved : train;
        using var worlds = new TaskWorlds(o, c.Paths);   // each task rolled out in its own world
        var trainer = RlTrainer.Create(c.Paths.Sft, tasks, t => (worlds.ToolsOf(t), worlds.RewardOf(t)), OptionsOf(o, c.Paths));
        await foreach (var r in trainer.RunAsync(ct).ConfigureAwait(false))
            c.Progress(r.ToString(), new Dictionary<string, double>
            {
                ["step"] = r.Step, ["reward"] = r.RewardMean, ["valid turns"] = r.ValidTurnRate, ["zero-variance groups"] = r.ZeroVarianceShare,
            });
        var h = trainer.History;
        var m = new Dictionary<string, double> { ["steps"] = o.RlSteps, ["train_tasks"] = tasks.Count };
        if (h.Count > 0)
        {
            int k = Math.Max(1, h.Count / 4);
            m["first_reward"] = Math.Round(h.Take(k).Average(x => x.RewardMean), 4);
            m["last_reward"] = Math.Round(h.TakeLast(k).Average(x => x.RewardMean), 4);
            m["zero_variance_share"] = Math.Round(h.Average(x => x.ZeroVarianceShare), 3);
            m["groups_with_reward"] = Math.Round(h.Average(x => x.GroupsWithReward), 3);
            m["valid_turn_rate"] = Math.Round(h.TakeLast(k).Average(x => x.ValidTurnRate), 3);
            m["rollout_s"] = Math.Round(h.Sum(x => x.RolloutSeconds), 1);
            m["update_s"] = Math.Round(h.Sum(x => x.UpdateSeconds), 1);
        }
        return m;
    }

}
