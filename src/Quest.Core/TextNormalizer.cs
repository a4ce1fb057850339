using System.Globalization;
using System.Text;

namespace Quest.Core;

/// <summary>
/// The kit's one text rule for comparing answers, names and claims: rubric matching checks, the rollout's exact-match
/// scorer, the task verifier's duplicate-question keys, the citation reward's claim/page overlap and the visit tool's
/// evidence extractor all normalise through it, so two rooms never disagree about whether two strings match.
/// </summary>
public static class TextNormalizer
{
    private static readonly HashSet<string> Articles = new(StringComparer.Ordinal) { "a", "an", "the" };

    /// <summary>Stop words dropped from token-overlap comparisons (the <c>cites</c> check and the citation reward alike).</summary>
    public static readonly IReadOnlySet<string> StopWords = new HashSet<string>(StringComparer.Ordinal)
    {
        "a", "an", "the", "and", "or", "of", "in", "on", "at", "to", "for", "by", "with", "from", "as", "is", "was", "are",
        "were", "be", "been", "it", "its", "this", "that", "these", "those", "which", "who", "whom", "whose", "what", "has", "have",
        "had", "not", "but", "into", "onto", "than", "then", "also", "their", "his", "her", "he", "she", "they", "them", "there",
        "so", "such", "can", "may", "one", "s", "according",
    };

    /// <summary>The content words of a text: its normalised tokens without stop words (for overlap measures).</summary>
    public static IEnumerable<string> ContentWords(string text) => Tokens(text, dropArticles: true).Where(t => !StopWords.Contains(t));

    /// <summary>
    /// Lower case, diacritics removed, punctuation turned into spaces (apostrophes dropped), the articles a/an/the
    /// removed, whitespace collapsed. "The Café-de-Flore!" → "cafe de flore".
    /// </summary>
    public static string Normalize(string text) => string.Join(' ', Tokens(text, dropArticles: true));

    /// <summary>Normalized word tokens (see <see cref="Normalize"/>).</summary>
    public static IReadOnlyList<string> Tokens(string text, bool dropArticles = true)
    {
        var decomposed = text.Normalize(NormalizationForm.FormD);
        var sb = new StringBuilder(decomposed.Length);
        foreach (var ch in decomposed)
        {
            var cat = CharUnicodeInfo.GetUnicodeCategory(ch);
            if (cat == UnicodeCategory.NonSpacingMark) continue;
            if (ch is '\'' or '’' or '‘') continue;
            if (char.IsLetterOrDigit(ch)) sb.Append(char.ToLowerInvariant(ch));
            else if (ch == '.' && sb.Length > 0 && char.IsDigit(sb[^1])) sb.Append('.'); // keep 3.5 together
            else sb.Append(' ');
        }
        var parts = sb.ToString().Split(' ', StringSplitOptions.RemoveEmptyEntries)
            .Select(p => p.TrimEnd('.')).Where(p => p.Length > 0);
        return (dropArticles ? parts.Where(p => !Articles.Contains(p)) : parts).ToList();
    }

    /// <summary>True when <paramref name="needle"/> occurs in <paramref name="haystack"/> as a contiguous token sequence.</summary>
    public static bool ContainsSequence(IReadOnlyList<string> haystack, IReadOnlyList<string> needle)
    {
        if (needle.Count == 0) return true;
        for (int i = 0; i + needle.Count <= haystack.Count; i++)
        {
            int j = 0;
            while (j < needle.Count && haystack[i + j] == needle[j]) j++;
            if (j == needle.Count) return true;
        }
        return false;
    }
}

