using System.Text;
using System.Text.Json;
using Microsoft.Extensions.AI;
using Quest.World.Corpus;
using Quest.World.Search;

namespace Quest.World.Tools;

/// <summary>What visit reports for one page: why, the evidence (original text) and a summary.</summary>
/// <param name="Rational">Where in the page the relevant information is (QUEST's field name and spelling).</param>
/// <param name="Evidence">The relevant original text.</param>
/// <param name="Summary">A short summary for the goal.</param>
public sealed record Extraction(string Rational, string Evidence, string Summary);

/// <summary>Extracts goal-relevant information from a page (offline sentence scoring, or an LLM).</summary>
public interface IPageExtractor
{
    /// <summary>Extracts; returns null when extraction failed (visit then reports QUEST's failure text).</summary>
    Task<Extraction?> ExtractAsync(PageContent page, string goal, CancellationToken cancellationToken = default);
}

/// <summary>
/// Offline extraction by sentence scoring: the page is split into sentences and list items, each scored by how
/// many goal words (and their stems) it contains; the best ones, in page order and with their inline links kept,
/// form the evidence, and the top three (links reduced to text) the summary. The lead sentence is always kept,
/// because it says what the page is about.
/// </summary>
public sealed class SentenceExtractor(int maxEvidenceSentences = 8, int maxEvidenceChars = 4000) : IPageExtractor
{
    private static readonly HashSet<string> Stop = new(StringComparer.OrdinalIgnoreCase)
    {
        "a", "an", "the", "of", "in", "on", "at", "to", "for", "and", "or", "by", "with", "from", "as", "is", "was", "were",
        "are", "be", "been", "this", "that", "these", "those", "it", "its", "which", "who", "whom", "whose", "what", "when",
        "where", "why", "how", "do", "does", "did", "find", "extract", "information", "relevant", "page", "about", "details",
        "detail", "identify", "determine", "get", "give", "list", "any", "all", "some", "their", "his", "her", "there",
        "out", "into", "than", "then", "so", "if", "not", "no", "yes", "also", "such", "between", "including", "include",
        "specific", "mentioned", "mention", "whether", "over", "under", "via", "user", "goal", "webpage", "website", "content",
    };

    /// <inheritdoc />
    public Task<Extraction?> ExtractAsync(PageContent page, string goal, CancellationToken cancellationToken = default) =>
        Task.FromResult<Extraction?>(Extract(page, goal));

    /// <summary>Synchronous extraction.</summary>
    public Extraction Extract(PageContent page, string goal)
    {
        var units = Units(page.Text);
        if (units.Count == 0)
            return new Extraction("The page is empty.", "(empty page)", $"The page {page.Url} has no readable text.");
        var goalTerms = GoalTerms(goal);
        var scores = new double[units.Count];
        for (int i = 0; i < units.Count; i++) scores[i] = Score(Snippets.Clean(units[i]), goalTerms);
        bool any = scores.Any(s => s > 0);
        // Pick units by score (the lead always) within the sentence and character budgets, then print in page order.
        var chosen = new SortedSet<int> { 0 };
        int used = units[0].Length;
        var order = any
            ? Enumerable.Range(0, units.Count).Where(i => scores[i] > 0).OrderByDescending(i => scores[i]).ThenBy(i => i)
            : Enumerable.Range(1, Math.Max(0, units.Count - 1));
        foreach (var i in order)
        {
            if (chosen.Count >= (any ? maxEvidenceSentences : Math.Min(maxEvidenceSentences, 6))) break;
            if (used + units[i].Length > maxEvidenceChars) continue;
            if (chosen.Add(i)) used += units[i].Length + 1;
        }
        var evidence = new StringBuilder();
        foreach (var i in chosen)
        {
            if (evidence.Length > 0) evidence.Append('\n');
            evidence.Append(units[i].Length > maxEvidenceChars ? units[i][..maxEvidenceChars] + "…" : units[i]);
        }
        string title = string.IsNullOrWhiteSpace(page.Title) ? page.Url : page.Title;
        string summary;
        string rational;
        if (any)
        {
            var top = Enumerable.Range(0, units.Count).Where(i => scores[i] > 0).OrderByDescending(i => scores[i]).ThenBy(i => i).Take(3).Order();
            summary = $"The page on {title} says: " + string.Join(" ", top.Select(i => Snippets.Clean(units[i])));
            var matched = goalTerms.Where(t => units.Any(u => Snippets.Clean(u).Contains(t.Prefix, StringComparison.OrdinalIgnoreCase))).Select(t => t.Word).Distinct().ToList();
            rational = $"Sentences of the page that mention {string.Join(", ", matched.Select(m => $"'{m}'"))}.";
        }
        else
        {
            summary = $"The page on {title} does not mention what the goal asks for ({goal.Trim()}). It begins: {Snippets.Clean(units[0])}";
            rational = "No sentence of the page matches the goal; the opening of the page is given instead.";
        }
        if (summary.Length > 1200) summary = summary[..1200] + "…";
        return new Extraction(rational, evidence.ToString(), summary);
    }

