using Quest.World.Generation;
using Quest.World.Graph;
using Quest.World.Search;

namespace Quest.World.Tests;

/// <summary>One small world and its in-memory index, shared by the tests (generation is deterministic).</summary>
internal static class TestWorld
{
    private static readonly Lazy<GeneratedWorld> _world = new(() => WorldGenerator.Generate(new WorldOptions { Seed = 11, Pages = 600 }));
    private static readonly Lazy<Bm25Index> _index = new(() => Bm25Index.BuildInMemory(World.Corpus));

    public static GeneratedWorld World => _world.Value;
    public static KnowledgeGraph Graph => World.Graph;
    public static Bm25Index Index => _index.Value;

    /// <summary>A fresh temporary directory, deleted by the caller's using.</summary>
    public static TempDir Temp() => new();
}

internal sealed class TempDir : IDisposable
{
    public string Path { get; } = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "quest-world-tests-" + Guid.NewGuid().ToString("N"));
    public TempDir() => Directory.CreateDirectory(Path);
    public string File(string name) => System.IO.Path.Combine(Path, name);
    public void Dispose() { try { Directory.Delete(Path, true); } catch (IOException) { } }
}

internal static class GraphTestExtensions
{
    /// <summary>The entities <paramref name="id"/>'s <paramref name="relation"/> edges point to.</summary>
    public static IEnumerable<KgEntity> TargetEntities(this KnowledgeGraph g, int id, string relation) => g.Targets(id, relation).Select(i => g[i]);
}
