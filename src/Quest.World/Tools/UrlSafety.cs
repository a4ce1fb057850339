namespace Quest.World.Tools;

/// <summary>
/// URL checks shared by visit and the live-web fetcher. <c>file:</c>, <c>javascript:</c>, <c>data:</c> and
/// <c>view-source:</c> are refused (as QUEST does); only http(s) and the offline <c>bm25:</c> scheme pass.
/// A bare host/path (<c>foldoc.org/Lisp</c>) is accepted and read as https.
/// </summary>
public static class UrlSafety
{
    private static readonly string[] Refused = ["file:", "javascript:", "data:", "view-source:", "vbscript:", "about:", "chrome:"];

    /// <summary>Returns null when <paramref name="url"/> may be visited, otherwise the reason it may not.</summary>
    public static string? Check(string? url)
    {
        if (string.IsNullOrWhiteSpace(url)) return "empty URL";
        var u = url.Trim();
        foreach (var r in Refused)
            if (u.StartsWith(r, StringComparison.OrdinalIgnoreCase))
                return $"refusing to visit '{Short(u)}': {r} URLs are not allowed";
        if (u.Any(char.IsControl)) return "the URL contains control characters";
        int colon = u.IndexOf(':');
        int slash = u.IndexOf('/');
        if (colon > 0 && (slash < 0 || colon < slash))
        {
            var scheme = u[..colon].ToLowerInvariant();
            if (scheme is not ("http" or "https" or "bm25")) return $"unsupported URL scheme '{scheme}:' (use http or https)";
            if (scheme is "http" or "https" && !Uri.TryCreate(u, UriKind.Absolute, out _)) return $"malformed URL '{Short(u)}'";
        }
        return null;
    }

    /// <summary>An absolute http(s) URL for fetching (adds https:// to a bare host/path).</summary>
    public static string Normalize(string url)
    {
        var u = url.Trim();
        return u.Contains("://", StringComparison.Ordinal) ? u : "https://" + u.TrimStart('/');
    }

    private static string Short(string s) => s.Length <= 80 ? s : s[..80] + "…";
}