    /// <summary>Splits page text into sentences and list items (inline links kept whole).</summary>
    public static List<string> Units(string text)
    {
        var units = new List<string>();
        foreach (var rawLine in text.Split('\n'))
        {
            var line = rawLine.Trim();
            if (line.Length == 0 || line.StartsWith('#')) continue;
            if (line.StartsWith("- ") || line.StartsWith("* ")) { units.Add(line); continue; }
            int start = 0;
            for (int i = 0; i < line.Length; i++)
            {
                if (line[i] == '[' && Markdown.TryParseLink(line, i, out _, out _, out int end)) { i = end - 1; continue; }
                if (line[i] is '.' or '!' or '?' && (i + 1 == line.Length || line[i + 1] == ' ') && !EndsWithAbbrev(line, start, i))
                {
                    var s = line[start..(i + 1)].Trim();
                    if (s.Length > 0) units.Add(s);
                    start = i + 1;
                }
            }
            if (start < line.Length && line[start..].Trim() is { Length: > 0 } rest) units.Add(rest);
        }
        return units;
    }

    private static bool EndsWithAbbrev(string s, int min, int dot)
    {
        int w = dot - 1;
        while (w >= min && char.IsLetter(s[w])) w--;
        int len = dot - w - 1;
        bool wordStart = w < min || !char.IsLetterOrDigit(s[w]);
        return wordStart && (len == 1 || (len == 2 && s.Substring(w + 1, 2) is "Co" or "St" or "Dr" or "Mr" or "Jr" or "Sr"));
    }

    private sealed record GoalTerm(string Word, string Prefix, double Weight);

    private static List<GoalTerm> GoalTerms(string goal)
    {
        var terms = new List<GoalTerm>();
        foreach (var w in Words(goal))
        {
            if (Stop.Contains(w) || w.Length < 2) continue;
            var prefix = w.Length > 5 ? w[..^2] : w.Length > 3 && w.EndsWith('s') ? w[..^1] : w;
            if (terms.Any(t => t.Prefix == prefix)) continue;
            bool capital = goal.Contains(char.ToUpperInvariant(w[0]) + w[1..], StringComparison.Ordinal);
            bool digit = w.All(char.IsDigit);
            terms.Add(new GoalTerm(w, prefix, capital || digit ? 2.0 : 1.0));
        }
        return terms;
    }

    private static IEnumerable<string> Words(string s) => Quest.Core.TextNormalizer.Tokens(s, dropArticles: false);

    private static double Score(string unit, List<GoalTerm> terms)
    {
        if (terms.Count == 0) return 0;
        double score = 0;
        var words = Words(unit).ToList();
        foreach (var t in terms)
        {
            int n = words.Count(w => w.StartsWith(t.Prefix, StringComparison.Ordinal));
            if (n > 0) score += t.Weight * (1 + 0.05 * Math.Min(n - 1, 3));
        }
        return score;
    }
}

