namespace Quest.World.Generation;

/// <summary>The six kinds of things the generated world is made of.</summary>
public enum EntityType
{
    /// <summary>A person (scientist, artist, explorer, …).</summary>
    Person,
    /// <summary>An organisation (university, company, society, observatory, …).</summary>
    Organisation,
    /// <summary>A place: a country or a city.</summary>
    Place,
    /// <summary>A creative or scholarly work (novel, treatise, symphony, painting, film, …).</summary>
    Work,
    /// <summary>An invention (device, process, instrument).</summary>
    Invention,
    /// <summary>An event (conference, expedition, treaty, exhibition, …).</summary>
    Event,
}

/// <summary>Relation names of the world graph (edge labels, subject → object).</summary>
public static class Relations
{
    /// <summary>Person → city of birth.</summary>
    public const string BornIn = "born_in";
    /// <summary>Person → university attended.</summary>
    public const string EducatedAt = "educated_at";
    /// <summary>Person → organisation worked at.</summary>
    public const string WorkedAt = "worked_at";
    /// <summary>Person → teacher (a person).</summary>
    public const string StudentOf = "student_of";
    /// <summary>Person → spouse (stored in both directions).</summary>
    public const string SpouseOf = "spouse_of";
    /// <summary>Person → event taken part in.</summary>
    public const string ParticipatedIn = "participated_in";
    /// <summary>Organisation → city of its headquarters.</summary>
    public const string HeadquarteredIn = "headquartered_in";
    /// <summary>Organisation → founding person.</summary>
    public const string FoundedBy = "founded_by";
    /// <summary>City → country.</summary>
    public const string LocatedIn = "located_in";
    /// <summary>City → the country it is the capital of.</summary>
    public const string CapitalOf = "capital_of";
    /// <summary>Work → creator (author, composer, painter, director).</summary>
    public const string CreatedBy = "created_by";
    /// <summary>Work → publishing or premiering organisation.</summary>
    public const string PublishedBy = "published_by";
    /// <summary>Work → place it is set in or depicts.</summary>
    public const string SetIn = "set_in";
    /// <summary>Work → invention or event it is about.</summary>
    public const string About = "about";
    /// <summary>Invention → inventor.</summary>
    public const string InventedBy = "invented_by";
    /// <summary>Invention → organisation where it was developed.</summary>
    public const string DevelopedAt = "developed_at";
    /// <summary>Event → city where it was held.</summary>
    public const string HeldIn = "held_in";
    /// <summary>Event → organising organisation.</summary>
    public const string OrganisedBy = "organised_by";

    /// <summary>All relation names.</summary>
    public static readonly IReadOnlyList<string> All =
    [
        BornIn, EducatedAt, WorkedAt, StudentOf, SpouseOf, ParticipatedIn, HeadquarteredIn, FoundedBy, LocatedIn,
        CapitalOf, CreatedBy, PublishedBy, SetIn, About, InventedBy, DevelopedAt, HeldIn, OrganisedBy,
    ];

    /// <summary>A readable phrase for a relation ("was born in"), for question templates and displays.</summary>
    public static string Phrase(string relation) => relation switch
    {
        BornIn => "was born in", EducatedAt => "was educated at", WorkedAt => "worked at",
        StudentOf => "was a student of", SpouseOf => "was married to", ParticipatedIn => "took part in",
        HeadquarteredIn => "is headquartered in", FoundedBy => "was founded by", LocatedIn => "is located in",
        CapitalOf => "is the capital of", CreatedBy => "was created by", PublishedBy => "was published by",
        SetIn => "is set in", About => "is about", InventedBy => "was invented by", DevelopedAt => "was developed at",
        HeldIn => "was held in", OrganisedBy => "was organised by", _ => relation.Replace('_', ' '),
    };
}

/// <summary>Attribute keys of world entities (values are strings; years are decimal integers).</summary>
public static class Attributes
{
    /// <summary>Sub-kind: occupation-independent kind of the entity (<c>city</c>, <c>university</c>, <c>novel</c>, …).</summary>
    public const string Kind = "kind";
    /// <summary>Person: occupation (<c>astronomer</c>, …).</summary>
    public const string Occupation = "occupation";
    /// <summary>Field of work (<c>astronomy</c>, …) for people, organisations, works, inventions.</summary>
    public const string Field = "field";
    /// <summary>Person: year of birth.</summary>
    public const string BirthYear = "birth_year";
    /// <summary>Person: year of death (absent when alive).</summary>
    public const string DeathYear = "death_year";
    /// <summary>Organisation or city: year founded.</summary>
    public const string FoundedYear = "founded_year";
    /// <summary>Work, invention or event: year.</summary>
    public const string Year = "year";
    /// <summary>Place: population.</summary>
    public const string Population = "population";
    /// <summary>Country: region of the (fictional) world.</summary>
    public const string Region = "region";
    /// <summary>Work: language it was written in.</summary>
    public const string Language = "language";
    /// <summary>Organisation: number of employees or members.</summary>
    public const string Members = "members";
}

