using System.Globalization;
using System.Text.RegularExpressions;
using Quest.World.Corpus;
using Quest.World.Generation;

namespace Quest.World.Graph;

/// <summary>An entity the task families can ask about: one page of the corpus.</summary>
public sealed class KgEntity
{
    /// <summary>Dense id (position in <see cref="KnowledgeGraph.Entities"/>).</summary>
    public required int Id { get; init; }
    /// <summary>Display name (page title).</summary>
    public required string Name { get; init; }
    /// <summary>Type (world: person, organisation, place, work, invention, event; FOLDOC: the category tag or "term").</summary>
    public required string Type { get; init; }
    /// <summary>The noun used in questions ("astronomer", "city", "programming language"…).</summary>
    public required string Noun { get; init; }
    /// <summary>Page URL.</summary>
    public required string Url { get; init; }
    /// <summary>Attribute values (years, kinds, fields…).</summary>
    public Dictionary<string, string> Attributes { get; } = new(StringComparer.Ordinal);
    /// <summary>Other accepted names.</summary>
    public List<string> Aliases { get; } = [];
    /// <summary>An attribute value, or null.</summary>
    public string? Get(string key) => Attributes.TryGetValue(key, out var v) ? v : null;
    /// <summary>An integer attribute value (years), or null.</summary>
    public int? GetInt(string key) => Attributes.TryGetValue(key, out var v) && int.TryParse(v, NumberStyles.Integer, CultureInfo.InvariantCulture, out var i) ? i : null;
    /// <inheritdoc />
    public override string ToString() => $"{Name} ({Type})";
}

/// <summary>A typed edge <c>From --Relation--&gt; To</c>.</summary>
public readonly record struct KgEdge(int From, string Relation, int To);

/// <summary>A fact about an entity: an attribute value, or an outgoing edge to a named entity.</summary>
/// <param name="Key">Attribute key or relation.</param>
/// <param name="Value">Attribute value, or the target id as text.</param>
/// <param name="IsRelation">Whether this is an edge.</param>
public readonly record struct KgFact(string Key, string Value, bool IsRelation)
{
    /// <summary>Target id of a relation fact.</summary>
    public int Target => int.Parse(Value, CultureInfo.InvariantCulture);
    /// <summary>An attribute fact.</summary>
    public static KgFact Attr(string key, string value) => new(key, value, false);
    /// <summary>A relation fact: the entity has an outgoing <paramref name="relation"/> edge to <paramref name="target"/>.</summary>
    public static KgFact Rel(string relation, int target) => new(relation, target.ToString(CultureInfo.InvariantCulture), true);
}

/// <summary>
/// The kit's one knowledge graph: entities with types and attributes, typed edges, and each entity's page. A generated
/// world's ground truth is one (<see cref="GeneratedWorld.Graph"/>, built by the generator); any page corpus gets one
/// from its link graph with its category/date tags (<see cref="FromPages"/>, e.g. FOLDOC). Task families, the world
/// notebook, displays and tests all read this class, so they run on both kinds of corpus.
/// </summary>
public sealed partial class KnowledgeGraph
{
    private readonly List<KgEntity> _entities;
    private readonly List<KgEdge>[] _out, _in;
    private readonly Dictionary<string, int> _byUrl;
    private readonly Func<string, string> _relPhrase;
    private readonly Func<KgEntity, string, string, string?> _attrPhrase;

    private KnowledgeGraph(string name, bool groundTruth, List<KgEntity> entities, IEnumerable<KgEdge> edges, IReadOnlyList<Page> pages,
        Func<string, string> relPhrase, Func<KgEntity, string, string, string?> attrPhrase)
    {
        Name = name; IsGroundTruth = groundTruth; _entities = entities; Pages = pages; _relPhrase = relPhrase; _attrPhrase = attrPhrase;
        _out = new List<KgEdge>[entities.Count]; _in = new List<KgEdge>[entities.Count];
        for (int i = 0; i < entities.Count; i++) { _out[i] = []; _in[i] = []; }
        foreach (var e in edges.Distinct()) { _out[e.From].Add(e); _in[e.To].Add(e); EdgeCount++; }
        _byUrl = new Dictionary<string, int>(StringComparer.OrdinalIgnoreCase);
        foreach (var e in entities) _byUrl[PageCorpus.UrlKey(e.Url)] = e.Id;
    }

