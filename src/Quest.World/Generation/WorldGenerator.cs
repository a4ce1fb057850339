using System.Globalization;
using Quest.World.Corpus;
using Quest.World.Graph;
using static Quest.World.Generation.WorldVocabulary;

namespace Quest.World.Generation;

/// <summary>Options of a generated world. Same options, same world (byte for byte).</summary>
public sealed record WorldOptions
{
    /// <summary>Random seed: the whole world is a function of (Seed, Pages).</summary>
    public int Seed { get; init; } = 42;
    /// <summary>Number of pages (= entities); at least <see cref="MinPages"/>, at most <see cref="MaxPages"/>.</summary>
    public int Pages { get; init; } = 500;
    /// <summary>Fewest pages a world can have.</summary>
    public const int MinPages = 50;
    /// <summary>Most pages a world can have: 500,000 (about a minute and a few GB to generate and index on 2 cores).</summary>
    public const int MaxPages = 500_000;
    /// <summary>Corpus name used when the world is stored.</summary>
    public string Name { get; init; } = "world";

    /// <summary>300 pages: unit tests.</summary>
    public static WorldOptions Tiny => new() { Pages = 300 };
    /// <summary>2,000 pages: notebooks and quick experiments.</summary>
    public static WorldOptions Small => new() { Pages = 2_000 };
    /// <summary>20,000 pages: the default offline web for agent runs.</summary>
    public static WorldOptions Medium => new() { Pages = 20_000 };
    /// <summary>100,000 pages: benchmarks.</summary>
    public static WorldOptions Large => new() { Pages = 100_000 };
}

/// <summary>A generated world: the ground-truth graph and its pages.</summary>
/// <param name="Options">The options it was generated from.</param>
/// <param name="Graph">The ground truth: entities, typed edges, attributes (the kit's one graph class).</param>
/// <param name="Corpus">One page per entity, in entity-id order (page i is entity i).</param>
public sealed record GeneratedWorld(WorldOptions Options, KnowledgeGraph Graph, PageCorpus Corpus)
{
    /// <summary>Generates a world (same as <see cref="WorldGenerator.Generate"/>).</summary>
    public static GeneratedWorld Generate(WorldOptions options) => WorldGenerator.Generate(options);

    /// <summary>The page of an entity.</summary>
    public Page PageOf(int entityId) => Corpus[entityId];
}

/// <summary>
/// Generates a seeded fictional encyclopedia: countries and cities, people with occupations and life dates,
/// organisations they founded and worked at, works they created, inventions, and events they took part in.
/// Dates are consistent (nobody founds anything before they are 25 or after they die, universities exist before
/// their students enrol, …). Rendering to pages is done by <see cref="WorldRenderer"/>.
/// </summary>
public static class WorldGenerator
{
    /// <summary>Generates the world for <paramref name="options"/>. 100k pages take a few seconds; <paramref name="ct"/> stops it.</summary>
    public static GeneratedWorld Generate(WorldOptions options, CancellationToken ct = default)
    {
        if (options.Pages is < WorldOptions.MinPages or > WorldOptions.MaxPages)
            throw new ArgumentOutOfRangeException(nameof(options), options.Pages, $"a world has {WorldOptions.MinPages} to {WorldOptions.MaxPages:N0} pages");
        var g = new Builder(options, ct);
        var draft = g.Build();
        var pages = WorldRenderer.Render(draft, ct);
        var info = new CorpusInfo
        {
            Name = options.Name, Source = "world", Origin = "Quest.World.Generation.WorldGenerator", License = "generated (CC0)",
            Options = new() { ["seed"] = options.Seed.ToString(CultureInfo.InvariantCulture), ["pages"] = options.Pages.ToString(CultureInfo.InvariantCulture) },
        };
        var corpus = new PageCorpus(options.Name, pages, info);
        return new GeneratedWorld(options, KnowledgeGraph.FromDraft(draft, corpus), corpus);
    }

    private sealed class Builder(WorldOptions o, CancellationToken ct)
    {
        private int _made;
        private void Tick() { if ((++_made & 1023) == 0) ct.ThrowIfCancellationRequested(); }

        private readonly WorldRandom _r = new((ulong)(uint)o.Seed * 0x9E3779B97F4A7C15UL + 12345);
        private readonly List<Entity> _e = [];
        private readonly List<Edge> _edges = [];
        private readonly HashSet<string> _slugs = new(StringComparer.OrdinalIgnoreCase);
        private readonly List<int> _countries = [], _cities = [], _people = [], _orgs = [], _works = [], _inventions = [], _events = [];
        private readonly Dictionary<int, int> _cityCountry = [];
        private readonly Dictionary<int, string> _given = [], _family = [];