/// <summary>An entity of the generator's draft; one page each (read the result through <see cref="Graph.KnowledgeGraph"/>).</summary>
internal sealed class Entity
{
    /// <summary>Dense id: the position in <see cref="WorldGraph.Entities"/> and in the corpus.</summary>
    public required int Id { get; init; }
    /// <summary>Entity type.</summary>
    public required EntityType Type { get; init; }
    /// <summary>Unique display name (the page title).</summary>
    public required string Name { get; init; }
    /// <summary>URL path segment (<c>Vel_Orasko</c>).</summary>
    public required string Slug { get; init; }
    /// <summary>Page URL.</summary>
    public string Url => WorldGraph.UrlForSlug(Slug);
    /// <summary>Attribute values by key (see <see cref="Attributes"/>).</summary>
    public Dictionary<string, string> Attributes { get; } = new(StringComparer.Ordinal);
    /// <summary>An attribute value, or null.</summary>
    public string? Get(string key) => Attributes.TryGetValue(key, out var v) ? v : null;
    /// <summary>An integer attribute value, or null.</summary>
    public int? GetInt(string key) => Attributes.TryGetValue(key, out var v) && int.TryParse(v, out var i) ? i : null;
    /// <inheritdoc />
    public override string ToString() => $"{Name} ({Type}, #{Id})";
}

/// <summary>A typed edge: <c>From --Relation--> To</c>.</summary>
/// <param name="From">Subject entity id.</param>
/// <param name="Relation">Relation name (see <see cref="Relations"/>).</param>
/// <param name="To">Object entity id.</param>
internal readonly record struct Edge(int From, string Relation, int To);

/// <summary>
/// The generator's draft of a world while it is built and rendered: entities, typed edges and attributes. Everything
/// else reads the finished world through its one graph, <see cref="GeneratedWorld.Graph"/> (a
/// <see cref="Graph.KnowledgeGraph"/>), which the generator builds from this draft.
/// </summary>
internal sealed class WorldGraph
{
    /// <summary>Host of generated-world URLs.</summary>
    public const string Host = "world.quest";

    private readonly Entity[] _entities;
    private readonly List<Edge>[] _out;
    private readonly List<Edge>[] _in;

    internal WorldGraph(Entity[] entities, IEnumerable<Edge> edges)
    {
        _entities = entities;
        _out = new List<Edge>[entities.Length];
        _in = new List<Edge>[entities.Length];
        for (int i = 0; i < entities.Length; i++) { _out[i] = []; _in[i] = []; }
        int n = 0;
        foreach (var e in edges) { _out[e.From].Add(e); _in[e.To].Add(e); n++; }
        EdgeCount = n;
    }

    /// <summary>All entities, indexed by id.</summary>
    public IReadOnlyList<Entity> Entities => _entities;

    /// <summary>Number of edges.</summary>
    public int EdgeCount { get; }

    /// <summary>The entity with this id.</summary>
    public Entity this[int id] => _entities[id];

    /// <summary>Entities of one type.</summary>
    public IEnumerable<Entity> OfType(EntityType type) => _entities.Where(e => e.Type == type);

    /// <summary>Outgoing edges of <paramref name="id"/>, optionally only of one relation.</summary>
    public IReadOnlyList<Edge> Outgoing(int id, string? relation = null) =>
        relation is null ? _out[id] : _out[id].Where(e => e.Relation == relation).ToList();

    /// <summary>Incoming edges of <paramref name="id"/>, optionally only of one relation.</summary>
    public IReadOnlyList<Edge> Incoming(int id, string? relation = null) =>
        relation is null ? _in[id] : _in[id].Where(e => e.Relation == relation).ToList();

    /// <summary>Targets of <paramref name="id"/>'s outgoing <paramref name="relation"/> edges.</summary>
    public IEnumerable<Entity> Targets(int id, string relation) =>
        _out[id].Where(e => e.Relation == relation).Select(e => _entities[e.To]);

    /// <summary>Sources of incoming <paramref name="relation"/> edges into <paramref name="id"/>.</summary>
    public IEnumerable<Entity> Sources(int id, string relation) =>
        _in[id].Where(e => e.Relation == relation).Select(e => _entities[e.From]);

    /// <summary>The URL of a page slug.</summary>
    public static string UrlForSlug(string slug) => $"https://{Host}/wiki/{slug}";

    /// <summary>The slug of a name: spaces to underscores, anything but letters, digits, '-', '_' and '.' dropped.</summary>
    public static string Slugify(string name)
    {
        var sb = new System.Text.StringBuilder(name.Length);
        foreach (var c in name.Trim())
        {
            if (c == ' ') sb.Append('_');
            else if (char.IsLetterOrDigit(c) || c is '-' or '_' or '.') sb.Append(c);
        }
        return sb.ToString();
    }
}