    /// <summary>Corpus name (<c>world</c>, <c>foldoc</c>, …).</summary>
    public string Name { get; }
    /// <summary>True when edges are a ground truth (generated world); false for a link graph (every link is an edge).</summary>
    public bool IsGroundTruth { get; }
    /// <summary>Entities by id.</summary>
    public IReadOnlyList<KgEntity> Entities => _entities;
    /// <summary>Pages by entity id.</summary>
    public IReadOnlyList<Page> Pages { get; }
    /// <summary>The entity with this id.</summary>
    public KgEntity this[int id] => _entities[id];
    /// <summary>Number of (distinct) edges.</summary>
    public int EdgeCount { get; }
    /// <summary>Entities of one type (<c>person</c>, <c>city</c>'s type <c>place</c>, a FOLDOC category, …).</summary>
    public IEnumerable<KgEntity> OfType(string type) => _entities.Where(e => e.Type == type);
    /// <summary>Entities of one generated-world type.</summary>
    public IEnumerable<KgEntity> OfType(EntityType type) => OfType(TypeName(type));
    /// <summary>The type name of a generated-world entity type (<c>person</c>, …): its entities' <see cref="KgEntity.Type"/> and its pages' category.</summary>
    public static string TypeName(EntityType type) => type.ToString().ToLowerInvariant();
    /// <summary>Outgoing edges (optionally of one relation).</summary>
    public IReadOnlyList<KgEdge> Out(int id, string? relation = null) => relation is null ? _out[id] : _out[id].Where(e => e.Relation == relation).ToList();
    /// <summary>Incoming edges (optionally of one relation).</summary>
    public IReadOnlyList<KgEdge> In(int id, string? relation = null) => relation is null ? _in[id] : _in[id].Where(e => e.Relation == relation).ToList();
    /// <summary>The entity of a page URL, or null.</summary>
    public KgEntity? FindByUrl(string url) => _byUrl.TryGetValue(PageCorpus.UrlKey(url), out var i) ? _entities[i] : null;
    /// <summary>The entity with this name or alias (case-insensitive), or null.</summary>
    public KgEntity? FindByName(string name)
    {
        if (_byName is null)
        {
            var d = new Dictionary<string, int>(StringComparer.OrdinalIgnoreCase);
            foreach (var e in _entities) { d.TryAdd(e.Name, e.Id); foreach (var a in e.Aliases) d.TryAdd(a, e.Id); }
            _byName = d;
        }
        return _byName.TryGetValue(name.Trim(), out var i) ? _entities[i] : null;
    }
    private Dictionary<string, int>? _byName;

    /// <summary>Page text (links reduced to anchors) of a URL, or null: the evidence resolver for rewards and cites checks.</summary>
    public Task<string?> PageTextAsync(string url, CancellationToken ct = default) =>
        Task.FromResult(FindByUrl(url) is { } e ? Pages[e.Id].Title + "\n" + Pages[e.Id].PlainText : null);

    /// <summary>All facts of an entity (attributes, then outgoing edges).</summary>
    public IEnumerable<KgFact> FactsOf(int id)
    {
        foreach (var (k, v) in _entities[id].Attributes) yield return new KgFact(k, v, false);
        foreach (var e in _out[id]) yield return new KgFact(e.Relation, e.To.ToString(CultureInfo.InvariantCulture), true);
    }

    /// <summary>Whether entity <paramref name="id"/> has the fact.</summary>
    public bool Has(int id, KgFact f) => f.IsRelation
        ? _out[id].Any(e => e.Relation == f.Key && e.To == f.Target)
        : _entities[id].Attributes.TryGetValue(f.Key, out var v) && v == f.Value;

    /// <summary>Every entity of a generated-world type that has all the facts.</summary>
    public IReadOnlyList<int> Match(EntityType type, IReadOnlyList<KgFact> facts) => Match(TypeName(type), facts);

    /// <summary>Every entity of <paramref name="type"/> that has all the facts (the uniqueness proof of constraint tasks).</summary>
    public IReadOnlyList<int> Match(string type, IReadOnlyList<KgFact> facts)
    {
        IEnumerable<int> cand = facts.FirstOrDefault(f => f.IsRelation) is { Key: not null } rf && facts.Any(f => f.IsRelation)
            ? _in[rf.Target].Where(e => e.Relation == rf.Key).Select(e => e.From).Distinct()
            : _entities.Select(e => e.Id);
        return cand.Where(i => _entities[i].Type == type && facts.All(f => Has(i, f))).ToList();
    }

