using System.Text;
using System.Text.RegularExpressions;
using Quest.Core;

namespace Quest.World.Corpus;

/// <summary>Which dictd dictionary a file set is, for URL scheme, layout and license.</summary>
public enum DictdFlavor
{
    /// <summary>FOLDOC, the Free On-line Dictionary of Computing (GFDL): <c>&lt;category&gt;</c> tags, dates, <c>{links}</c>.</summary>
    Foldoc,
    /// <summary>The Jargon File (public domain): pronunciation line, <c>[category]</c>, <c>{links}</c>.</summary>
    Jargon,
}

/// <summary>
/// Imports FOLDOC or the Jargon File from dictd files into a <see cref="PageCorpus"/>: one page per entry
/// (headwords that share an entry become aliases), paragraphs re-flowed, <c>{Term}</c> cross-references turned into
/// links (<c>https://foldoc.org/Term</c>, <c>https://catb.org/jargon/html/T/Term.html</c>) when the target exists and
/// into plain text when it does not, <c>{text (url)}</c> into external links, FOLDOC's <c>&lt;category&gt;</c> into
/// <see cref="Page.Category"/> and its trailing <c>(yyyy-mm-dd)</c> into <see cref="Page.Date"/>.
/// </summary>
public static partial class DictdImporter
{
    /// <summary>The conventional file base name (foldoc, jargon).</summary>
    public static string BaseName(DictdFlavor f) => f == DictdFlavor.Foldoc ? "foldoc" : "jargon";

    /// <summary>The Debian package that ships the files.</summary>
    public static string DebianPackage(DictdFlavor f) => "dict-" + BaseName(f);

    /// <summary>The page URL of a headword.</summary>
    public static string UrlFor(DictdFlavor f, string headword)
    {
        var term = headword.Trim();
        if (f == DictdFlavor.Foldoc) return "https://foldoc.org/" + Uri.EscapeDataString(term).Replace("%20", "+");
        char first = term.Length > 0 && char.IsLetter(term[0]) ? char.ToUpperInvariant(term[0]) : '0';
        return $"https://catb.org/jargon/html/{first}/{Uri.EscapeDataString(term.Replace(' ', '-'))}.html";
    }

    /// <summary>Imports from a directory holding <c>foldoc.index</c>/<c>foldoc.dict.dz</c> (or jargon.*).</summary>
    public static PageCorpus ImportDirectory(DictdFlavor flavor, string dir, ImportOptions? options = null) =>
        Import(flavor, DictdReader.Open(Path.Combine(dir, BaseName(flavor)), options), options);

