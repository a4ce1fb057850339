namespace Quest.World.Generation;

/// <summary>Word lists the world generator draws from (fictional names; real occupations and fields).</summary>
internal static class WorldVocabulary
{
    public static readonly string[] Syllables =
    [
        "ka", "ve", "lo", "ran", "tel", "mi", "sor", "da", "ni", "vor", "el", "thu", "ber", "as", "qui", "len",
        "mar", "os", "tri", "gal", "fen", "ru", "sha", "dor", "wi", "ko", "zan", "bel", "ith", "or", "pa", "lin",
        "ha", "mer", "ca", "sel", "no", "var", "ul", "te", "bri", "an", "ska", "ro", "ves", "ul", "ti", "go",
        "ler", "am", "fi", "dra", "hol", "ne", "zu", "cor", "ma", "ys", "pel", "ar", "tor", "se", "vin", "lu",
    ];

    public static readonly string[] PlaceSuffixes =
        ["", "", "", "haven", "mere", "ford", "holm", "stad", "vik", "bridge", "port", "dale", "wick", "gard", "by"];

    public static readonly string[] Regions =
    [
        "the Northern Reach", "the Amber Coast", "the Inner Steppe", "the Southern Isles", "the Western Marches",
        "the Lake Country", "the High Plateau", "the Eastern Archipelago",
    ];

    /// <summary>Occupation → (field, kinds of works such a person makes, kinds of inventions).</summary>
    public static readonly (string Occupation, string Field, string[] Works, string[] Devices)[] Occupations =
    [
        ("astronomer", "astronomy", ["treatise", "star atlas", "monograph"], ["telescope", "orrery", "star sextant", "heliograph"]),
        ("cartographer", "cartography", ["atlas", "survey", "treatise"], ["theodolite", "map projection", "chronometer"]),
        ("composer", "music", ["symphony", "opera", "string quartet", "song cycle"], []),
        ("painter", "painting", ["painting", "fresco", "triptych"], []),
        ("sculptor", "sculpture", ["sculpture", "monument"], []),
        ("novelist", "literature", ["novel", "novella", "short-story collection"], []),
        ("poet", "poetry", ["poem cycle", "verse collection", "epic poem"], []),
        ("philosopher", "philosophy", ["treatise", "dialogue", "essay"], []),
        ("historian", "history", ["chronicle", "history", "monograph"], []),
        ("linguist", "linguistics", ["grammar", "dictionary", "monograph"], ["phonetic alphabet"]),
        ("mathematician", "mathematics", ["treatise", "monograph"], ["calculating engine", "slide rule"]),
        ("physicist", "physics", ["treatise", "monograph"], ["electrometer", "induction coil", "vacuum pump", "spectroscope"]),
        ("chemist", "chemistry", ["treatise", "handbook"], ["distillation column", "dye process", "battery cell", "glass furnace"]),
        ("physician", "medicine", ["handbook", "treatise"], ["stethoscope", "vaccine", "surgical lamp"]),
        ("botanist", "botany", ["herbarium", "flora", "monograph"], ["seed drill", "greenhouse heater"]),
        ("geologist", "geology", ["survey", "monograph"], ["seismograph", "rock drill"]),
        ("engineer", "engineering", ["handbook", "treatise"], ["steam engine", "suspension bridge design", "turbine", "water pump", "signal telegraph", "loom"]),
        ("architect", "architecture", ["pattern book", "treatise"], ["vaulting method", "prefabricated panel"]),
        ("explorer", "geography", ["travelogue", "expedition journal"], ["diving bell", "sledge stove"]),
        ("economist", "economics", ["treatise", "essay"], ["ledger system"]),
        ("film director", "film", ["film", "documentary"], ["camera dolly"]),
        ("shipbuilder", "navigation", ["handbook"], ["hull design", "ship's log", "lighthouse lens"]),
    ];

    public static readonly (string Kind, string Pattern)[] OrganisationKinds =
    [
        ("university", "University of {place}"),
        ("university", "{name} University"),
        ("society", "{place} Society for {Field}"),
        ("company", "{name} & Co."),
        ("company", "{name} Works"),
        ("observatory", "{name} Observatory"),
        ("laboratory", "{name} Laboratory of {Field}"),
        ("academy", "{place} Academy of {Field}"),
        ("museum", "{place} Museum of {Field}"),
        ("publishing house", "{name} Press"),
    ];

    public static readonly string[] EventKinds =
        ["conference", "expedition", "treaty", "exhibition", "festival", "congress", "regatta", "symposium"];

    public static readonly string[] Adjectives =
    [
        "Quiet", "Silver", "Hollow", "Northern", "Last", "Burning", "Patient", "Distant", "Golden", "Winter",
        "Broken", "Hidden", "Crimson", "Wandering", "Second", "Lesser", "Bright", "Salt", "Iron", "Amber",
        "Sleeping", "Open", "Tidal", "Glass", "Long", "Green", "Slow", "Empty", "Restless", "Evening",
    ];

    public static readonly string[] Nouns =
    [
        "Tide", "Harbour", "Lantern", "Orchard", "Meridian", "Compass", "Garden", "River", "Archive", "Tower",
        "Voyage", "Winter", "Bell", "Mirror", "Field", "Mountain", "Circle", "Signal", "Island", "Clockwork",
        "Crossing", "Shore", "Letters", "Horizon", "Forest", "Engine", "Threshold", "Chorus", "Season", "Map",
    ];

    public static readonly string[] Languages =
        ["Osmaran", "Velic", "Korthish", "Tarrin", "Amberese", "Sollan", "Ithric", "Marren"];
}
