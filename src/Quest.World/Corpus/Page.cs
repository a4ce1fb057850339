using System.Text;
using System.Text.Json.Serialization;

namespace Quest.World.Corpus;

/// <summary>
/// One page of an offline web: a stable URL, a title, readable text and its outgoing links. The text is
/// reader-style markdown (what a Jina-like reader returns for a web page): links appear inline as
/// <c>[anchor](url)</c>, so the agent can follow them from visit's evidence. Optional typed facts (category, date,
/// any key/value) ride along for task synthesis and display.
/// </summary>
public sealed record Page
{
    /// <summary>Stable, absolute URL (e.g. <c>https://world.quest/wiki/Vel_Orasko</c>).</summary>
    public required string Url { get; init; }
    /// <summary>Page title (shown as the search result title).</summary>
    public required string Title { get; init; }
    /// <summary>Body text, markdown-style with inline <c>[anchor](url)</c> links.</summary>
    public required string Text { get; init; }
    /// <summary>Outgoing link targets (absolute URLs), in order of first appearance, without duplicates.</summary>
    public IReadOnlyList<string> Links { get; init; } = [];
    /// <summary>Category or entity type (e.g. <c>person</c>, <c>language</c>); null when unknown.</summary>
    public string? Category { get; init; }
    /// <summary>Date the page carries (publication or last update, ISO <c>yyyy-MM-dd</c> or a year); null when unknown.</summary>
    public string? Date { get; init; }
    /// <summary>Further typed facts (key → value), e.g. <c>born → 1843</c>; null when none.</summary>
    public IReadOnlyDictionary<string, string>? Facts { get; init; }

    /// <summary>The text with markdown links reduced to their anchor text (what search indexes and snippets show).</summary>
    [JsonIgnore]
    public string PlainText => Markdown.StripLinks(Text);
}

/// <summary>The small subset of markdown the page model uses: inline links <c>[anchor](url)</c>.</summary>
public static class Markdown
{
    /// <summary>Formats an inline link. Square brackets in the anchor are replaced by parentheses.</summary>
    public static string Link(string anchor, string url) =>
        $"[{anchor.Replace('[', '(').Replace(']', ')')}]({url})";

    /// <summary>Replaces every <c>[anchor](url)</c> by <c>anchor</c>.</summary>
    public static string StripLinks(string text)
    {
        if (text.IndexOf("](", StringComparison.Ordinal) < 0) return text;
        var sb = new StringBuilder(text.Length);
        int i = 0;
        while (i < text.Length)
        {
            if (text[i] == '[' && TryParseLink(text, i, out var anchor, out _, out int end))
            {
                sb.Append(anchor);
                i = end;
            }
            else sb.Append(text[i++]);
        }
        return sb.ToString();
    }

    /// <summary>All links in <paramref name="text"/> as (anchor, url, start, length) in order.</summary>
    public static IEnumerable<(string Anchor, string Url, int Start, int Length)> Links(string text)
    {
        int i = 0;
        while ((i = text.IndexOf('[', i)) >= 0)
        {
            if (TryParseLink(text, i, out var anchor, out var url, out int end))
            {
                yield return (anchor, url, i, end - i);
                i = end;
            }
            else i++;
        }
    }

    /// <summary>Parses a link starting at <paramref name="start"/> (which must be '[').</summary>
    public static bool TryParseLink(string text, int start, out string anchor, out string url, out int end)
    {
        anchor = url = ""; end = start;
        int close = text.IndexOf(']', start + 1);
        if (close < 0 || close + 1 >= text.Length || text[close + 1] != '(') return false;
        // Anchors never span more than a few hundred characters and never contain '['.
        if (close - start > 300 || text.IndexOf('[', start + 1, close - start - 1) >= 0) return false;
        int paren = text.IndexOf(')', close + 2);
        if (paren < 0 || paren - close > 2048) return false;
        var u = text.AsSpan(close + 2, paren - close - 2);
        if (u.Length == 0 || u.IndexOfAny(' ', '\n') >= 0) return false;
        anchor = text.Substring(start + 1, close - start - 1);
        url = u.ToString();
        end = paren + 1;
        return true;
    }
}
