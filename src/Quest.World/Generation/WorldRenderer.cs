using System.Globalization;
using System.Text;
using Quest.World.Corpus;

namespace Quest.World.Generation;

/// <summary>
/// Renders a <see cref="WorldGraph"/> as encyclopedia pages: a prose article whose sentences state every fact
/// of the entity (with inline links to the related pages), lists of notable incoming relations (people born in a
/// city, members of an organisation, …) and a short "Facts" box. Page i is entity i.
/// </summary>
internal static class WorldRenderer
{
    /// <summary>How many incoming items a page lists per relation before "and N more".</summary>
    public const int MaxListed = 12;

    /// <summary>Renders every entity's page.</summary>
    public static Page[] Render(WorldGraph g, CancellationToken ct = default)
    {
        var pages = new Page[g.Entities.Count];
        var sb = new StringBuilder(4096);
        for (int i = 0; i < pages.Length; i++)
        {
            if ((i & 1023) == 0) ct.ThrowIfCancellationRequested();
            pages[i] = RenderOne(g, g[i], sb);
        }
        return pages;
    }

    /// <summary>Renders one entity's page.</summary>
    public static Page Render(WorldGraph g, int id) => RenderOne(g, g[id], new StringBuilder(4096));

    private static Page RenderOne(WorldGraph g, Entity e, StringBuilder sb)
    {
        sb.Clear();
        var links = new List<string>();
        var seen = new HashSet<int>();
        string L(int id)
        {
            var t = g[id];
            if (seen.Add(id)) links.Add(t.Url);
            return Markdown.Link(t.Name, t.Url);
        }
        string? Y(string key) => e.Get(key);
        var facts = new List<(string, string)>();

        switch (e.Type)
        {
            case EntityType.Person:
            {
                string sur = Surname(e.Name);
                string occ = e.Get(Attributes.Occupation)!;
                int born = g.Outgoing(e.Id, Relations.BornIn)[0].To;
                int country = g.Outgoing(born, Relations.LocatedIn)[0].To;
                string life = Y(Attributes.DeathYear) is { } d ? $"{Y(Attributes.BirthYear)}–{d}" : $"born {Y(Attributes.BirthYear)}";
                sb.Append($"**{e.Name}** ({life}) was {Article(occ)} {occ} from {L(country)}, known for work in {e.Get(Attributes.Field)}. ");
                sb.Append($"{sur} was born in {Y(Attributes.BirthYear)} in {L(born)}.");
                foreach (var u in g.Targets(e.Id, Relations.EducatedAt)) sb.Append($" {sur} studied at the {L(u.Id)}.");
                var jobs = g.Targets(e.Id, Relations.WorkedAt).ToList();
                if (jobs.Count > 0) sb.Append($" {sur} later worked at {Join(jobs.Select(j => "the " + L(j.Id)))}.");
                foreach (var t in g.Targets(e.Id, Relations.StudentOf)) sb.Append($" {sur} was a student of the {t.Get(Attributes.Occupation)} {L(t.Id)}.");
                foreach (var s in g.Targets(e.Id, Relations.SpouseOf)) sb.Append($" {sur} was married to {L(s.Id)}.");
                sb.Append("\n\n");
                var founded = g.Sources(e.Id, Relations.FoundedBy).ToList();
                foreach (var o in founded) sb.Append($"In {o.Get(Attributes.FoundedYear)}, {sur} founded the {L(o.Id)}, {Article(o.Get(Attributes.Kind)!)} {o.Get(Attributes.Kind)} in {L(g.Outgoing(o.Id, Relations.HeadquarteredIn)[0].To)}. ");
                var works = g.Sources(e.Id, Relations.CreatedBy).OrderBy(w => w.GetInt(Attributes.Year)).ToList();
                if (works.Count > 0)
                    sb.Append($"Works by {sur} include {Join(works.Take(MaxListed).Select(w => $"{L(w.Id)} ({Article(w.Get(Attributes.Kind)!)} {w.Get(Attributes.Kind)}, {w.Get(Attributes.Year)})"))}. ");
                foreach (var inv in g.Sources(e.Id, Relations.InventedBy).OrderBy(w => w.GetInt(Attributes.Year)))
                    sb.Append($"In {inv.Get(Attributes.Year)}, {sur} invented the {L(inv.Id)}. ");
                var evs = g.Targets(e.Id, Relations.ParticipatedIn).OrderBy(w => w.GetInt(Attributes.Year)).ToList();
                if (evs.Count > 0) sb.Append($"{sur} took part in {Join(evs.Select(v => v.Name.Contains(v.Get(Attributes.Year)!) ? $"the {L(v.Id)}" : $"the {L(v.Id)} ({v.Get(Attributes.Year)})"))}. ");
                var students = g.Sources(e.Id, Relations.StudentOf).ToList();
                if (students.Count > 0) sb.Append($"Students of {sur} included {ListWithMore(students, s => L(s.Id))}. ");
                sb.Append(Y(Attributes.DeathYear) is { } dy ? $"{sur} died in {dy}." : $"{sur} is still alive.");
                facts.Add(("Born", $"{Y(Attributes.BirthYear)}, {L(born)}"));
                if (Y(Attributes.DeathYear) is { } dd) facts.Add(("Died", dd));
                facts.Add(("Occupation", occ));
                facts.Add(("Field", e.Get(Attributes.Field)!));
                break;
            }
            case EntityType.Organisation:
            {
                string kind = Y(Attributes.Kind)!;
                int hq = g.Outgoing(e.Id, Relations.HeadquarteredIn)[0].To;
                var founder = g.Targets(e.Id, Relations.FoundedBy).First();
                sb.Append($"The **{e.Name}** is {Article(kind)} {kind} of {Y(Attributes.Field)} based in {L(hq)}, {L(g.Outgoing(hq, Relations.LocatedIn)[0].To)}. ");
                sb.Append($"It was founded in {Y(Attributes.FoundedYear)} by the {founder.Get(Attributes.Occupation)} {L(founder.Id)} and has about {Num(Y(Attributes.Members)!)} {(kind is "company" ? "employees" : "members")}.");
                sb.Append("\n\n");
                var alumni = g.Sources(e.Id, Relations.EducatedAt).ToList();
                if (alumni.Count > 0) sb.Append($"Alumni include {ListWithMore(alumni, a => L(a.Id))}. ");
                var staff = g.Sources(e.Id, Relations.WorkedAt).ToList();
                if (staff.Count > 0) sb.Append($"People who worked here include {ListWithMore(staff, a => L(a.Id))}. ");
                var inv = g.Sources(e.Id, Relations.DevelopedAt).ToList();
                if (inv.Count > 0) sb.Append($"The {ListWithMore(inv, a => L(a.Id))} {(inv.Count == 1 ? "was" : "were")} developed here. ");
                var pub = g.Sources(e.Id, Relations.PublishedBy).ToList();
                if (pub.Count > 0) sb.Append($"It published {ListWithMore(pub, a => $"{L(a.Id)} ({a.Get(Attributes.Year)})")}. ");
                var org = g.Sources(e.Id, Relations.OrganisedBy).ToList();
                if (org.Count > 0) sb.Append($"It organised the {ListWithMore(org, a => L(a.Id))}.");
                facts.Add(("Type", kind)); facts.Add(("Founded", Y(Attributes.FoundedYear)!)); facts.Add(("Headquarters", L(hq)));
                facts.Add(("Field", Y(Attributes.Field)!)); facts.Add((kind is "company" ? "Employees" : "Members", Num(Y(Attributes.Members)!)));
                break;
            }
            case EntityType.Place when Y(Attributes.Kind) == "country":
            {
                var cities = g.Sources(e.Id, Relations.LocatedIn).ToList();
                var capital = g.Sources(e.Id, Relations.CapitalOf).FirstOrDefault();
                sb.Append($"**{e.Name}** is a country in {Y(Attributes.Region)} with a population of about {Num(Y(Attributes.Population)!)}. ");
                sb.Append($"Its official language is {Y(Attributes.Language)}.");
                if (capital is not null) sb.Append($" The capital is {L(capital.Id)}.");
                sb.Append("\n\n");
                var big = cities.OrderByDescending(c => c.GetInt(Attributes.Population)).ToList();
                if (big.Count > 0) sb.Append($"Its cities include {ListWithMore(big, c => L(c.Id))}.");
                facts.Add(("Type", "country")); facts.Add(("Region", Y(Attributes.Region)!));
                facts.Add(("Population", Num(Y(Attributes.Population)!))); facts.Add(("Language", Y(Attributes.Language)!));
                if (capital is not null) facts.Add(("Capital", L(capital.Id)));
                break;
            }
            case EntityType.Place:
            {
                int country = g.Outgoing(e.Id, Relations.LocatedIn)[0].To;
                bool isCapital = g.Outgoing(e.Id, Relations.CapitalOf).Count > 0;
                sb.Append($"**{e.Name}** is a city in {L(country)}{(isCapital ? ", of which it is the capital" : "")}. ");
                sb.Append($"It was founded in {Y(Attributes.FoundedYear)} and has a population of {Num(Y(Attributes.Population)!)}.");
                sb.Append("\n\n");
                var born = g.Sources(e.Id, Relations.BornIn).ToList();
                if (born.Count > 0) sb.Append($"People born in {e.Name} include {ListWithMore(born, c => L(c.Id))}. ");
                var orgs = g.Sources(e.Id, Relations.HeadquarteredIn).ToList();
                if (orgs.Count > 0) sb.Append($"{e.Name} is home to the {ListWithMore(orgs, c => L(c.Id))}. ");
                var evs = g.Sources(e.Id, Relations.HeldIn).OrderBy(v => v.GetInt(Attributes.Year)).ToList();
                if (evs.Count > 0) sb.Append($"Events held here include the {ListWithMore(evs, c => c.Name.Contains(c.Get(Attributes.Year)!) ? L(c.Id) : $"{L(c.Id)} ({c.Get(Attributes.Year)})")}. ");
                var works = g.Sources(e.Id, Relations.SetIn).ToList();
                if (works.Count > 0) sb.Append($"{ListWithMore(works, c => L(c.Id))} {(works.Count == 1 ? "is" : "are")} set in {e.Name}.");
                facts.Add(("Type", "city")); facts.Add(("Country", L(country))); facts.Add(("Founded", Y(Attributes.FoundedYear)!));
                facts.Add(("Population", Num(Y(Attributes.Population)!)));
                break;
            }
            case EntityType.Work:
            {
                string kind = Y(Attributes.Kind)!;
                var creator = g.Targets(e.Id, Relations.CreatedBy).First();
                sb.Append($"*{e.Name}* is {Article(kind)} {kind} by the {creator.Get(Attributes.Occupation)} {L(creator.Id)}, completed in {Y(Attributes.Year)} and written in {Y(Attributes.Language)}. ");
                foreach (var p in g.Targets(e.Id, Relations.PublishedBy)) sb.Append($"It was published by the {L(p.Id)}. ");
                foreach (var c in g.Targets(e.Id, Relations.SetIn)) sb.Append($"The {kind} is set in {L(c.Id)}. ");
                foreach (var a in g.Targets(e.Id, Relations.About)) sb.Append($"Its subject is the {L(a.Id)} ({a.Get(Attributes.Year)}). ");
                sb.Append($"\n\nIt is counted among the notable works of {Surname(creator.Name)} in {Y(Attributes.Field)}.");
                facts.Add(("Type", kind)); facts.Add(("Creator", L(creator.Id))); facts.Add(("Year", Y(Attributes.Year)!));
                facts.Add(("Language", Y(Attributes.Language)!));
                break;
            }
            case EntityType.Invention:
            {
                var inventor = g.Targets(e.Id, Relations.InventedBy).First();
                sb.Append($"The **{e.Name}** is {Article(Y(Attributes.Kind)!)} {Y(Attributes.Kind)} invented in {Y(Attributes.Year)} by the {inventor.Get(Attributes.Occupation)} {L(inventor.Id)}. ");
                foreach (var d in g.Targets(e.Id, Relations.DevelopedAt)) sb.Append($"It was developed at the {L(d.Id)}. ");
                var about = g.Sources(e.Id, Relations.About).ToList();
                if (about.Count > 0) sb.Append($"It is the subject of {ListWithMore(about, a => L(a.Id))}.");
                sb.Append($"\n\nThe invention belongs to the history of {Y(Attributes.Field)}.");
                facts.Add(("Type", Y(Attributes.Kind)!)); facts.Add(("Inventor", L(inventor.Id))); facts.Add(("Year", Y(Attributes.Year)!));
                break;
            }
            case EntityType.Event:
            {
                string kind = Y(Attributes.Kind)!;
                int city = g.Outgoing(e.Id, Relations.HeldIn)[0].To;
                sb.Append($"The **{e.Name}** was {Article(kind)} {kind} held in {L(city)}, {L(g.Outgoing(city, Relations.LocatedIn)[0].To)}, in {Y(Attributes.Year)}. ");
                foreach (var o in g.Targets(e.Id, Relations.OrganisedBy)) sb.Append($"It was organised by the {L(o.Id)}. ");
                var ps = g.Sources(e.Id, Relations.ParticipatedIn).ToList();
                if (ps.Count > 0) sb.Append($"Participants included {ListWithMore(ps, p => $"the {p.Get(Attributes.Occupation)} {L(p.Id)}")}. ");
                var about = g.Sources(e.Id, Relations.About).ToList();
                if (about.Count > 0) sb.Append($"It is the subject of {ListWithMore(about, a => L(a.Id))}.");
                facts.Add(("Type", kind)); facts.Add(("Year", Y(Attributes.Year)!)); facts.Add(("Location", L(city)));
                break;
            }
        }

        while (sb.Length > 0 && char.IsWhiteSpace(sb[^1])) sb.Length--;
        sb.Append("\n\n## Facts\n");
        foreach (var (k, v) in facts) sb.Append("- ").Append(k).Append(": ").Append(v).Append('\n');
        var kindAttr = e.Get(Attributes.Kind);
        var factDict = new Dictionary<string, string>(e.Attributes, StringComparer.Ordinal) { ["type"] = e.Type.ToString().ToLowerInvariant() };
        return new Page
        {
            Url = e.Url, Title = e.Name, Text = sb.ToString().Replace("\n\n\n\n", "\n\n").TrimEnd() + "\n", Links = links,
            Category = e.Type.ToString().ToLowerInvariant(), Facts = factDict,
        };
    }

