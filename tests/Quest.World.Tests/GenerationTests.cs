using Quest.World.Corpus;
using Quest.World.Generation;
using Quest.World.Graph;
using Xunit;

namespace Quest.World.Tests;

public class GenerationTests
{
    [Fact]
    public void Same_seed_gives_the_same_world_and_another_seed_a_different_one()
    {
        var a = WorldGenerator.Generate(new WorldOptions { Seed = 5, Pages = 300 });
        var b = WorldGenerator.Generate(new WorldOptions { Seed = 5, Pages = 300 });
        var c = WorldGenerator.Generate(new WorldOptions { Seed = 6, Pages = 300 });
        Assert.Equal(a.Corpus.ContentHash, b.Corpus.ContentHash);
        Assert.Equal(a.Graph.EdgeCount, b.Graph.EdgeCount);
        Assert.NotEqual(a.Corpus.ContentHash, c.Corpus.ContentHash);
    }

    [Fact]
    public void Every_entity_has_one_page_with_its_url_title_and_type()
    {
        var w = TestWorld.World;
        Assert.Equal(600, w.Corpus.Count);
        Assert.Equal(w.Graph.Entities.Count, w.Corpus.Count);
        foreach (var e in w.Graph.Entities)
        {
            var p = w.PageOf(e.Id);
            Assert.Equal(e.Url, p.Url);
            Assert.Equal(e.Name, p.Title);
            Assert.Equal(e.Type, p.Category);
            Assert.StartsWith("https://world.quest/wiki/", p.Url);
            Assert.Same(e, w.Graph.FindByUrl(p.Url));
        }
        foreach (var t in Enum.GetValues<EntityType>()) Assert.NotEmpty(w.Graph.OfType(t));
    }

    [Fact]
    public void Every_link_resolves_and_every_outgoing_edge_is_linked_from_the_page()
    {
        var w = TestWorld.World;
        foreach (var p in w.Corpus)
        {
            foreach (var l in p.Links) Assert.True(w.Corpus.Contains(l), $"{p.Url} links to missing {l}");
            var inline = Markdown.Links(p.Text).Select(x => x.Url).ToHashSet();
            Assert.True(inline.SetEquals(p.Links), $"Links of {p.Url} differ from its inline links");
        }
        foreach (var e in w.Graph.Entities)
            foreach (var edge in w.Graph.Out(e.Id))
                Assert.Contains(w.Graph[edge.To].Url, w.PageOf(e.Id).Links);
    }

    [Fact]
    public void Dates_are_consistent()
    {
        var g = TestWorld.Graph;
        foreach (var p in g.OfType(EntityType.Person))
        {
            int born = p.GetInt(Attributes.BirthYear)!.Value;
            if (p.GetInt(Attributes.DeathYear) is int died) Assert.True(died > born);
            foreach (var u in g.TargetEntities(p.Id, Relations.EducatedAt))
                Assert.True(u.GetInt(Attributes.FoundedYear) <= born + 18, $"{p} studied at {u} before it existed");
            foreach (var ev in g.TargetEntities(p.Id, Relations.ParticipatedIn))
                Assert.True(ev.GetInt(Attributes.Year) >= born + 18, $"{p} took part in {ev} as a child");
        }
        foreach (var o in g.OfType(EntityType.Organisation))
        {
            var founder = g.TargetEntities(o.Id, Relations.FoundedBy).Single();
            Assert.True(o.GetInt(Attributes.FoundedYear) >= founder.GetInt(Attributes.BirthYear) + 25 || o.GetInt(Attributes.FoundedYear) == founder.GetInt(Attributes.DeathYear));
        }
        foreach (var inv in g.OfType(EntityType.Invention))
        {
            var who = g.TargetEntities(inv.Id, Relations.InventedBy).Single();
            Assert.True(inv.GetInt(Attributes.Year) > who.GetInt(Attributes.BirthYear));
        }
    }

    [Fact]
    public void Page_text_states_the_entity_facts()
    {
        var g = TestWorld.Graph;
        var person = g.OfType(EntityType.Person).First(p => g.Out(p.Id, Relations.EducatedAt).Count > 0);
        var text = TestWorld.World.PageOf(person.Id).PlainText;
        Assert.Contains(person.Get(Attributes.BirthYear)!, text);
        Assert.Contains(person.Get(Attributes.Occupation)!, text);
        Assert.Contains(g.TargetEntities(person.Id, Relations.BornIn).Single().Name, text);
        Assert.Contains(g.TargetEntities(person.Id, Relations.EducatedAt).First().Name, text);
        Assert.DoesNotContain("](", text);
    }

    [Fact]
    public void Incoming_and_outgoing_edges_agree()
    {
        var g = TestWorld.Graph;
        foreach (var e in g.Entities)
        {
            foreach (var edge in g.Out(e.Id)) Assert.Contains(edge, g.In(edge.To));
            foreach (var edge in g.In(e.Id)) Assert.Contains(edge, g.Out(edge.From));
        }
        var spouse = g.Entities.SelectMany(e => g.Out(e.Id, Relations.SpouseOf)).First();
        Assert.Contains(new KgEdge(spouse.To, Relations.SpouseOf, spouse.From), g.Out(spouse.To));
    }

    [Fact]
    public void Distinguishing_facts_single_out_the_entity()
    {
        var g = TestWorld.Graph;
        int found = 0;
        foreach (var e in g.OfType(EntityType.Person).Take(60))
        {
            var facts = g.DistinguishingFacts(e.Id, maxFacts: 4);
            if (facts is null) continue;
            found++;
            Assert.InRange(facts.Count, 1, 4);
            Assert.Equal([e.Id], g.Match(EntityType.Person, facts));
            Assert.All(facts, f => Assert.False(string.IsNullOrWhiteSpace(g.FactClause(e.Id, f))));
        }
        Assert.True(found >= 50, $"only {found} of 60 people can be singled out with 4 facts");
    }

    [Fact]
    public void Match_by_attribute_and_relation_returns_exactly_the_satisfying_entities()
    {
        var g = TestWorld.Graph;
        var p = g.OfType(EntityType.Person).First();
        var city = g.TargetEntities(p.Id, Relations.BornIn).Single();
        var ids = g.Match(EntityType.Person, [KgFact.Attr(Attributes.Occupation, p.Get(Attributes.Occupation)!), KgFact.Rel(Relations.BornIn, city.Id)]);
        Assert.Contains(p.Id, ids);
        foreach (var id in ids)
        {
            Assert.Equal(p.Get(Attributes.Occupation), g[id].Get(Attributes.Occupation));
            Assert.Equal(city.Id, g.TargetEntities(id, Relations.BornIn).Single().Id);
        }
    }

    [Fact]
    public void Multi_hop_chains_exist_and_names_are_unique()
    {
        var g = TestWorld.Graph;
        // work -> creator -> birthplace -> country: a 3-hop chain from every work.
        foreach (var w in g.OfType(EntityType.Work))
        {
            var creator = g.TargetEntities(w.Id, Relations.CreatedBy).Single();
            var city = g.TargetEntities(creator.Id, Relations.BornIn).Single();
            Assert.Single(g.TargetEntities(city.Id, Relations.LocatedIn));
        }
        Assert.Equal(g.Entities.Count, g.Entities.Select(e => e.Name.ToLowerInvariant()).Distinct().Count());
        Assert.Equal(g.Entities.Count, g.Entities.Select(e => e.Url.ToLowerInvariant()).Distinct().Count());
    }

    [Fact]
    public void Too_small_worlds_are_refused()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => WorldGenerator.Generate(new WorldOptions { Pages = 10 }));
    }
}
