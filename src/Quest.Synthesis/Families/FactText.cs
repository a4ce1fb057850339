using Quest.World.Graph;

namespace Quest.Synthesis.Families;

/// <summary>Question/answer phrasing shared by the built-in families.</summary>
public static class FactText
{
    /// <summary>Plural of a type noun for list questions.</summary>
    public static string Plural(string noun) => noun switch
    {
        "person" => "people",
        "city" => "cities",
        "country" => "countries",
        "company" => "companies",
        "society" => "societies",
        "academy" => "academies",
        "term" => "terms",
        _ when noun.EndsWith('y') && !noun.EndsWith("ey") => noun[..^1] + "ies",
        _ when noun.EndsWith('s') || noun.EndsWith("ch") || noun.EndsWith("sh") => noun + "es",
        _ => noun + "s",
    };

    /// <summary>A relation phrase with a plural subject ("was born in" → "were born in", "refers to" → "refer to").</summary>
    public static string PluralVerb(string phrase)
    {
        var words = phrase.Split(' ');
        words[0] = words[0] switch
        {
            "was" => "were", "is" => "are", "has" => "have",
            var w when w.EndsWith("ies") && w.Length > 4 => w[..^3] + "y",
            var w when w.EndsWith("es") && (w.EndsWith("shes") || w.EndsWith("ches") || w.EndsWith("sses")) => w[..^2],
            var w when w.EndsWith('s') && !w.EndsWith("ss") && w.Length > 2 => w[..^1],
            var w => w,
        };
        return string.Join(' ', words);
    }

    /// <summary>A question about one fact of a named/described subject ("in which year was it founded").</summary>
    public static string AskFact(KnowledgeGraph g, int id, KgFact f)
    {
        var e = g[id];
        if (f.IsRelation)
        {
            var t = g[f.Target];
            return $"which {t.Noun} it {g.RelationPhrase(f.Key)}";
        }
        return f.Key switch
        {
            "birth_year" => "in which year it was born",
            "death_year" => "in which year it died",
            "founded_year" => "in which year it was founded",
            "year" => e.Type switch { "work" => "in which year it was completed", "invention" => "in which year it was invented", "event" => "in which year it took place", _ => "which year its entry is dated" },
            "occupation" => "what its occupation was",
            "field" => "which field it is associated with",
            "kind" => $"what kind of {e.Type} it is",
            "region" => "which region it lies in",
            "language" => e.Type == "work" ? "which language it was written in" : "what its official language is",
            _ => $"its {f.Key.Replace('_', ' ')}",
        };
    }

    /// <summary>The value of a fact as text (entity name or attribute value).</summary>
    public static string Value(KnowledgeGraph g, KgFact f) => f.IsRelation ? g[f.Target].Name : f.Value;

    /// <summary>The sentence to cite for a fact: the subject page's own sentence stating the value when there is one, else the templated fact sentence.</summary>
    public static string Claim(KnowledgeGraph g, int id, KgFact f) =>
        g.EvidenceSentence(id, Value(g, f)) is { } s ? EnsurePeriod(s) : g.FactSentence(id, f);

    /// <summary>Adds a final period when missing.</summary>
    public static string EnsurePeriod(string s) => s.TrimEnd().EndsWith('.') ? s.TrimEnd() : s.TrimEnd() + ".";

    /// <summary>An "a/an noun that …" description from facts.</summary>
    public static string Describe(KnowledgeGraph g, int id, IReadOnlyList<KgFact> facts) =>
        $"the {g[id].Noun} that " + FamilyKit.JoinAnd(facts.Select(f => g.FactClause(id, f)!).ToList());
}