/// <summary>
/// Extraction by an LLM through <see cref="IChatClient"/>, with a prompt modelled on QUEST's EXTRACTOR_PROMPT:
/// the model returns JSON with <c>rational</c>, <c>evidence</c> and <c>summary</c>. Like QUEST, a too-short reply
/// is retried with the page cut to 70% (up to three times), and unparsable JSON is retried once more.
/// </summary>
public sealed class LlmExtractor(IChatClient client, ChatOptions? chatOptions = null, IPageExtractor? fallback = null) : IPageExtractor
{
    /// <summary>The prompt template; <c>{webpage_content}</c> and <c>{goal}</c> are filled in.</summary>
    public const string Prompt = """
        Please process the following webpage content and user goal to extract relevant information:

        ## **Webpage Content**
        {webpage_content}

        ## **User Goal**
        {goal}

        ## **Task Guidelines**
        1. **Content Scanning for Rational**: Locate the **specific sections/data** directly related to the user's goal within the webpage content
        2. **Key Extraction for Evidence**: Identify and extract the **most relevant information** from the content, you never miss any important information, output the **full original context** of the content as far as possible, it can be more than three paragraphs.
        3. **Summary Output for Summary**: Organize into a concise paragraph with logical flow, prioritizing clarity and judge the contribution of the information to the goal.

        **Final Output Format using JSON format has "rational", "evidence", "summary" fields**
        """;

    /// <inheritdoc />
    public async Task<Extraction?> ExtractAsync(PageContent page, string goal, CancellationToken cancellationToken = default)
    {
        string content = page.Text;
        bool parseRetried = false;
        for (int attempt = 0; attempt < 5; attempt++)
        {
            string reply;
            try
            {
                var prompt = Prompt.Replace("{webpage_content}", content).Replace("{goal}", goal);
                var response = await client.GetResponseAsync([new ChatMessage(ChatRole.User, prompt)], chatOptions, cancellationToken).ConfigureAwait(false);
                reply = response.Text ?? "";
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested) { throw; }
            catch (Exception)
            {
                break;
            }
            if (reply.Trim().Length < 10)
            {
                content = content[..(int)(content.Length * 0.7)];
                continue;
            }
            var parsed = Parse(reply);
            if (parsed is not null) return parsed;
            if (parseRetried) break;
            parseRetried = true;
        }
        return fallback is null ? null : await fallback.ExtractAsync(page, goal, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Parses the model's JSON reply (code fences and surrounding prose tolerated); null when unusable.</summary>
    public static Extraction? Parse(string reply)
    {
        int a = reply.IndexOf('{'), b = reply.LastIndexOf('}');
        if (a < 0 || b <= a) return null;
        try
        {
            using var doc = JsonDocument.Parse(reply[a..(b + 1)]);
            var root = doc.RootElement;
            string Field(string name)
            {
                foreach (var p in root.EnumerateObject())
                {
                    if (!p.Name.Equals(name, StringComparison.OrdinalIgnoreCase)) continue;
                    return p.Value.ValueKind switch
                    {
                        JsonValueKind.String => p.Value.GetString() ?? "",
                        JsonValueKind.Array => string.Join("\n", p.Value.EnumerateArray().Select(x => x.ValueKind == JsonValueKind.String ? x.GetString() : x.GetRawText())),
                        _ => p.Value.GetRawText(),
                    };
                }
                return "";
            }
            var ev = Field("evidence"); var sum = Field("summary");
            if (ev.Length == 0 && sum.Length == 0) return null;
            var rat = Field("rational"); if (rat.Length == 0) rat = Field("rationale");
            return new Extraction(rat, ev, sum);
        }
        catch (JsonException) { return null; }
    }
}
