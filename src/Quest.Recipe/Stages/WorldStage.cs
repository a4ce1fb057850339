using System.Diagnostics;
using Quest.World;
using Quest.World.Corpus;
using Quest.World.Generation;

namespace Quest.Recipe;

/// <summary>Stage 1 of the recipe: the task world, generated and stored with its BM25 index.</summary>
public static class WorldStage
{
    /// <summary>Stage 1: generates the world and stores it with its BM25 index under <c>world/</c>.</summary>
    public static Task<Dictionary<string, double>> RunAsync(Recipe.StageContext c, CancellationToken ct)
    {
        var o = c.Options;
        var sw = Stopwatch.StartNew();
        var world = WorldGenerator.Generate(new WorldOptions { Seed = TaskWorlds.SeedOf(o, 0), Pages = o.WorldPages, Name = TaskWorlds.WorldZero });
        double genS = sw.Elapsed.TotalSeconds;
        c.Progress($"generated {world.Corpus.Count} pages, {world.Corpus.LinkCount} links in {genS:0.0}s", null);
        ct.ThrowIfCancellationRequested();
        CorpusStore.Save(world.Corpus, c.Paths.World);
        sw.Restart();
        using (var sc = WorldEnvironment.Open(c.Paths.World)) _ = sc.Index;   // builds and persists the index
        c.Progress($"indexed in {sw.Elapsed.TotalSeconds:0.0}s", null);
        var m = new Dictionary<string, double>
        {
            ["pages"] = world.Corpus.Count, ["links"] = world.Corpus.LinkCount, ["generate_s"] = Math.Round(genS, 2), ["index_s"] = Math.Round(sw.Elapsed.TotalSeconds, 2),
        };
        for (int i = 1; i < o.TaskWorlds; i++)   // the other task worlds (train tasks only)
        {
            int pages = TaskWorlds.Generate(o, c.Paths, i, ct);
            c.Progress($"{TaskWorlds.NameOf(i)}: {pages} pages (seed {TaskWorlds.SeedOf(o, i)})", null);
        }
        m["task_worlds"] = o.TaskWorlds;
        return Task.FromResult(m);
    }

}