    /// <summary>Imports an opened dictionary.</summary>
    public static PageCorpus Import(DictdFlavor flavor, DictdReader reader, ImportOptions? options = null)
    {
        options ??= new();
        // Group headwords by entry (same offset and length): the first headword's entry text names the page.
        var groups = reader.Entries
            .Where(e => !e.Headword.StartsWith("00-database", StringComparison.Ordinal) && !e.Headword.StartsWith("00database", StringComparison.Ordinal))
            .GroupBy(e => (e.Offset, e.Length)).ToList();
        var raw = new List<(string Title, string Body, List<string> Aliases, DictdIndexEntry First)>();
        var byHeadword = new Dictionary<string, int>(StringComparer.OrdinalIgnoreCase);
        var usedKeys = new HashSet<string>(StringComparer.Ordinal);
        int done = 0;
        foreach (var g in groups)
        {
            var first = g.First();
            var text = reader.Text(first).Replace("\r\n", "\n");
            int nl = text.IndexOf('\n');
            var title = (nl < 0 ? text : text[..nl]).Trim();
            if (title.Length == 0) title = first.Headword;
            var body = nl < 0 ? "" : text[(nl + 1)..];
            if (body.Trim().Length == 0)
            {
                // An empty entry is a damaged record, not a page.
                reader.Bad(first.Line, $"entry '{first.Headword}' at offset {first.Offset} has no text", "a headword line followed by the entry text");
                continue;
            }
            if (!usedKeys.Add(PageCorpus.UrlKey(UrlFor(flavor, title)))) continue; // two entries with one title: keep the first
            int id = raw.Count;
            raw.Add((title, body, g.Select(x => x.Headword).ToList(), first));
            byHeadword.TryAdd(title, id);
            foreach (var h in g) byHeadword.TryAdd(h.Headword, id);
            if (++done % 500 == 0) options.Progress?.Report(0.9 * done / groups.Count);
        }
        var urls = raw.Select(r => UrlFor(flavor, r.Title)).ToArray();
        var pages = new List<Page>(raw.Count);
        for (int i = 0; i < raw.Count; i++)
        {
            var (title, body, aliases, _) = raw[i];
            pages.Add(flavor == DictdFlavor.Foldoc
                ? FoldocPage(title, body, urls[i], aliases, byHeadword, urls)
                : JargonPage(title, body, urls[i], aliases, byHeadword, urls));
        }
        options.Progress?.Report(1.0);
        var info = new CorpusInfo
        {
            Name = options.Name ?? BaseName(flavor),
            Source = BaseName(flavor),
            Origin = $"{reader.IndexPath} + {Path.GetFileName(reader.DictPath)} (Debian package {DebianPackage(flavor)})",
            License = flavor == DictdFlavor.Foldoc ? "GFDL-1.1-or-later (FOLDOC, Denis Howe; see data/licenses/foldoc)" : "public domain (The Jargon File 4.4.7; see data/licenses/jargon)",
            Warnings = [.. reader.Warnings],
        };
        return new PageCorpus(info.Name, pages, info);
    }

    [GeneratedRegex(@"^<([^<>]{1,80})>\s*")]
    private static partial Regex CategoryTag();

    [GeneratedRegex(@"^\((\d{4}-\d{2}-\d{2})\)$")]
    private static partial Regex DateLine();

    [GeneratedRegex(@"^\[([^\[\]]{1,60})\]\s*")]
    private static partial Regex BracketCategory();

    private static Page FoldocPage(string title, string body, string url, List<string> aliases, Dictionary<string, int> byHeadword, string[] urls)
    {
        var paras = Paragraphs(body);
        string? date = null, category = null;
        var cats = new List<string>();
        if (paras.Count > 0 && DateLine().Match(paras[^1]) is { Success: true } dm) { date = dm.Groups[1].Value; paras.RemoveAt(paras.Count - 1); }
        if (paras.Count > 0 && CategoryTag().Match(paras[0]) is { Success: true } cm)
        {
            cats = cm.Groups[1].Value.Split(',').Select(c => c.Trim()).Where(c => c.Length > 0).ToList();
            category = cats.FirstOrDefault();
            paras[0] = $"({string.Join(", ", cats)}) " + paras[0][cm.Length..];
        }
        var links = new List<string>();
        var sb = new StringBuilder();
        sb.Append("**").Append(title).Append("**\n\n");
        foreach (var p in paras) sb.Append(Links(p, DictdFlavor.Foldoc, byHeadword, urls, links)).Append("\n\n");
        var facts = new Dictionary<string, string>();
        if (cats.Count > 0) facts["categories"] = string.Join(", ", cats);
        var other = aliases.Where(a => !a.Equals(title, StringComparison.OrdinalIgnoreCase)).ToList();
        if (other.Count > 0) facts["aliases"] = string.Join(", ", other);
        return new Page { Url = url, Title = title, Text = sb.ToString().TrimEnd() + "\n", Links = links, Category = category, Date = date, Facts = facts.Count > 0 ? facts : null };
    }

