using System.Text;
using System.Text.Json;

namespace Quest.World.Corpus;

/// <summary>
/// Imports a generic JSONL corpus: one object per line with <c>url</c> or <c>id</c> (or <c>docid</c>), <c>title</c>
/// (optional: derived from the text) and <c>text</c> (or <c>contents</c>/<c>content</c>/<c>body</c>), plus optional
/// <c>date</c>, <c>category</c> and <c>links</c>. Records with only an id get QUEST's offline URL <c>bm25://ID</c>.
/// Lines must be UTF-8; bad lines (invalid JSON or UTF-8, missing fields, duplicate URLs) are reported with file and
/// line, per <see cref="ImportOptions.OnError"/>.
/// </summary>
public static class JsonlImporter
{
    /// <summary>Imports <paramref name="path"/>.</summary>
    public static PageCorpus Import(string path, ImportOptions? options = null)
    {
        options ??= new();
        if (!File.Exists(path)) throw new Quest.Core.QuestInputException(path, null, null, "file not found", "a JSONL corpus file");
        var errors = new ImportErrors(options);
        var pages = new List<Page>();
        var keys = new HashSet<string>(StringComparer.Ordinal);
        long lineNo = 0, total = new FileInfo(path).Length, read = 0;
        using var fs = File.OpenRead(path);
        foreach (var lineBytes in ReadLines(fs))
        {
            lineNo++;
            read += lineBytes.Length + 1;
            if (lineNo % 1000 == 0) options.Progress?.Report(0.95 * read / Math.Max(1, total));
            string line;
            try { line = Quest.Core.Utf8Text.Decode(lineBytes, path, lineNo, read - lineBytes.Length - 1, allowBom: lineNo == 1); }
            catch (Quest.Core.QuestInputException ex)
            {
                errors.Bad(path, lineNo, ex.Column, ex.Problem, "UTF-8 encoded JSON", ex);
                continue;
            }
            if (string.IsNullOrWhiteSpace(line)) continue;
            JsonElement o;
            try
            {
                using var doc = JsonDocument.Parse(line);
                o = doc.RootElement.Clone();
            }
            catch (JsonException ex)
            {
                errors.Bad(path, lineNo, ex.BytePositionInLine + 1, "invalid JSON: " + Quest.Core.JsonFiles.Describe(ex), "one JSON object per line", ex);
                continue;
            }
            if (o.ValueKind != JsonValueKind.Object)
            {
                errors.Bad(path, lineNo, 1, $"a JSON {o.ValueKind.ToString().ToLowerInvariant()}, not an object", "{\"id\"|\"url\", \"title\", \"text\"}");
                continue;
            }
            // text, title, date and category are strings; an id may also be a number (many corpora number their documents)
            if ((FirstMistyped(o, ["text", "contents", "content", "body", "title", "url", "date", "category"], numberOk: false)
                ?? FirstMistyped(o, ["id", "docid", "doc_id"], numberOk: true)) is { } bad)
            {
                errors.Bad(path, lineNo, null, $"\"{bad.Name}\" is {(bad.Kind is JsonValueKind.Object or JsonValueKind.Array ? "an" : "a")} {bad.Kind.ToString().ToLowerInvariant()}", $"\"{bad.Name}\": a string");
                continue;
            }
            var text = Str(o, "text") ?? Str(o, "contents") ?? Str(o, "content") ?? Str(o, "body");
            var url = Str(o, "url");
            var id = Str(o, "id") ?? Str(o, "docid") ?? Str(o, "doc_id");
            if (string.IsNullOrWhiteSpace(text))
            {
                errors.Bad(path, lineNo, null, "record has no text", "a non-empty \"text\" (or \"contents\") field");
                continue;
            }
            if (string.IsNullOrWhiteSpace(url) && string.IsNullOrWhiteSpace(id))
            {
                errors.Bad(path, lineNo, null, "record has neither \"url\" nor \"id\"", "\"url\" or \"id\"");
                continue;
            }
            url = string.IsNullOrWhiteSpace(url) ? "bm25://" + id!.Trim() : url.Trim();
            if (!keys.Add(PageCorpus.UrlKey(url)))
            {
                errors.Bad(path, lineNo, null, $"duplicate URL '{url}'", "unique ids/urls");
                continue;
            }
            var title = Str(o, "title");
            if (string.IsNullOrWhiteSpace(title)) title = DeriveTitle(text);
            var links = o.TryGetProperty("links", out var l) && l.ValueKind == JsonValueKind.Array
                ? l.EnumerateArray().Where(x => x.ValueKind == JsonValueKind.String).Select(x => x.GetString()!).Distinct().ToList()
                : Markdown.Links(text).Select(x => x.Url).Distinct().ToList();
            pages.Add(new Page
            {
                Url = url, Title = title.Trim(), Text = text, Links = links,
                Date = Str(o, "date"), Category = Str(o, "category"),
            });
        }
        options.Progress?.Report(1.0);
        if (pages.Count == 0) throw new Quest.Core.QuestInputException(path, lineNo, null, "no usable records", "at least one {id|url, title, text} line");
        var name = options.Name ?? Path.GetFileNameWithoutExtension(path);
        var info = new CorpusInfo { Name = name, Source = "jsonl", Origin = Path.GetFullPath(path), Warnings = errors.Warnings };
        return new PageCorpus(name, pages, info);
    }

    private static (string Name, JsonValueKind Kind)? FirstMistyped(JsonElement o, string[] names, bool numberOk)
    {
        foreach (var n in names)
            if (o.TryGetProperty(n, out var v) && v.ValueKind is not (JsonValueKind.String or JsonValueKind.Null) && !(numberOk && v.ValueKind == JsonValueKind.Number))
                return (n, v.ValueKind);
        return null;
    }

    private static string? Str(JsonElement o, string name) =>
        o.TryGetProperty(name, out var v) ? v.ValueKind switch
        {
            JsonValueKind.String => v.GetString(),
            JsonValueKind.Number => v.GetRawText(),
            _ => null,
        } : null;

    private static string DeriveTitle(string text)
    {
        var first = text.TrimStart().Split('\n')[0].Trim().TrimStart('#', ' ');
        return first.Length <= 80 ? first : first[..77] + "...";
    }

    private static IEnumerable<byte[]> ReadLines(Stream s)
    {
        var buf = new MemoryStream();
        var chunk = new byte[1 << 16];
        int n;
        while ((n = s.Read(chunk, 0, chunk.Length)) > 0)
        {
            int start = 0;
            for (int i = 0; i < n; i++)
            {
                if (chunk[i] != (byte)'\n') continue;
                buf.Write(chunk, start, i - start);
                var line = buf.ToArray();
                if (line.Length > 0 && line[^1] == (byte)'\r') Array.Resize(ref line, line.Length - 1);
                yield return line;
                buf.SetLength(0);
                start = i + 1;
            }
            buf.Write(chunk, start, n - start);
        }
        if (buf.Length > 0) yield return buf.ToArray();
    }
}