    /// <summary>Targets of <paramref name="id"/>'s <paramref name="relation"/> edges that have type <paramref name="targetType"/>.</summary>
    public IReadOnlyList<int> Targets(int id, string relation, string? targetType = null) =>
        _out[id].Where(e => e.Relation == relation && (targetType is null || _entities[e.To].Type == targetType)).Select(e => e.To).Distinct().ToList();

    /// <summary>Sources of <paramref name="relation"/> edges into <paramref name="id"/> with type <paramref name="sourceType"/>.</summary>
    public IReadOnlyList<int> Sources(int id, string relation, string? sourceType = null) =>
        _in[id].Where(e => e.Relation == relation && (sourceType is null || _entities[e.From].Type == sourceType)).Select(e => e.From).Distinct().ToList();

    /// <summary>The verb phrase of a relation ("was born in", "refers to").</summary>
    public string RelationPhrase(string relation) => _relPhrase(relation);

    /// <summary>A clause stating a fact about an entity without naming it ("was born in Talvhaven"); null when the fact is not phrasable.</summary>
    public string? FactClause(int id, KgFact f) => f.IsRelation
        ? $"{_relPhrase(f.Key)} {_entities[f.Target].Name}"
        : _attrPhrase(_entities[id], f.Key, f.Value);

    /// <summary>The fact as a sentence about the named entity ("Vel Orasko was born in Talvhaven.").</summary>
    public string FactSentence(int id, KgFact f) => $"{_entities[id].Name} {FactClause(id, f) ?? f.Key + " " + f.Value}.";

    /// <summary>
    /// The sentence of <paramref name="id"/>'s page that mentions <paramref name="text"/> (links reduced to anchors), or
    /// null: the evidence a citation of that page supports.
    /// </summary>
    public string? EvidenceSentence(int id, string text)
    {
        foreach (var s in SentenceSplit().Split(Pages[id].PlainText))
        {
            var t = s.Trim().TrimStart('#', '-', '*', ' ');
            if (t.Length > 0 && t.Length < 400 && t.Contains(text, StringComparison.OrdinalIgnoreCase)) return t.Replace("**", "").Replace("*", "");
        }
        return null;
    }

    /// <summary>The first sentence of an entity's page (its lead), emphasis removed; the name when the page is empty.</summary>
    public string Lead(int id)
    {
        foreach (var s in SentenceSplit().Split(Pages[id].PlainText))
        {
            var t = s.Trim();
            var clean = t.Replace("**", "").Replace("*", "").Trim();
            if (clean.Length > 3 && !t.StartsWith('#') && !clean.Equals(_entities[id].Name, StringComparison.OrdinalIgnoreCase)) return clean;
        }
        return _entities[id].Name;
    }

    [GeneratedRegex(@"(?<=[.!?])\s+|\n+")] private static partial Regex SentenceSplit();
    // A FOLDOC-style category tag opening a paragraph ("<person> The British inventor…"), for pages without a category.
    [GeneratedRegex(@"(?m)^\s*<([a-z][a-z ]{1,30})>")] private static partial Regex CategoryTag();

    /// <summary>
    /// A small set of phrasable facts that singles out <paramref name="id"/> among entities of its type (greedy, fewest
    /// remaining candidates first; ties broken by <paramref name="rng"/>, or by the facts' order without one), or null
    /// when <paramref name="maxFacts"/> do not suffice.
    /// </summary>
    public IReadOnlyList<KgFact>? DistinguishingFacts(int id, int maxFacts, Random? rng = null, Func<KgFact, bool>? exclude = null, int minFacts = 1)
    {
        var type = _entities[id].Type;
        var phrasable = FactsOf(id).Where(f => (exclude is null || !exclude(f)) && FactClause(id, f) is not null).Distinct();
        var facts = (rng is null ? phrasable : phrasable.OrderBy(_ => rng.Next())).ToList();
        var chosen = new List<KgFact>();
        var cand = _entities.Where(e => e.Type == type).Select(e => e.Id).ToHashSet();
        while (chosen.Count < maxFacts)
        {
            KgFact? best = null; HashSet<int>? bestSet = null;
            foreach (var f in facts)
            {
                if (chosen.Contains(f)) continue;
                var s = cand.Where(c => Has(c, f)).ToHashSet();
                if (bestSet is null || s.Count < bestSet.Count) { best = f; bestSet = s; }
            }
            if (best is null || bestSet is null) return null;
            if (bestSet.Count >= cand.Count && chosen.Count >= minFacts) return null;
            chosen.Add(best.Value); cand = bestSet;
            if (cand.Count == 1 && chosen.Count >= minFacts) return chosen;
        }
        return cand.Count == 1 ? chosen : null;
    }