    private static Page JargonPage(string title, string body, string url, List<string> aliases, Dictionary<string, int> byHeadword, string[] urls)
    {
        // Second line: " /pronunciation/, part of speech" (may be "//").
        var lines = body.Split('\n').ToList();
        string? pron = null;
        if (lines.Count > 0 && lines[0].StartsWith(' ') && lines[0].Trim().StartsWith('/'))
        {
            pron = lines[0].Trim();
            lines.RemoveAt(0);
        }
        var paras = Paragraphs(string.Join('\n', lines));
        string? category = null;
        if (paras.Count > 0 && BracketCategory().Match(paras[0]) is { Success: true } cm) category = cm.Groups[1].Value.Trim();
        var links = new List<string>();
        var sb = new StringBuilder();
        sb.Append("**").Append(title).Append("**");
        if (pron is not null && pron != "//") sb.Append(' ').Append(pron.TrimStart('/').Length == 0 ? "" : pron);
        sb.Append("\n\n");
        foreach (var p in paras) sb.Append(Links(p, DictdFlavor.Jargon, byHeadword, urls, links)).Append("\n\n");
        var facts = new Dictionary<string, string>();
        if (pron is not null) facts["pronunciation"] = pron;
        var other = aliases.Where(a => !a.Equals(title, StringComparison.OrdinalIgnoreCase)).ToList();
        if (other.Count > 0) facts["aliases"] = string.Join(", ", other);
        return new Page { Url = url, Title = title, Text = sb.ToString().TrimEnd() + "\n", Links = links, Category = category, Facts = facts.Count > 0 ? facts : null };
    }

    /// <summary>Splits an indented dictd body into re-flowed paragraphs (lines joined by spaces).</summary>
    public static List<string> Paragraphs(string body)
    {
        var paras = new List<string>();
        var cur = new StringBuilder();
        foreach (var raw in body.Split('\n'))
        {
            var line = raw.Trim();
            if (line.Length == 0)
            {
                if (cur.Length > 0) { paras.Add(cur.ToString()); cur.Clear(); }
                continue;
            }
            if (cur.Length > 0) cur.Append(' ');
            cur.Append(line);
        }
        if (cur.Length > 0) paras.Add(cur.ToString());
        return paras;
    }

    /// <summary>Turns <c>{Term}</c> and <c>{text (url)}</c> into markdown links; unknown terms become plain text.</summary>
    private static string Links(string para, DictdFlavor flavor, Dictionary<string, int> byHeadword, string[] urls, List<string> links)
    {
        var sb = new StringBuilder(para.Length + 64);
        int i = 0;
        while (i < para.Length)
        {
            int open = para.IndexOf('{', i);
            if (open < 0) { sb.Append(para, i, para.Length - i); break; }
            int close = para.IndexOf('}', open + 1);
            if (close < 0) { sb.Append(para, i, para.Length - i); break; }
            sb.Append(para, i, open - i);
            var inner = para.Substring(open + 1, close - open - 1).Trim();
            i = close + 1;
            // {text (url)} or {(url)}: external or site-relative link.
            int paren = inner.LastIndexOf(" (", StringComparison.Ordinal);
            if (inner.EndsWith(')') && (inner.StartsWith('(') || paren > 0))
            {
                int ps = inner.StartsWith('(') ? 0 : paren + 1;
                var target = inner[(ps + 1)..^1].Trim();
                var anchor = ps == 0 ? target : inner[..paren].Trim();
                if (!target.Contains("://", StringComparison.Ordinal) && !target.StartsWith("mailto:", StringComparison.Ordinal))
                    target = flavor == DictdFlavor.Foldoc ? "https://foldoc.org/" + target.TrimStart('/') : "https://catb.org/jargon/html/" + target.TrimStart('/');
                if (target.Contains(' ')) { sb.Append(anchor); continue; }
                sb.Append(Markdown.Link(anchor, target));
                continue;
            }
            if (byHeadword.TryGetValue(inner, out int id) || byHeadword.TryGetValue(inner.ToLowerInvariant(), out id))
            {
                var target = urls[id];
                sb.Append(Markdown.Link(inner, target));
                if (!links.Contains(target)) links.Add(target);
            }
            else sb.Append(inner);
        }
        return sb.ToString();
    }
}
