using Quest.Core;
using Quest.Synthesis;
using Quest.World;

namespace Quest.Recipe;

/// <summary>Stage 2 of the recipe: verified tasks with rubric trees over the task world, split by seed entity.</summary>
public static class SynthStage
{
    /// <summary>Stage 2: synthesizes verified tasks (balanced families, train/test split by seed entity) into <c>tasks.jsonl</c>.</summary>
    public static async Task<Dictionary<string, double>> RunAsync(Recipe.StageContext c, CancellationToken ct)
    {
        var o = c.Options;
        using var sc = WorldEnvironment.Open(c.Paths.World);
        var synth = new Synthesizer(sc.Graph);
        var progress = new Recipe.SyncProgress<SynthesisProgress>(pr => c.Progress(
            $"slot {pr.Done}/{pr.Total} {pr.Family,-10} accepted {pr.Accepted} candidates {pr.Candidates}", null));
        // with several task worlds the slots are shared out, and world 0 holds out a proportionally larger share so the
        // held-out split keeps its size; worlds 1… give train tasks only
        int n = o.TaskWorlds, slots = TaskWorlds.SlotsPerWorld(o);
        var result = await synth.RunAsync(Recipe.SynthesisOf(o, slots, o.Seed, Math.Min(0.5, o.TestFraction * n)), progress, ct).ConfigureAwait(false);
        var all = result.Tasks.ToList();
        int candidates = result.Candidates, empty = result.EmptySlots;
        using (var worlds = new TaskWorlds(o, c.Paths))
            for (int i = 1; i < n; i++)
            {
                var more = await worlds.Of(TaskWorlds.NameOf(i)).Synth.RunAsync(Recipe.SynthesisOf(o, slots, o.Seed + 1000 * i, o.TestFraction), progress, ct).ConfigureAwait(false);
                all.AddRange(more.Tasks.Select(t => t with { Split = "train" }));
                candidates += more.Candidates; empty += more.EmptySlots;
            }
        result = result with { Tasks = all, Candidates = candidates, EmptySlots = empty };
        int train = result.Tasks.Count(t => t.Split == "train"), test = result.Tasks.Count(t => t.Split == "test");
        if (train == 0 || test == 0)
            throw new QuestInputException(c.Paths.Tasks, null, null, $"synthesis gave {train} train and {test} test tasks", "both splits non-empty (more tasks, or another seed / test fraction)");
        TaskFile.Write(c.Paths.Tasks, result.Tasks);
        var m = new Dictionary<string, double>
        {
            ["tasks"] = result.Tasks.Count, ["train"] = train, ["test"] = test, ["candidates"] = result.Candidates, ["empty_slots"] = result.EmptySlots,
        };
        foreach (var g in result.Tasks.GroupBy(t => t.Family).OrderBy(g => g.Key, StringComparer.Ordinal)) m["family_" + g.Key] = g.Count();
        return m;
    }

}