    /// <summary>The family name of a person's full name (everything after the first word).</summary>
    public static string Surname(string name) { int i = name.IndexOf(' '); return i < 0 ? name : name[(i + 1)..]; }

    private static string Article(string word) =>
        word.StartsWith("uni", StringComparison.OrdinalIgnoreCase) || word.StartsWith("eu", StringComparison.OrdinalIgnoreCase) ? "a"
        : word.Length > 0 && "aeiouAEIOU".Contains(word[0]) ? "an" : "a";

    private static string Num(string n) => long.TryParse(n, out var v) ? v.ToString("N0", CultureInfo.InvariantCulture) : n;

    private static string Join(IEnumerable<string> items)
    {
        var l = items.ToList();
        return l.Count switch { 0 => "", 1 => l[0], 2 => $"{l[0]} and {l[1]}", _ => string.Join(", ", l.Take(l.Count - 1)) + " and " + l[^1] };
    }

    // Formats at most MaxListed items (so only listed items become links) and says how many more there are.
    private static string ListWithMore<T>(IReadOnlyList<T> items, Func<T, string> format)
    {
        if (items.Count <= MaxListed) return Join(items.Select(format));
        return string.Join(", ", items.Take(MaxListed).Select(format)) + $" and {items.Count - MaxListed} more";
    }
}
