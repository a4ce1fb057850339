using Microsoft.Extensions.AI;
using Quest.World.Corpus;
using Quest.World.Generation;
using Quest.World.Search;
using Quest.World.Tools;

namespace Quest.World;

/// <summary>
/// Everything an agent run needs from the world, in one object: the corpus, its BM25 index, the search and visit
/// tools (as a <see cref="ToolRegistry"/>), a URL → text resolver for citation checks, and — for generated worlds —
/// the ground-truth graph.
/// </summary>
public sealed class WorldEnvironment : IDisposable
{
    private readonly Lazy<GeneratedWorld?> _world;

    private WorldEnvironment(Bm25Index index, Func<GeneratedWorld?> world, IChatClient? extractorModel)
    {
        Index = index;
        _world = new Lazy<GeneratedWorld?>(world);
        Tools = ToolRegistry.ForIndex(index, extractorModel);
    }

    /// <summary>The pages.</summary>
    public PageCorpus Corpus => Index.Corpus;

    /// <summary>The BM25 index over <see cref="Corpus"/>.</summary>
    public Bm25Index Index { get; }

    /// <summary>The agent's tools: <c>search</c> and <c>visit</c>.</summary>
    public ToolRegistry Tools { get; }

    /// <summary>The search tool.</summary>
    public SearchTool Search => (SearchTool)Tools.Get("search")!;

    /// <summary>The visit tool.</summary>
    public VisitTool Visit => (VisitTool)Tools.Get("visit")!;

    /// <summary>URL → page text (null when the page does not exist); for rubric "cites" checks and rewards.</summary>
    public Func<string, CancellationToken, Task<string?>> Resolver => Corpus.Resolver;

    /// <summary>The generated world (graph and pages) when the corpus is a generated world, else null.</summary>
    public GeneratedWorld? World => _world.Value;

    /// <summary>Generates a world and indexes it in memory (notebooks, tests).</summary>
    public static WorldEnvironment Generate(WorldOptions options, IChatClient? extractorModel = null)
    {
        var w = WorldGenerator.Generate(options);
        return new WorldEnvironment(Bm25Index.BuildInMemory(w.Corpus), () => w, extractorModel);
    }

    /// <summary>Wraps an already generated world (index in memory).</summary>
    public static WorldEnvironment FromWorld(GeneratedWorld world, IChatClient? extractorModel = null) =>
        new(Bm25Index.BuildInMemory(world.Corpus), () => world, extractorModel);

    /// <summary>Wraps any corpus (index in memory).</summary>
    public static WorldEnvironment FromCorpus(PageCorpus corpus, IChatClient? extractorModel = null) =>
        new(Bm25Index.BuildInMemory(corpus), () => null, extractorModel);

    /// <summary>
    /// Opens a corpus by name or directory (resolved by <see cref="CorpusBuilder.Resolve"/>, so generated-world names
    /// such as <c>world-tiny</c> are built and stored on first use) with its persisted index (built on first use). For a stored
    /// generated world, <see cref="World"/> regenerates the graph from the stored seed and size and checks that it
    /// reproduces the stored pages.
    /// </summary>
    public static WorldEnvironment Open(string nameOrDir, IChatClient? extractorModel = null, IProgress<double>? progress = null, TextWriter? log = null)
    {
        var index = Bm25Index.ForStoredCorpus(CorpusBuilder.Resolve(nameOrDir, log), progress: progress);
        return new WorldEnvironment(index, () => Regenerate(index.Corpus, nameOrDir), extractorModel);
    }

    /// <summary>
    /// Regenerates the world a stored world corpus was built from (generation is a function of seed and size), or
    /// null when the corpus is not a generated world. A stored world that its seed and size no longer reproduce (built
    /// by another version of the generator, or edited) throws <see cref="Quest.Core.QuestInputException"/>: its ground
    /// truth is unknown, and tasks built on it would be scored against the wrong graph. The synthesis facade and this
    /// one both regenerate through here.
    /// </summary>
    public static GeneratedWorld? Regenerate(PageCorpus corpus, string? source = null)
    {
        var info = corpus.Info;
        if (info.Source != "world" || !info.Options.TryGetValue("seed", out var s) || !info.Options.TryGetValue("pages", out var p)
            || !int.TryParse(s, System.Globalization.CultureInfo.InvariantCulture, out var seed) || !int.TryParse(p, System.Globalization.CultureInfo.InvariantCulture, out var pages))
            return null;
        var w = WorldGenerator.Generate(new WorldOptions { Seed = seed, Pages = pages, Name = corpus.Name });
        if (w.Corpus.ContentHash != corpus.ContentHash)
            throw new Quest.Core.QuestInputException(source ?? corpus.Name, null, null, "the stored world does not match its regenerated ground truth",
                "a world built by this version of `quest corpus build world` (build it again)");
        return w;
    }

    /// <inheritdoc />
    public void Dispose() => Index.Dispose();
}