        public WorldGraph Build()
        {
            int n = o.Pages;
            int countries = Math.Clamp(n / 150, 4, 60);
            int cities = Math.Max(8, n / 10);
            int people = (int)(n * 0.42);
            int orgs = (int)(n * 0.13);
            int works = (int)(n * 0.17);
            int inventions = (int)(n * 0.10);
            int events = n - countries - cities - people - orgs - works - inventions;
            if (events < 2) { people -= 2 - events; events = 2; }

            for (int i = 0; i < countries; i++) { Tick(); MakeCountry(); }
            for (int i = 0; i < cities; i++) { Tick(); MakeCity(i); }
            var familyPool = Enumerable.Range(0, Math.Max(10, people / 3)).Select(_ => Word(2, 3)).Distinct().ToArray();
            for (int i = 0; i < people; i++) { Tick(); MakePerson(familyPool); }
            for (int i = 0; i < orgs; i++) { Tick(); MakeOrganisation(); }
            ct.ThrowIfCancellationRequested();
            LinkPeople();
            for (int i = 0; i < works; i++) { Tick(); MakeWork(); }
            for (int i = 0; i < inventions; i++) { Tick(); MakeInvention(); }
            for (int i = 0; i < events; i++) { Tick(); MakeEvent(); }
            ct.ThrowIfCancellationRequested();
            LinkWorksAbout();
            return new WorldGraph([.. _e], _edges);
        }

        // ---- names ----
        private string Word(int minSyl, int maxSyl) => WorldNames.Word(_r.Next, minSyl, maxSyl);

        private Entity? TryAdd(EntityType type, string name)
        {
            var slug = WorldGraph.Slugify(name);
            if (slug.Length == 0 || !_slugs.Add(slug)) return null;
            var e = new Entity { Id = _e.Count, Type = type, Name = name, Slug = slug };
            _e.Add(e);
            _outB.Add([]);
            return e;
        }

        private Entity Add(EntityType type, Func<int, string> name)
        {
            for (int attempt = 0; ; attempt++)
            {
                var candidate = name(attempt);
                if (attempt >= 40) candidate += " " + Roman(attempt - 38);
                var e = TryAdd(type, candidate);
                if (e is not null) return e;
            }
        }

        private static string Roman(int i) => i switch { 1 => "I", 2 => "II", 3 => "III", 4 => "IV", 5 => "V", 6 => "VI", 7 => "VII", 8 => "VIII", 9 => "IX", _ => i.ToString(CultureInfo.InvariantCulture) };

        private readonly List<List<Edge>> _outB = [];
        private void Edge(int from, string rel, int to) { var x = new Edge(from, rel, to); _edges.Add(x); _outB[from].Add(x); }
        private static string S(int v) => v.ToString(CultureInfo.InvariantCulture);
        private T Pick<T>(IReadOnlyList<T> list) => list[_r.Next(list.Count)];
        private Entity E(int id) => _e[id];
        private int Year(int id, string key) => _e[id].GetInt(key) ?? 0;

        // ---- places ----
        private void MakeCountry()
        {
            var e = Add(EntityType.Place, _ => Word(2, 3));
            e.Attributes[Attributes.Kind] = "country";
            e.Attributes[Attributes.Region] = Pick(Regions);
            e.Attributes[Attributes.Language] = Languages[_countries.Count % Languages.Length];
            e.Attributes[Attributes.Population] = S(_r.Next(3, 900) * 100_000);
            _countries.Add(e.Id);
        }

        private void MakeCity(int i)
        {
            var e = Add(EntityType.Place, _ => Pick(PlaceSuffixes) is { Length: > 0 } suffix ? Word(1, 2) + suffix : Word(2, 3));
            e.Attributes[Attributes.Kind] = "city";
            e.Attributes[Attributes.Population] = S(_r.Next(5, 3000) * 1000 + _r.Next(1000));
            e.Attributes[Attributes.FoundedYear] = S(_r.Next(600, 1850));
            int country = i < _countries.Count ? _countries[i] : Pick(_countries);
            Edge(e.Id, Relations.LocatedIn, country);
            if (i < _countries.Count) Edge(e.Id, Relations.CapitalOf, country);
            _cityCountry[e.Id] = country;
            _cities.Add(e.Id);
        }

