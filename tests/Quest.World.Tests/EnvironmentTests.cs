using Quest.World.Corpus;
using Quest.World.Generation;
using Quest.World.Graph;
using Xunit;

namespace Quest.World.Tests;

public class EnvironmentTests
{
    [Fact]
    public async Task A_stored_world_opens_with_its_index_tools_resolver_and_regenerated_graph()
    {
        using var tmp = TestWorld.Temp();
        var w = WorldGenerator.Generate(new WorldOptions { Seed = 9, Pages = 200, Name = "envtest" });
        var dir = CorpusStore.Save(w.Corpus, tmp.File("envtest"));
        using var env = WorldEnvironment.Open(dir);
        Assert.Equal(200, env.Corpus.Count);
        Assert.NotNull(env.World);
        Assert.Equal(w.Graph.EdgeCount, env.World!.Graph.EdgeCount);
        Assert.Equal(["search", "visit"], env.Tools.Names);
        var e = w.Graph[42];
        Assert.Equal(e.Url, env.Index.Search(e.Name).Hits[0].Url);
        Assert.Equal(w.Corpus[42].Text, await env.Resolver(e.Url, TestContext.Current.CancellationToken));
        Assert.Null(await env.Resolver("https://world.quest/wiki/Nope", TestContext.Current.CancellationToken));
    }

    [Fact]
    public void A_non_world_corpus_has_no_graph()
    {
        var c = new PageCorpus("plain", [new Page { Url = "https://a.org/x", Title = "X", Text = "Some text about x." }]);
        using var env = WorldEnvironment.FromCorpus(c);
        Assert.Null(env.World);
        Assert.Null(WorldEnvironment.Regenerate(c));
        Assert.Equal("https://a.org/x", env.Index.Search("text").Hits[0].Url);
    }

    [Fact]
    public void A_stored_world_its_seed_no_longer_reproduces_is_refused_not_silently_graphless()
    {
        var w = WorldGenerator.Generate(new WorldOptions { Pages = 60, Seed = 9 });
        Assert.NotNull(WorldEnvironment.Regenerate(w.Corpus));
        var edited = w.Corpus.Select((p, i) => i == 3 ? p with { Text = p.Text + " Edited." } : p).ToList();
        var c = new PageCorpus(w.Corpus.Name, edited, w.Corpus.Info);
        var e = Assert.Throws<Quest.Core.QuestInputException>(() => WorldEnvironment.Regenerate(c, "stored/world"));
        Assert.Contains("stored/world: the stored world does not match its regenerated ground truth", e.Message);
    }

    [Fact]
    [Trait("Category", "Slow")]
    public void A_100k_page_world_is_consistent_and_searchable()
    {
        var w = WorldGenerator.Generate(WorldOptions.Large);
        Assert.Equal(100_000, w.Corpus.Count);
        foreach (var p in w.Corpus) Assert.All(p.Links, l => Assert.True(w.Corpus.Contains(l)));
        using var index = Search.Bm25Index.BuildInMemory(w.Corpus);
        int first = 0;
        foreach (var e in w.Graph.Entities.Where((_, i) => i % 1000 == 0))
            if (index.Search(e.Name).Hits[0].Url == e.Url) first++;
        Assert.True(first >= 95, $"{first} of 100 names ranked first");
        Assert.Equal(w.Corpus.ContentHash, WorldGenerator.Generate(WorldOptions.Large).Corpus.ContentHash);
    }
}
