using System.Text;

namespace Quest.Core;

/// <summary>The kit's one rule for when two URLs name the same page.</summary>
public static class UrlKeys
{
    /// <summary>
    /// The normalised key of a URL: lower case, no scheme, no <c>www.</c>, no fragment, no trailing slash,
    /// percent-decoded, spaces/<c>+</c>/<c>_</c> unified. Corpus look-ups, the knowledge graph, the rubric's
    /// <c>cites</c> check and the citation reward all compare URLs by this key, so a page the corpus finds is a page
    /// a citation of it matches.
    /// </summary>
    public static string Key(string url)
    {
        var s = url.Trim();
        int hash = s.IndexOf('#');
        if (hash >= 0) s = s[..hash];
        int scheme = s.IndexOf("://", StringComparison.Ordinal);
        if (scheme >= 0 && scheme < 12) s = s[(scheme + 3)..];
        if (s.StartsWith("www.", StringComparison.OrdinalIgnoreCase)) s = s[4..];
        s = s.TrimEnd('/');
        // Form-encoding: a raw '+' is a space; an escaped %2B is a real plus sign.
        s = s.Replace('+', ' ');
        if (s.Contains('%'))
        {
            try { s = Uri.UnescapeDataString(s); } catch (UriFormatException) { }
        }
        var sb = new StringBuilder(s.Length);
        foreach (var c in s)
            sb.Append(c == ' ' ? '_' : char.ToLowerInvariant(c));
        return sb.ToString();
    }
}