        // ---- people ----
        private void MakePerson(string[] families)
        {
            string given = "", family = "";
            var e = Add(EntityType.Person, a =>
            {
                given = Word(2, 2); family = a < 20 ? Pick(families) : Word(2, 3);
                return $"{given} {family}";
            });
            _given[e.Id] = given; _family[e.Id] = e.Name[(e.Name.IndexOf(' ') + 1)..];
            var occ = Pick(Occupations);
            int birth = _r.Next(1700, 1961);
            int death = birth + _r.Next(38, 96);
            e.Attributes[Attributes.Occupation] = occ.Occupation;
            e.Attributes[Attributes.Field] = occ.Field;
            e.Attributes[Attributes.BirthYear] = S(birth);
            if (death <= 2024) e.Attributes[Attributes.DeathYear] = S(death);
            Edge(e.Id, Relations.BornIn, Pick(_cities));
            _people.Add(e.Id);
        }

        private int Death(int person) => Year(person, Attributes.DeathYear) is var d && d > 0 ? d : 2024;
        private bool AliveAt(int person, int year, int minAge = 18) =>
            year >= Year(person, Attributes.BirthYear) + minAge && year <= Death(person);

        public string FamilyName(int person) => _family[person];

        // ---- organisations ----
        private void MakeOrganisation()
        {
            int founder = Pick(_people);
            int birth = Year(founder, Attributes.BirthYear);
            int founded = Math.Min(Math.Min(birth + _r.Next(25, 61), Death(founder)), 2020);
            var (kind, pattern) = Pick(OrganisationKinds);
            string field = E(founder).Get(Attributes.Field)!;
            int hq = _r.NextDouble() < 0.4 ? Targets(founder, Relations.BornIn)[0] : Pick(_cities);
            var e = Add(EntityType.Organisation, a => pattern
                .Replace("{place}", a < 3 ? E(hq).Name : E(Pick(_cities)).Name)
                .Replace("{name}", a < 2 ? _family[founder] : Word(2, 3))
                .Replace("{Field}", Cap(field)));
            e.Attributes[Attributes.Kind] = kind;
            e.Attributes[Attributes.Field] = field;
            e.Attributes[Attributes.FoundedYear] = S(founded);
            e.Attributes[Attributes.Members] = S(_r.Next(12, 4000) * (kind is "company" or "university" ? 10 : 1));
            Edge(e.Id, Relations.HeadquarteredIn, hq);
            Edge(e.Id, Relations.FoundedBy, founder);
            _orgs.Add(e.Id);
        }

        private List<int> Targets(int id, string rel) => _outB[id].Where(x => x.Relation == rel).Select(x => x.To).ToList();

        private int? OrgFoundedBy(int year, Func<Entity, bool>? filter = null)
        {
            for (int t = 0; t < 25; t++)
            {
                int org = Pick(_orgs);
                if (Year(org, Attributes.FoundedYear) <= year && (filter is null || filter(E(org)))) return org;
            }
            return null;
        }

        private void LinkPeople()
        {
            var byOcc = _people.GroupBy(p => E(p).Get(Attributes.Occupation)!)
                .ToDictionary(g => g.Key, g => g.OrderBy(p => Year(p, Attributes.BirthYear)).ToArray());
            foreach (var p in _people)
            {
                int birth = Year(p, Attributes.BirthYear);
                if (_r.NextDouble() < 0.85 && OrgFoundedBy(birth + 18, x => x.Get(Attributes.Kind) is "university" or "academy") is int u)
                    Edge(p, Relations.EducatedAt, u);
                int jobs = _r.NextDouble() < 0.75 ? _r.Next(1, 3) : 0;
                var field = E(p).Get(Attributes.Field);
                var seen = new HashSet<int>();
                for (int j = 0; j < jobs; j++)
                {
                    var org = OrgFoundedBy(birth + 30, x => x.Get(Attributes.Field) == field) ?? OrgFoundedBy(birth + 30);
                    if (org is int w && seen.Add(w)) Edge(p, Relations.WorkedAt, w);
                }
                if (_r.NextDouble() < 0.4)
                {
                    var peers = byOcc[E(p).Get(Attributes.Occupation)!];
                    for (int t = 0; t < 10; t++)
                    {
                        int teacher = Pick(peers);
                        int gap = birth - Year(teacher, Attributes.BirthYear);
                        if (gap is >= 20 and <= 50 && Death(teacher) >= birth + 18) { Edge(p, Relations.StudentOf, teacher); break; }
                    }
                }
            }
            // Spouses: neighbours in birth order, some of them.
            var sorted = _people.OrderBy(p => Year(p, Attributes.BirthYear)).ThenBy(p => p).ToArray();
            for (int i = 0; i + 1 < sorted.Length; i += 2)
            {
                if (_r.NextDouble() >= 0.3) continue;
                int a = sorted[i], b = sorted[i + 1 + _r.Next(Math.Min(3, sorted.Length - i - 1))];
                if (a == b || Math.Abs(Year(a, Attributes.BirthYear) - Year(b, Attributes.BirthYear)) > 8) continue;
                if (IsMarried(a) || IsMarried(b)) continue;
                Edge(a, Relations.SpouseOf, b); Edge(b, Relations.SpouseOf, a);
                _married.Add(a); _married.Add(b);
            }
        }

