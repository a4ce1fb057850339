using System.Globalization;
using Quest.Core;
using Quest.World.Generation;

namespace Quest.World.Corpus;

/// <summary>
/// Builds a corpus from a spec, the way <c>quest corpus build SPEC</c> reads it: <c>world</c> (20,000 generated
/// pages, seed 42), <c>world-tiny</c> (300), <c>world-small</c> (2,000), <c>world:SIZE[:SEED]</c>, <c>foldoc</c>,
/// <c>jargon</c>, a <c>.jsonl</c> file, or a directory holding dictd files (<c>foldoc.index</c>/<c>jargon.index</c>).
/// <see cref="Resolve"/> is the one place a <c>--corpus</c> name becomes a stored corpus, for every command.
/// </summary>
public static class CorpusBuilder
{
    /// <summary>Pages of the default world.</summary>
    public const int DefaultWorldPages = 20_000;

    /// <summary>Named generated worlds and their sizes (seed 42).</summary>
    public static readonly IReadOnlyDictionary<string, int> NamedWorlds = new Dictionary<string, int>(StringComparer.OrdinalIgnoreCase)
    {
        ["world"] = DefaultWorldPages, ["world-tiny"] = WorldOptions.Tiny.Pages, ["world-small"] = WorldOptions.Small.Pages,
    };

    private static readonly object ResolveLock = new();

    /// <summary>
    /// The stored corpus directory for a <c>--corpus</c> value, the same for every command (search, visit, ask,
    /// rollout, synth, eval, train): a corpus directory, a stored corpus name, or a generated-world spec
    /// (<c>world</c>, <c>world-tiny</c>, <c>world-small</c>, <c>world:SIZE[:SEED]</c>), which is generated and stored
    /// under its <see cref="DefaultName"/> on first use (reported to <paramref name="log"/>). Anything else throws
    /// <see cref="QuestInputException"/>.
    /// </summary>
    public static string Resolve(string nameOrDir, TextWriter? log = null, CancellationToken ct = default)
    {
        if (string.IsNullOrWhiteSpace(nameOrDir)) throw new QuestInputException("--corpus", null, null, "empty corpus name", Expected);
        if (CorpusStore.IsCorpusDirectory(nameOrDir)) return nameOrDir;
        var s = nameOrDir.Trim();
        if (!IsGeneratedWorld(s))
        {
            if (CorpusStore.Exists(s)) return CorpusStore.DirectoryFor(s);
            throw new QuestInputException(nameOrDir, null, null, "no stored corpus with this name", Expected);
        }
        var name = DefaultName(s);
        lock (ResolveLock)
        {
            if (CorpusStore.Exists(name)) return CorpusStore.DirectoryFor(name);
            log?.WriteLine($"quest: generating the corpus '{name}' (first use; stored under {CorpusStore.DirectoryFor(name)})…");
            try { return BuildAndStore(s, ct: ct).Directory; }
            catch (IOException) when (CorpusStore.Exists(name)) { return CorpusStore.DirectoryFor(name); } // another process stored it first
        }
    }

    private const string Expected = "a corpus from `quest corpus build` (e.g. foldoc) or its directory, or world, world-tiny, world-small, world:SIZE[:SEED]";

    /// <summary>Whether <paramref name="spec"/> names a generated world (built on demand by <see cref="Resolve"/>).</summary>
    public static bool IsGeneratedWorld(string spec) => NamedWorlds.ContainsKey(spec.Trim()) || spec.Trim().StartsWith("world:", StringComparison.OrdinalIgnoreCase);

    /// <summary>The corpus name a spec is stored under (world → world, world-tiny → world-tiny, world:5000 → world-5000, world:5000:7 → world-5000-s7, x.jsonl → x).</summary>
    public static string DefaultName(string spec, int? pages = null, int? seed = null)
    {
        var s = spec.Trim();
        if (IsWorld(s, out var size, out var specSeed))
        {
            seed ??= specSeed;
            string name;
            if (pages is null && NamedWorlds.ContainsKey(s)) name = s.ToLowerInvariant();
            else { int n = pages ?? size ?? DefaultWorldPages; name = n == DefaultWorldPages ? "world" : $"world-{n}"; }
            return seed is null or 42 ? name : $"{name}-s{seed}";
        }
        if (s.Equals("foldoc", StringComparison.OrdinalIgnoreCase) || s.Equals("jargon", StringComparison.OrdinalIgnoreCase)) return s.ToLowerInvariant();
        return CorpusStore.SafeName(Path.GetFileNameWithoutExtension(s.TrimEnd('/')));
    }

    /// <summary>Builds the corpus for <paramref name="spec"/> (not stored).</summary>
    public static PageCorpus Build(string spec, string? name = null, int? pages = null, int? seed = null, ImportOptions? import = null, CancellationToken ct = default)
    {
        var s = spec.Trim();
        name ??= DefaultName(s, pages, seed);
        import = (import ?? new()) with { Name = name };
        if (IsWorld(s, out var size, out var specSeed))
        {
            var w = WorldGenerator.Generate(new WorldOptions { Pages = pages ?? size ?? DefaultWorldPages, Seed = seed ?? specSeed ?? 42, Name = name }, ct);
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
    public static (PageCorpus Corpus, string Directory) BuildAndStore(string spec, string? name = null, int? pages = null, int? seed = null, ImportOptions? import = null, CancellationToken ct = default)
    {
        var c = Build(spec, name, pages, seed, import, ct);
        return (c, CorpusStore.Save(c));
    }

    private static bool IsWorld(string s, out int? size, out int? seed)
    {
        size = null; seed = null;
        if (NamedWorlds.TryGetValue(s, out var named)) { size = named; return true; }
        if (!s.StartsWith("world:", StringComparison.OrdinalIgnoreCase)) return false;
        var parts = s[6..].Trim().ToLowerInvariant().Split(':');
        var v = parts[0];
        long mult = v.EndsWith('k') ? 1000 : 1;
        string expected = $"world:SIZE[:SEED] with SIZE from {WorldOptions.MinPages} to {WorldOptions.MaxPages:N0} pages (e.g. world:2000, world:100k or world:300:7)";
        if (parts.Length > 2 || !long.TryParse(v.TrimEnd('k'), NumberStyles.Integer, CultureInfo.InvariantCulture, out var n)
            || (parts.Length == 2 && !int.TryParse(parts[1], NumberStyles.Integer, CultureInfo.InvariantCulture, out _)))
            throw new QuestInputException(s, null, null, $"bad world spec '{s}'", expected);
        if (n > WorldOptions.MaxPages || n * mult > WorldOptions.MaxPages || n * mult < WorldOptions.MinPages)   // n ≤ MaxPages first: n × 1000 cannot overflow
            throw new QuestInputException(s, null, null, $"a world of {(n > WorldOptions.MaxPages ? n.ToString(CultureInfo.InvariantCulture) + (mult > 1 ? "k" : "") : (n * mult).ToString("N0", CultureInfo.InvariantCulture))} pages is out of bounds", expected);
        size = (int)(n * mult);
        if (parts.Length == 2) seed = int.Parse(parts[1], CultureInfo.InvariantCulture);
        return true;
    }
}
