using System.Text;
using System.Text.Json;
using Quest.Core;

namespace Quest.World.Corpus;

/// <summary>
/// Corpora on disk: one directory per corpus (by default <c>data/artifacts/corpora/NAME</c>) holding
/// <c>pages.jsonl</c> (one <see cref="Page"/> per line), <c>manifest.json</c> (<see cref="CorpusInfo"/>) and, once
/// searched, the Lucene index under <c>index/</c>. A corpus is written atomically (a whole new directory swapped
/// in), so readers see the old corpus or the new one, never half of one.
/// </summary>
public static class CorpusStore
{
    /// <summary>File name of the pages.</summary>
    public const string PagesFile = "pages.jsonl";
    /// <summary>File name of the manifest.</summary>
    public const string ManifestFile = "manifest.json";

    private static JsonSerializerOptions Json => JsonFiles.CompactOmitNulls;

    /// <summary>The directory of the named corpus under the artifacts root (not created).</summary>
    public static string DirectoryFor(string name) =>
        Path.Combine(QuestPaths.Artifacts, "corpora", SafeName(name));

    /// <summary>Whether a stored corpus with this name exists.</summary>
    public static bool Exists(string name) => IsCorpusDirectory(DirectoryFor(name));

    /// <summary>Whether <paramref name="dir"/> holds a stored corpus.</summary>
    public static bool IsCorpusDirectory(string dir) =>
        File.Exists(Path.Combine(dir, ManifestFile)) && File.Exists(Path.Combine(dir, PagesFile));

    /// <summary>Names of the stored corpora.</summary>
    public static IReadOnlyList<string> List()
    {
        var root = Path.Combine(QuestPaths.Artifacts, "corpora");
        if (!Directory.Exists(root)) return [];
        return Directory.GetDirectories(root).Where(IsCorpusDirectory).Select(Path.GetFileName).OfType<string>()
            .Where(n => !n.StartsWith('.')).Order(StringComparer.Ordinal).ToList();
    }

    /// <summary>Saves under the artifacts root by the corpus name; returns the directory.</summary>
    public static string Save(PageCorpus corpus) => Save(corpus, DirectoryFor(corpus.Name));

    /// <summary>Saves <paramref name="corpus"/> into <paramref name="dir"/> atomically; returns the directory.</summary>
    public static string Save(PageCorpus corpus, string dir)
    {
        var info = corpus.Info with
        {
            Name = corpus.Name, Pages = corpus.Count, Links = corpus.LinkCount, ContentHash = corpus.ContentHash,
        };
        var oldIndex = Path.Combine(dir, "index");
        AtomicFile.WriteDirectory(dir, tmp =>
        {
            using (var fs = new FileStream(Path.Combine(tmp, PagesFile), FileMode.CreateNew, FileAccess.Write))
            using (var w = new StreamWriter(fs, new UTF8Encoding(false), 1 << 16))
            {
                foreach (var p in corpus)
                {
                    w.Write(JsonSerializer.Serialize(p, Json));
                    w.Write('\n');
                }
                w.Flush();
                fs.Flush(flushToDisk: true);
            }
            File.WriteAllText(Path.Combine(tmp, ManifestFile),
                JsonSerializer.Serialize(info, JsonFiles.Indented));
            // Keep an index that already matches this content (re-saving the same corpus must not force a rebuild).
            if (Search.Bm25Index.IsCurrent(oldIndex, corpus.ContentHash))
                CopyDirectory(oldIndex, Path.Combine(tmp, "index"));
        });
        return dir;
    }

    /// <summary>Loads the named corpus from the artifacts root, or a corpus directory path.</summary>
    public static PageCorpus Load(string nameOrDir)
    {
        var dir = IsCorpusDirectory(nameOrDir) ? nameOrDir : DirectoryFor(nameOrDir);
        if (!IsCorpusDirectory(dir))
            throw new QuestInputException(dir, null, null, "no stored corpus here",
                $"a directory with {ManifestFile} and {PagesFile} (build it with `quest corpus build`)");
        var manifestPath = Path.Combine(dir, ManifestFile);
        CorpusInfo info;
        try
        {
            info = JsonFiles.DeserializeLegacy<CorpusInfo>(File.ReadAllText(manifestPath), Json)
                ?? throw new JsonException("null manifest");
        }
        catch (JsonException ex)
        {
            throw new QuestInputException(manifestPath, ex.LineNumber + 1, ex.BytePositionInLine + 1, "invalid manifest: " + Quest.Core.JsonFiles.Describe(ex), "a CorpusInfo JSON object", ex);
        }
        var pagesPath = Path.Combine(dir, PagesFile);
        var pages = new List<Page>(Math.Max(0, info.Pages));
        long lineNo = 0;
        foreach (var line in File.ReadLines(pagesPath, Encoding.UTF8))
        {
            lineNo++;
            if (string.IsNullOrWhiteSpace(line)) continue;
            try
            {
                pages.Add(JsonSerializer.Deserialize<Page>(line, Json) ?? throw new JsonException("null page"));
            }
            catch (JsonException ex)
            {
                throw new QuestInputException(pagesPath, lineNo, ex.BytePositionInLine + 1, "invalid page record: " + Quest.Core.JsonFiles.Describe(ex), "a Page JSON object per line", ex);
            }
        }
        if (info.Pages != 0 && pages.Count != info.Pages)
            throw new QuestInputException(pagesPath, lineNo, null, $"{pages.Count} pages but the manifest says {info.Pages}", "a complete corpus (rebuild it)");
        var corpus = new PageCorpus(info.Name, pages, info);
        return corpus;
    }

    /// <summary>A name safe to use as a directory name.</summary>
    public static string SafeName(string name)
    {
        var sb = new StringBuilder();
        foreach (var c in name) sb.Append(char.IsLetterOrDigit(c) || c is '-' or '_' or '.' ? c : '_');
        var s = sb.ToString().Trim('.');
        return s.Length == 0 ? "corpus" : s;
    }

    internal static void CopyDirectory(string from, string to)
    {
        Directory.CreateDirectory(to);
        foreach (var f in Directory.GetFiles(from)) File.Copy(f, Path.Combine(to, Path.GetFileName(f)));
        foreach (var d in Directory.GetDirectories(from)) CopyDirectory(d, Path.Combine(to, Path.GetFileName(d)));
    }
}
