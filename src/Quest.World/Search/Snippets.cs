using System.Text;
using Quest.World.Corpus;

namespace Quest.World.Search;

/// <summary>
/// Query-biased snippets: the sentence (and its followers) that matches the most query terms, cut to a maximum
/// length around the first match. Terms are analysed (stemmed) query terms; a word matches a term when it starts
/// with the term's stem (minus a trailing vowel-like letter), which is cheap and good enough for display.
/// </summary>
public static class Snippets
{
    /// <summary>Makes a snippet of at most <paramref name="maxChars"/> characters from page text (markdown allowed).</summary>
    public static string Make(string text, IReadOnlyList<string> terms, int maxChars = 240)
    {
        var plain = Clean(text);
        if (plain.Length == 0) return "";
        var prefixes = terms.Select(t => t.Length > 4 ? t[..^1] : t).ToArray();
        var sentences = SplitSentences(plain);
        int best = 0, bestScore = -1;
        for (int i = 0; i < sentences.Count; i++)
        {
            int s = Score(plain, sentences[i], prefixes);
            if (s > bestScore) { best = i; bestScore = s; }
        }
        var (start, len) = sentences[best];
        int end = start + len;
        // Extend with following sentences while they fit.
        for (int j = best + 1; j < sentences.Count && sentences[j].Start + sentences[j].Length - start <= maxChars; j++)
            end = sentences[j].Start + sentences[j].Length;
        string snippet;
        if (end - start <= maxChars) snippet = plain[start..end];
        else
        {
            int first = FirstMatch(plain, start, end, prefixes);
            int from = Math.Max(start, Math.Min(first - maxChars / 3, end - maxChars));
            from = WordStart(plain, from, start);
            int to = Math.Min(end, from + maxChars);
            to = WordEnd(plain, to, from);
            snippet = plain[from..to].Trim();
            if (from > start) snippet = "..." + snippet;
            if (to < end) snippet += "...";
        }
        return snippet.Trim();
    }

    /// <summary>Page text as one line: links reduced to anchors, markdown emphasis and headings dropped, whitespace collapsed.</summary>
    public static string Clean(string text)
    {
        var s = Markdown.StripLinks(text);
        var sb = new StringBuilder(s.Length);
        bool lineStart = true, space = false;
        foreach (var c in s)
        {
            if (c == '\n') { lineStart = true; if (sb.Length > 0 && !EndsSentence(sb)) { sb.Append('.'); } space = true; continue; }
            if (lineStart && (c == '#' || c == '-' || c == ' ' || c == '\t')) continue;
            lineStart = false;
            if (c == '*') continue;
            if (char.IsWhiteSpace(c)) { space = true; continue; }
            if (space && sb.Length > 0) sb.Append(' ');
            space = false;
            sb.Append(c);
        }
        return sb.ToString();
    }

    private static bool EndsSentence(StringBuilder sb) { var c = sb[^1]; return c is '.' or '!' or '?' or ':' or ';'; }

    /// <summary>Sentence spans (start, length) of cleaned text.</summary>
    public static List<(int Start, int Length)> SplitSentences(string plain)
    {
        var list = new List<(int, int)>();
        int start = 0;
        for (int i = 0; i < plain.Length; i++)
        {
            if (plain[i] is '.' or '!' or '?' && (i + 1 == plain.Length || plain[i + 1] == ' ') && !IsAbbrev(plain, i))
            {
                list.Add((start, i + 1 - start));
                start = i + 2;
            }
        }
        if (start < plain.Length) list.Add((start, plain.Length - start));
        if (list.Count == 0) list.Add((0, plain.Length));
        return list;
    }

    private static bool IsAbbrev(string s, int dot)
    {
        // "Co." "e.g." "St." and single initials do not end sentences.
        int w = dot - 1;
        while (w >= 0 && char.IsLetter(s[w])) w--;
        int len = dot - w - 1;
        bool wordStart = w < 0 || !char.IsLetterOrDigit(s[w]);
        return (wordStart && (len == 1 || (len == 2 && char.IsUpper(s[w + 1])))) || (dot + 2 < s.Length && char.IsLower(s[dot + 2]));
    }

    private static int Score(string s, (int Start, int Length) span, string[] prefixes)
    {
        if (prefixes.Length == 0) return 0;
        Span<bool> seen = stackalloc bool[Math.Min(prefixes.Length, 64)];
        int total = 0, distinct = 0, end = span.Start + span.Length;
        for (int i = span.Start; i < end;)
        {
            while (i < end && !char.IsLetterOrDigit(s[i])) i++;
            int ws = i;
            while (i < end && char.IsLetterOrDigit(s[i])) i++;
            if (i == ws) continue;
            var word = s.AsSpan(ws, i - ws);
            for (int t = 0; t < prefixes.Length && t < 64; t++)
            {
                if (word.Length >= prefixes[t].Length && word.StartsWith(prefixes[t], StringComparison.OrdinalIgnoreCase))
                {
                    total++;
                    if (!seen[t]) { seen[t] = true; distinct++; }
                }
            }
        }
        return distinct * 100 + total;
    }

    private static int FirstMatch(string s, int start, int end, string[] prefixes)
    {
        for (int i = start; i < end;)
        {
            while (i < end && !char.IsLetterOrDigit(s[i])) i++;
            int ws = i;
            while (i < end && char.IsLetterOrDigit(s[i])) i++;
            var word = s.AsSpan(ws, i - ws);
            foreach (var p in prefixes)
                if (word.Length >= p.Length && word.StartsWith(p, StringComparison.OrdinalIgnoreCase)) return ws;
        }
        return start;
    }

    private static int WordStart(string s, int i, int min)
    {
        while (i > min && !char.IsWhiteSpace(s[i - 1])) i--;
        return i;
    }

    private static int WordEnd(string s, int i, int min)
    {
        int j = i;
        while (j > min && j < s.Length && !char.IsWhiteSpace(s[j])) j--;
        return j > min ? j : i;
    }
}