    // ---------------------------------------------------------------- adapters

    /// <summary>
    /// The ground truth of a generated world, built once by the generator from its draft: every entity, attribute and
    /// typed relation. Population and member counts are kept but have no phrase, so no question asks about them.
    /// </summary>
    internal static KnowledgeGraph FromDraft(WorldGraph draft, PageCorpus corpus)
    {
        var list = new List<KgEntity>(draft.Entities.Count);
        foreach (var e in draft.Entities)
        {
            var type = TypeName(e.Type);
            var noun = e.Type switch
            {
                EntityType.Person => e.Get(Generation.Attributes.Occupation) ?? "person",
                _ => e.Get(Generation.Attributes.Kind) ?? type,
            };
            var k = new KgEntity { Id = e.Id, Name = e.Name, Type = type, Noun = noun, Url = e.Url };
            foreach (var (a, v) in e.Attributes) k.Attributes[a] = v;
            list.Add(k);
        }
        var edges = draft.Entities.SelectMany(e => draft.Outgoing(e.Id)).Select(x => new KgEdge(x.From, x.Relation, x.To));
        return new KnowledgeGraph(corpus.Name, true, list, edges, corpus, Relations.Phrase, WorldAttributePhrase);
    }

    private static string? WorldAttributePhrase(KgEntity e, string key, string v) => key switch
    {
        "birth_year" => $"was born in {v}",
        "death_year" => $"died in {v}",
        "founded_year" => $"was founded in {v}",
        "year" => e.Type switch { "work" => $"was completed in {v}", "invention" => $"was invented in {v}", "event" => $"took place in {v}", _ => $"dates from {v}" },
        "occupation" => $"worked as {Article(v)} {v}",
        "field" => $"is associated with the field of {v}",
        "kind" => $"is {Article(v)} {v}",
        "region" => $"lies in {v}",
        "language" => e.Type == "work" ? $"was written in {v}" : $"has {v} as its official language",
        _ => null,
    };

    /// <summary>
    /// Any page corpus (e.g. FOLDOC): every link is a <c>refers_to</c> edge; the category tag is the type and the
    /// page's date gives a <c>year</c> attribute. Pages without a category get the type <c>term</c>.
    /// </summary>
    public static KnowledgeGraph FromPages(PageCorpus corpus, string? name = null)
    {
        var list = new List<KgEntity>(corpus.Count);
        for (int i = 0; i < corpus.Count; i++)
        {
            var p = corpus[i];
            var cat = !string.IsNullOrWhiteSpace(p.Category) ? p.Category!.Trim().ToLowerInvariant()
                : CategoryTag().Match(p.Text) is { Success: true } m ? m.Groups[1].Value.Trim() : "term";
            var k = new KgEntity { Id = i, Name = p.Title, Type = cat, Noun = NounOf(cat), Url = p.Url };
            k.Attributes["category"] = cat;
            if (p.Date is { Length: >= 4 } d && int.TryParse(d[..4], out var y)) k.Attributes["year"] = y.ToString(CultureInfo.InvariantCulture);
            list.Add(k);
        }
        var edges = new List<KgEdge>();
        for (int i = 0; i < corpus.Count; i++)
            foreach (var l in corpus[i].Links)
            {
                int j = corpus.IndexOf(l);
                if (j >= 0 && j != i) edges.Add(new KgEdge(i, "refers_to", j));
            }
        return new KnowledgeGraph(name ?? corpus.Name, false, list, edges, corpus,
            r => r == "refers_to" ? "refers to" : r.Replace('_', ' '),
            (e, key, v) => key switch { "year" => $"has an entry dated {v}", _ => null });
    }

    private static readonly HashSet<string> NounCategories = new(StringComparer.Ordinal)
    {
        "term", "language", "person", "company", "computer", "processor", "protocol", "algorithm", "character", "tool",
        "database", "standard", "organisation", "organization", "file format", "operating system", "game", "virus", "editor",
    };

    /// <summary>The noun for a FOLDOC-style category: the category itself when it is a noun ("language"), else "<c>CATEGORY</c> entry".</summary>
    public static string NounOf(string category) => NounCategories.Contains(category) ? category : category + " entry";

    /// <summary>"a" or "an".</summary>
    public static string Article(string word) => word.Length > 0 && "aeiouAEIOU".Contains(word[0]) ? "an" : "a";
}
