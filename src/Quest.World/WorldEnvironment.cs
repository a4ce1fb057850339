using Microsoft.Extensions.AI;
using Quest.Core;
using Quest.World.Corpus;
using Quest.World.Generation;
using Quest.World.Graph;
using Quest.World.Search;
using Quest.World.Tools;

namespace Quest.World;

/// <summary>
/// The kit's one corpus facade: everything an agent run, task synthesis, a teacher or an evaluation needs from a
/// corpus, in one object: the pages, their BM25 index, the search and visit tools, a URL → text resolver for citation
/// checks, and the knowledge graph the task families walk (a generated world's ground truth, or any corpus's link
/// graph with its category and date tags). The index, tools, world and graph are built on first use, so a command that
/// only needs the graph never opens the index.
/// </summary>
public sealed class WorldEnvironment : IDisposable
{
    private readonly Lazy<Bm25Index> _index;
    private readonly Lazy<GeneratedWorld?> _world;
    private readonly Lazy<KnowledgeGraph> _graph;
    private readonly Lazy<ToolRegistry> _tools;

    private WorldEnvironment(PageCorpus corpus, Func<Bm25Index> index, Func<GeneratedWorld?> world, IChatClient? extractorModel, string? storedDir)
    {
        Corpus = corpus;
        StoredDirectory = storedDir;
        _index = new Lazy<Bm25Index>(index);
        _world = new Lazy<GeneratedWorld?>(world);
        _graph = new Lazy<KnowledgeGraph>(() => World?.Graph ?? KnowledgeGraph.FromPages(Corpus));
        _tools = new Lazy<ToolRegistry>(() => ToolRegistry.ForIndex(Index, extractorModel));
    }

    /// <summary>The pages.</summary>
    public PageCorpus Corpus { get; }

    /// <summary>Corpus name (<c>world</c>, <c>foldoc</c>, …).</summary>
    public string Name => Corpus.Name;

    /// <summary>The directory of a stored corpus (its index lives beside it), or null for one held in memory.</summary>
    public string? StoredDirectory { get; }

    /// <summary>The BM25 index over <see cref="Corpus"/> (persisted beside a stored corpus, in memory otherwise).</summary>
    public Bm25Index Index => _index.Value;

    /// <summary>The agent's tools, <c>search</c> and <c>visit</c>, with QUEST's output sizes.</summary>
    public ToolRegistry Tools => _tools.Value;

    /// <summary>The search tool.</summary>
    public SearchTool Search => (SearchTool)Tools.Get("search")!;

    /// <summary>The visit tool.</summary>
    public VisitTool Visit => (VisitTool)Tools.Get("visit")!;

    /// <summary>The offline search and visit tools with their output sized by <paramref name="sizes"/> (e.g. for a small model's window).</summary>
    public IReadOnlyList<ITool> ToolsSized(ToolSizes sizes) => [.. ToolRegistry.ForIndex(Index, null, sizes)];

    /// <summary>URL → page text (null when the page does not exist); for rubric "cites" checks and rewards.</summary>
    public Func<string, CancellationToken, Task<string?>> Resolver => Corpus.Resolver;

    /// <summary>The generated world (its ground truth and pages) when the corpus is a generated world, else null.</summary>
    public GeneratedWorld? World => _world.Value;

    /// <summary>
    /// The knowledge graph: for a generated world its ground truth (<see cref="GeneratedWorld.Graph"/>), for any other
    /// corpus its link graph with category and date tags (<see cref="KnowledgeGraph.FromPages"/>).
    /// </summary>
    public KnowledgeGraph Graph => _graph.Value;

    /// <summary>Generates a world and indexes it in memory (notebooks, tests).</summary>
    public static WorldEnvironment Generate(WorldOptions options, IChatClient? extractorModel = null) =>
        FromWorld(WorldGenerator.Generate(options), extractorModel);

    /// <summary>Wraps an already generated world (index in memory).</summary>
    public static WorldEnvironment FromWorld(GeneratedWorld world, IChatClient? extractorModel = null) =>
        new(world.Corpus, () => Bm25Index.BuildInMemory(world.Corpus), () => world, extractorModel, null);

    /// <summary>Wraps any corpus (index in memory; the graph is its link graph).</summary>
    public static WorldEnvironment FromCorpus(PageCorpus corpus, IChatClient? extractorModel = null) =>
        new(corpus, () => Bm25Index.BuildInMemory(corpus), () => null, extractorModel, null);

    /// <summary>
    /// Opens a corpus by name or directory, resolved as every command resolves <c>--corpus</c>
    /// (<see cref="CorpusBuilder.Resolve"/>: a stored corpus, or a generated world such as <c>world-tiny</c>, built and
    /// stored on first use). Its index is persisted beside it (built on first use). For a stored generated world,
    /// <see cref="World"/> and <see cref="Graph"/> regenerate the ground truth from the stored seed and size and check
    /// that it reproduces the stored pages (<see cref="Regenerate"/>).
    /// </summary>
    public static WorldEnvironment Open(string nameOrDir, IChatClient? extractorModel = null, IProgress<double>? progress = null, TextWriter? log = null, CancellationToken ct = default)
    {
        var dir = CorpusBuilder.Resolve(nameOrDir, log, ct);
        var corpus = CorpusStore.Load(dir);
        return new WorldEnvironment(corpus, () => Bm25Index.OpenOrBuild(corpus, Path.Combine(dir, "index"), progress: progress),
            () => Regenerate(corpus, dir), extractorModel, dir);
    }

    /// <summary>
    /// Regenerates the world a stored world corpus was built from (generation is a function of seed and size), or
    /// null when the corpus is not a generated world. A stored world that its seed and size no longer reproduce (built
    /// by another version of the generator, or edited) throws <see cref="QuestInputException"/>: its ground truth is
    /// unknown, and tasks built on it would be scored against the wrong graph.
    /// </summary>
    public static GeneratedWorld? Regenerate(PageCorpus corpus, string? source = null)
    {
        var info = corpus.Info;
        if (info.Source != "world" || !info.Options.TryGetValue("seed", out var s) || !info.Options.TryGetValue("pages", out var p)
            || !int.TryParse(s, System.Globalization.CultureInfo.InvariantCulture, out var seed) || !int.TryParse(p, System.Globalization.CultureInfo.InvariantCulture, out var pages))
            return null;
        var w = WorldGenerator.Generate(new WorldOptions { Seed = seed, Pages = pages, Name = corpus.Name });
        if (w.Corpus.ContentHash != corpus.ContentHash)
            throw new QuestInputException(source ?? corpus.Name, null, null, "the stored world does not match its regenerated ground truth",
                "a world built by this version of `quest corpus build world` (build it again)");
        return w;
    }

    /// <inheritdoc />
    public void Dispose()
    {
        if (_index.IsValueCreated) _index.Value.Dispose();
    }
}