        private readonly HashSet<int> _married = [];
        private bool IsMarried(int p) => _married.Contains(p);

        // ---- works ----
        private void MakeWork()
        {
            int creator;
            do creator = Pick(_people); while (OccOf(creator).Works.Length == 0);
            var occ = OccOf(creator);
            string kind = Pick(occ.Works);
            int birth = Year(creator, Attributes.BirthYear);
            int year = Math.Min(Math.Min(birth + _r.Next(20, 66), Death(creator)), 2024);
            int? setIn = _r.NextDouble() < 0.5 ? Pick(_cities) : null;
            var e = Add(EntityType.Work, a => (a % 5) switch
            {
                0 => $"The {Pick(Adjectives)} {Pick(Nouns)}",
                1 => $"{Pick(Nouns)} of {E(setIn ?? Pick(_cities)).Name}",
                2 => $"{Pick(Adjectives)} {Pick(Nouns)}",
                3 => $"The {Pick(Nouns)} of {E(Pick(_cities)).Name}",
                _ => $"{Pick(Adjectives)} {Pick(Nouns)} at {E(Pick(_cities)).Name}",
            });
            e.Attributes[Attributes.Kind] = kind;
            e.Attributes[Attributes.Year] = S(year);
            e.Attributes[Attributes.Field] = occ.Field;
            int birthCountry = _cityCountry[Targets(creator, Relations.BornIn)[0]];
            e.Attributes[Attributes.Language] = E(birthCountry).Get(Attributes.Language)!;
            Edge(e.Id, Relations.CreatedBy, creator);
            if (_r.NextDouble() < 0.6 && OrgFoundedBy(year, x => x.Get(Attributes.Kind) is "publishing house" or "university" or "museum" or "society" or "academy") is int pub)
                Edge(e.Id, Relations.PublishedBy, pub);
            if (setIn is int c) Edge(e.Id, Relations.SetIn, c);
            _works.Add(e.Id);
        }

        private (string Occupation, string Field, string[] Works, string[] Devices) OccOf(int person)
        {
            var name = E(person).Get(Attributes.Occupation);
            return Occupations.First(x => x.Occupation == name);
        }

        // ---- inventions ----
        private void MakeInvention()
        {
            int inventor;
            do inventor = Pick(_people); while (OccOf(inventor).Devices.Length == 0);
            var occ = OccOf(inventor);
            string device = Pick(occ.Devices);
            int birth = Year(inventor, Attributes.BirthYear);
            int year = Math.Min(Math.Min(birth + _r.Next(22, 61), Death(inventor)), 2024);
            var e = Add(EntityType.Invention, a => a switch
            {
                0 => $"{_family[inventor]} {device}",
                1 => $"{_given[inventor]} {_family[inventor]} {device}",
                _ => $"{Word(2, 3)} {device}",
            });
            e.Attributes[Attributes.Kind] = device;
            e.Attributes[Attributes.Year] = S(year);
            e.Attributes[Attributes.Field] = occ.Field;
            Edge(e.Id, Relations.InventedBy, inventor);
            var jobs = Targets(inventor, Relations.WorkedAt).Where(w => Year(w, Attributes.FoundedYear) <= year).ToList();
            if (jobs.Count > 0 && _r.NextDouble() < 0.8) Edge(e.Id, Relations.DevelopedAt, Pick(jobs));
            else if (_r.NextDouble() < 0.3 && OrgFoundedBy(year) is int org) Edge(e.Id, Relations.DevelopedAt, org);
            _inventions.Add(e.Id);
        }

