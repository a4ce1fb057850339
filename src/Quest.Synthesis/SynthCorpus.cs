using System.Globalization;
using Quest.Core;
using Quest.Synthesis.Graph;
using Quest.World;
using Quest.World.Corpus;
using Quest.World.Generation;
using Quest.World.Search;
using Quest.World.Tools;

namespace Quest.Synthesis;

/// <summary>
/// A corpus ready for synthesis: its pages, the graph the families walk, and (lazily) a BM25 index with the real
/// search/visit tools for the teacher. Generated worlds get their ground-truth graph back by regenerating from the
/// stored seed and size (generation is deterministic); other corpora (FOLDOC…) use their link graph and tags.
/// </summary>
public sealed class SynthCorpus : IDisposable
{
    private Bm25Index? _index;
    private readonly string? _storedDir;

    private SynthCorpus(PageCorpus corpus, KnowledgeGraph graph, GeneratedWorld? world, string? storedDir)
    {
        Corpus = corpus; Graph = graph; World = world; _storedDir = storedDir;
    }

    /// <summary>The pages.</summary>
    public PageCorpus Corpus { get; }
    /// <summary>The graph the families walk.</summary>
    public KnowledgeGraph Graph { get; }
    /// <summary>The generated world, when this is one.</summary>
    public GeneratedWorld? World { get; }
    /// <summary>Corpus name.</summary>
    public string Name => Graph.Name;

    /// <summary>From a generated world (ground-truth graph).</summary>
    public static SynthCorpus FromWorld(GeneratedWorld world) => new(world.Corpus, KnowledgeGraph.FromWorld(world), world, null);

    /// <summary>From any page corpus (link graph, category and date tags).</summary>
    public static SynthCorpus FromPages(PageCorpus corpus) => new(corpus, KnowledgeGraph.FromPages(corpus), null, null);

    /// <summary>
    /// Loads by name or directory, resolved as every command resolves <c>--corpus</c> (<see cref="CorpusBuilder.Resolve"/>:
    /// a stored corpus, or a generated world such as <c>world-tiny</c>, built and stored on first use). A stored generated
    /// world gets its ground-truth graph back by regenerating from its seed and page count
    /// (<see cref="WorldEnvironment.Regenerate"/>, which refuses a stored world it cannot reproduce).
    /// </summary>
    public static SynthCorpus Load(string name, TextWriter? log = null)
    {
        var dir = CorpusBuilder.Resolve(name, log);
        var corpus = CorpusStore.Load(dir);
        if (WorldEnvironment.Regenerate(corpus, dir) is { } world)
            return new SynthCorpus(world.Corpus, KnowledgeGraph.FromWorld(world), world, dir);
        return new SynthCorpus(corpus, KnowledgeGraph.FromPages(corpus), null, dir);
    }

    /// <summary>The BM25 index (persisted beside a stored corpus, in memory otherwise).</summary>
    public Bm25Index Index => _index ??= _storedDir is not null
        ? Bm25Index.OpenOrBuild(Corpus, Path.Combine(_storedDir, "index"))
        : Bm25Index.BuildInMemory(Corpus);

    /// <summary>QUEST's offline search and visit tools over this corpus, their output sized by <paramref name="sizes"/> (default: QUEST's).</summary>
    public IReadOnlyList<ITool> Tools(ToolSizes? sizes = null) => [.. ToolRegistry.ForIndex(Index, null, sizes)];

    /// <inheritdoc />
    public void Dispose() => _index?.Dispose();
}
