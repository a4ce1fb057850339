using Quest.Core;
using Quest.World.Corpus;
using Quest.World.Generation;
using Quest.World.Graph;
using Quest.World.Search;
using Xunit;

namespace Quest.World.Tests;

public class StoreAndSearchTests
{
    [Fact]
    public void Store_round_trips_a_corpus_and_its_manifest()
    {
        using var tmp = TestWorld.Temp();
        var dir = CorpusStore.Save(TestWorld.World.Corpus, tmp.File("world"));
        var back = CorpusStore.Load(dir);
        Assert.Equal(TestWorld.World.Corpus.ContentHash, back.ContentHash);
        Assert.Equal(600, back.Info.Pages);
        Assert.Equal("world", back.Info.Source);
        Assert.Equal("11", back.Info.Options["seed"]);
        Assert.Equal(TestWorld.World.Corpus[7].Links, back[7].Links);
        Assert.Equal(TestWorld.World.Corpus[7].Facts!["type"], back[7].Facts!["type"]);
        Assert.NotNull(WorldEnvironment.Regenerate(back));
    }

    [Fact]
    public void Loading_a_damaged_store_names_the_file_and_line()
    {
        using var tmp = TestWorld.Temp();
        var dir = CorpusStore.Save(TestWorld.World.Corpus, tmp.File("w"));
        var pages = Path.Combine(dir, CorpusStore.PagesFile);
        var lines = File.ReadAllLines(pages);
        lines[4] = lines[4][..(lines[4].Length / 2)];
        File.WriteAllLines(pages, lines);
        var ex = Assert.Throws<QuestInputException>(() => CorpusStore.Load(dir));
        Assert.Equal(5, ex.Line);
        Assert.EndsWith(CorpusStore.PagesFile, ex.FileName);

        File.WriteAllLines(pages, File.ReadAllLines(pages).Where((_, i) => i != 4).Take(100));
        var ex2 = Assert.Throws<QuestInputException>(() => CorpusStore.Load(dir));
        Assert.Contains("manifest says 600", ex2.Message);
    }

    [Fact]
    public void Missing_store_is_a_clear_error()
    {
        using var tmp = TestWorld.Temp();
        var ex = Assert.Throws<QuestInputException>(() => CorpusStore.Load(tmp.File("nothing-here")));
        Assert.Contains("quest corpus build", ex.Message);
    }

    [Fact]
    public void Url_lookup_forgives_scheme_case_spaces_and_trailing_slash()
    {
        var c = TestWorld.World.Corpus;
        var p = c[3];
        var slug = p.Url["https://world.quest/wiki/".Length..];
        Assert.Same(p, c.Find("http://world.quest/wiki/" + slug + "/"));
        Assert.Same(p, c.Find("world.quest/wiki/" + slug.ToUpperInvariant()));
        Assert.Same(p, c.Find("https://www.world.quest/wiki/" + slug.Replace('_', ' ') + "#History"));
        Assert.Null(c.Find("https://world.quest/wiki/No_Such_Page"));
    }

    [Fact]
    public void Duplicate_urls_are_refused()
    {
        var p = new Page { Url = "https://x.org/A", Title = "A", Text = "a" };
        Assert.Throws<ArgumentException>(() => new PageCorpus("dup", [p, p with { Url = "http://x.org/a/" }]));
    }

    [Fact]
    public void Searching_an_entity_name_ranks_its_page_first()
    {
        var g = TestWorld.Graph;
        int first = 0, n = 0;
        foreach (var e in g.Entities.Where((_, i) => i % 7 == 0))
        {
            n++;
            var r = TestWorld.Index.Search(e.Name, 10);
            Assert.NotEmpty(r.Hits);
            Assert.True(r.TotalHits >= r.Hits.Count);
            if (r.Hits[0].Url == e.Url) first++;
            else Assert.Contains(r.Hits, h => h.Url == e.Url);
        }
        Assert.True(first >= n * 0.9, $"{first} of {n} names ranked first");
    }

    [Fact]
    public void Snippets_show_the_query_terms_and_respect_the_length()
    {
        var g = TestWorld.Graph;
        var person = g.OfType(EntityType.Person).First();
        var city = g.TargetEntities(person.Id, Relations.BornIn).Single();
        var r = TestWorld.Index.Search($"{person.Name} born {city.Name}", 5);
        var hit = r.Hits.First(h => h.Url == person.Url);
        Assert.Contains(city.Name, hit.Snippet);
        Assert.InRange(hit.Snippet.Length, 20, 260);
        Assert.DoesNotContain("](", hit.Snippet);
        Assert.DoesNotContain("**", hit.Snippet);
    }

    [Theory]
    [InlineData("")]
    [InlineData("   ")]
    [InlineData("the of and")]
    [InlineData("zzqxw vvkkp")]
    public void Empty_stop_word_or_unknown_queries_return_no_hits(string q)
    {
        var r = TestWorld.Index.Search(q);
        Assert.Empty(r.Hits);
        Assert.Equal(0, r.TotalHits);
    }

    [Fact]
    public void Query_syntax_characters_are_just_text()
    {
        var r = TestWorld.Index.Search("\"unclosed AND (OR ) [x TO y} ~~ ^^ \\ * ?:");
        Assert.NotNull(r);
        var name = TestWorld.Graph[5].Name;
        Assert.Equal(TestWorld.Graph[5].Url, TestWorld.Index.Search($"+{name}~ -:").Hits[0].Url);
    }

    [Fact]
    public void Persisted_index_is_reused_until_the_corpus_changes()
    {
        using var tmp = TestWorld.Temp();
        var small = WorldGenerator.Generate(new WorldOptions { Seed = 3, Pages = 120, Name = "small" });
        var dir = CorpusStore.Save(small.Corpus, tmp.File("small"));
        using (var a = Bm25Index.ForStoredCorpus(dir)) { Assert.True(a.WasBuilt); Assert.Equal(120, a.Count); }
        using (var b = Bm25Index.ForStoredCorpus(dir)) Assert.False(b.WasBuilt);
        // Saving the same content keeps the index; different content forces a rebuild.
        CorpusStore.Save(small.Corpus, dir);
        using (var c = Bm25Index.ForStoredCorpus(dir)) Assert.False(c.WasBuilt);
        var other = WorldGenerator.Generate(new WorldOptions { Seed = 4, Pages = 120, Name = "small" });
        CorpusStore.Save(other.Corpus, dir);
        using (var d = Bm25Index.ForStoredCorpus(dir))
        {
            Assert.True(d.WasBuilt);
            Assert.Equal(other.Corpus[10].Url, d.Search(other.Corpus[10].Title).Hits[0].Url);
        }
    }

    [Fact]
    public void Search_is_safe_from_many_threads()
    {
        var names = TestWorld.Graph.Entities.Take(200).Select(e => e.Name).ToArray();
        var expected = names.Select(n => TestWorld.Index.Search(n, 3).Hits[0].Url).ToArray();
        var got = new string[names.Length];
        Parallel.For(0, names.Length, i => got[i] = TestWorld.Index.Search(names[i], 3).Hits[0].Url);
        Assert.Equal(expected, got);
    }
}
