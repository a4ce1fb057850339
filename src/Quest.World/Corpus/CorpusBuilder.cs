using System.Globalization;
using Quest.Core;
using Quest.World.Generation;

namespace Quest.World.Corpus;

/// <summary>
/// Builds a corpus from a spec, the way <c>quest corpus build SPEC</c> reads it:
/// <c>world</c> (20,000 generated pages, seed 42), <c>world:SIZE</c>, <c>foldoc</c>, <c>jargon</c>, a
/// <c>.jsonl</c> file, or a directory holding dictd files (<c>foldoc.index</c>/<c>jargon.index</c>).
/// </summary>
public static class CorpusBuilder
{
    /// <summary>Pages of the default world.</summary>
    public const int DefaultWorldPages = 20_000;

    /// <summary>The corpus name a spec is stored under (world → world, world:5000 → world-5000, x.jsonl → x).</summary>
    public static string DefaultName(string spec, int? pages = null, int? seed = null)
    {
        var s = spec.Trim();
        if (IsWorld(s, out var size))
        {
            int n = pages ?? size ?? DefaultWorldPages;
            var name = n == DefaultWorldPages ? "world" : $"world-{n}";
            return seed is null or 42 ? name : $"{name}-s{seed}";
        }
        if (s.Equals("foldoc", StringComparison.OrdinalIgnoreCase) || s.Equals("jargon", StringComparison.OrdinalIgnoreCase)) return s.ToLowerInvariant();
        return CorpusStore.SafeName(Path.GetFileNameWithoutExtension(s.TrimEnd('/')));
    }

    /// <summary>Builds the corpus for <paramref name="spec"/> (not stored).</summary>
    public static PageCorpus Build(string spec, string? name = null, int? pages = null, int? seed = null, ImportOptions? import = null)
    {
        var s = spec.Trim();
        name ??= DefaultName(s, pages, seed);
        import = (import ?? new()) with { Name = name };
        if (IsWorld(s, out var size))
        {
            var w = WorldGenerator.Generate(new WorldOptions { Pages = pages ?? size ?? DefaultWorldPages, Seed = seed ?? 42, Name = name });
            import.Progress?.Report(1.0);
            return w.Corpus;
        }
        foreach (var flavor in new[] { DictdFlavor.Foldoc, DictdFlavor.Jargon })
        {
            if (!s.Equals(DictdImporter.BaseName(flavor), StringComparison.OrdinalIgnoreCase)) continue;
            var dir = DictdSources.Locate(flavor) ?? throw new QuestInputException(null, null, null,
                $"{DictdImporter.DebianPackage(flavor)} files not found in {string.Join(", ", DictdSources.SearchPath())}",
                $"`quest corpus fetch {DictdImporter.BaseName(flavor)}` first (needs apt-get), or set QUEST_DICTD_DIR to a directory with {DictdImporter.BaseName(flavor)}.index and .dict.dz");
            return DictdImporter.ImportDirectory(flavor, dir, import);
        }
        if (Directory.Exists(s))
        {
            foreach (var flavor in new[] { DictdFlavor.Foldoc, DictdFlavor.Jargon })
                if (File.Exists(Path.Combine(s, DictdImporter.BaseName(flavor) + ".index")))
                    return DictdImporter.ImportDirectory(flavor, s, import);
            throw new QuestInputException(s, null, null, "directory holds no foldoc.index or jargon.index", "a dictd directory, a .jsonl file, world, world:SIZE, foldoc or jargon");
        }
        if (File.Exists(s)) return JsonlImporter.Import(s, import);
        throw new QuestInputException(s, null, null, "unknown corpus", "world, world:SIZE, foldoc, jargon, a .jsonl file or a dictd directory");
    }

    /// <summary>Builds and stores the corpus (atomically); returns it and its directory.</summary>
    public static (PageCorpus Corpus, string Directory) BuildAndStore(string spec, string? name = null, int? pages = null, int? seed = null, ImportOptions? import = null)
    {
        var c = Build(spec, name, pages, seed, import);
        return (c, CorpusStore.Save(c));
    }

    private static bool IsWorld(string s, out int? size)
    {
        size = null;
        if (s.Equals("world", StringComparison.OrdinalIgnoreCase)) return true;
        if (!s.StartsWith("world:", StringComparison.OrdinalIgnoreCase)) return false;
        var v = s[6..].Trim().ToLowerInvariant();
        int mult = v.EndsWith('k') ? 1000 : 1;
        if (!int.TryParse(v.TrimEnd('k'), NumberStyles.Integer, CultureInfo.InvariantCulture, out var n) || n * mult < 50)
            throw new QuestInputException(null, null, null, $"bad world size '{s[6..]}'", "world:SIZE with SIZE ≥ 50 (e.g. world:2000 or world:100k)");
        size = n * mult;
        return true;
    }
}