        // ---- events ----
        private void MakeEvent()
        {
            string kind = Pick(EventKinds);
            int city = Pick(_cities);
            int year = Math.Max(_r.Next(1750, 2021), Year(city, Attributes.FoundedYear));
            string field = Pick(Occupations).Field;
            var e = Add(EntityType.Event, a =>
            {
                string c = a < 4 ? E(city).Name : E(Pick(_cities)).Name;
                return kind switch
                {
                    "conference" => $"{c} Conference on {Cap(field)} of {year}",
                    "expedition" => a % 2 == 0 ? $"{year} Expedition to {c}" : $"{Word(2, 3)} Expedition to {c}",
                    "treaty" => a < 2 ? $"Treaty of {c}" : $"Treaty of {c} of {year}",
                    "exhibition" => $"{c} {Cap(field)} Exhibition of {year}",
                    "festival" => $"{c} {Pick(Nouns)} Festival",
                    "congress" => $"{c} Congress of {Cap(field)}",
                    "regatta" => $"{c} Regatta of {year}",
                    _ => $"{year} {c} Symposium on {Cap(field)}",
                };
            });
            e.Attributes[Attributes.Kind] = kind;
            e.Attributes[Attributes.Year] = S(year);
            if (kind is "conference" or "exhibition" or "congress" or "symposium") e.Attributes[Attributes.Field] = field;
            Edge(e.Id, Relations.HeldIn, city);
            if (_r.NextDouble() < 0.6 && OrgFoundedBy(year) is int org) Edge(e.Id, Relations.OrganisedBy, org);
            int want = _r.Next(2, 7), got = 0;
            var seen = new HashSet<int>();
            for (int t = 0; t < 60 && got < want; t++)
            {
                int p = Pick(_people);
                if (AliveAt(p, year) && seen.Add(p)) { Edge(p, Relations.ParticipatedIn, e.Id); got++; }
            }
            _events.Add(e.Id);
        }

        private void LinkWorksAbout()
        {
            foreach (var w in _works)
            {
                if (_r.NextDouble() >= 0.15) continue;
                int year = Year(w, Attributes.Year);
                for (int t = 0; t < 8; t++)
                {
                    int target = _r.NextDouble() < 0.5 ? Pick(_inventions) : Pick(_events);
                    if (Year(target, Attributes.Year) < year) { Edge(w, Relations.About, target); break; }
                }
            }
        }

        private static string Cap(string s) => string.Join(' ', s.Split(' ').Select(w => w.Length == 0 ? w : char.ToUpperInvariant(w[0]) + w[1..]));
    }
}

/// <summary>A small, fast, platform-independent random generator (SplitMix64), so worlds never change across runtimes.</summary>
public sealed class WorldRandom(ulong seed)
{
    private ulong _s = seed;

    /// <summary>Next 64 random bits.</summary>
    public ulong NextUInt64()
    {
        ulong z = _s += 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }

    /// <summary>Uniform integer in [0, max).</summary>
    public int Next(int max) => max <= 0 ? 0 : (int)(NextUInt64() % (ulong)max);

    /// <summary>Uniform integer in [min, max).</summary>
    public int Next(int min, int max) => min + Next(max - min);

    /// <summary>Uniform double in [0, 1).</summary>
    public double NextDouble() => (NextUInt64() >> 11) * (1.0 / (1UL << 53));
}

/// <summary>
/// Names spelled the way the generator spells its people and places (two or three syllables a word, capitalised), drawn
/// fresh: a name no world need contain. Copy drills built on them cannot be solved by remembering names, only by copying.
/// </summary>
public static class WorldNames
{
    /// <summary>A name of <paramref name="minWords"/> to <paramref name="maxWords"/> words of two or three syllables, drawn with <paramref name="rng"/>.</summary>
    public static string Draw(Random rng, int minWords = 1, int maxWords = 2) =>
        string.Join(' ', Enumerable.Range(0, rng.Next(minWords, maxWords + 1)).Select(_ => Word(rng.Next, 2, 3)));

    /// <summary>
    /// One capitalised word of <paramref name="minSyl"/> to <paramref name="maxSyl"/> syllables; <paramref name="between"/>
    /// draws an integer in [min, max). The generator's own spelling of names (its random source is passed in).
    /// </summary>
    internal static string Word(Func<int, int, int> between, int minSyl, int maxSyl)
    {
        int k = between(minSyl, maxSyl + 1);
        var s = string.Concat(Enumerable.Range(0, k).Select(_ => WorldVocabulary.Syllables[between(0, WorldVocabulary.Syllables.Length)]));
        return char.ToUpperInvariant(s[0]) + s[1..];
    }
}

