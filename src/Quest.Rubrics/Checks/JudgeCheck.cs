using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using Microsoft.Extensions.AI;
using Quest.Core;

namespace Quest.Rubrics;

/// <summary>
/// <c>judge</c>: an LLM (<see cref="RubricContext.Judge"/>) decides whether a claim holds, as QUEST's <c>simple_verify</c>
/// / <c>verify_by_urls</c>. Args: <c>claim</c> (default: the node description), <c>sources</c> (URLs whose page text the
/// claim must be supported by; the first supporting URL passes the leaf), <c>sources_from_answer</c> (use the URLs the
/// answer cites), <c>instructions</c>. Each decision is a majority vote of <see cref="JudgeOptions.Votes"/> trials that
/// stops as soon as a side has a majority (two agreeing votes out of three). Replies are parsed as JSON
/// <c>{"reasoning": …, "result": true|false}</c>, falling back to a yes/no word. Any exception fails the leaf with the error as evidence.
/// </summary>
internal sealed partial class JudgeCheck : ILeafCheck
{
    private readonly string _claim;
    private readonly IReadOnlyList<string> _sources;
    private readonly bool _fromAnswer;
    private readonly string? _instructions;

    public JudgeCheck(CheckArgs a)
    {
        _claim = a.GetString("claim") ?? a.Node.Description;
        if (string.IsNullOrWhiteSpace(_claim)) throw a.Error("claim", "judge leaf has no claim and no description", "'claim: <text>' or a node description");
        _sources = a.GetStrings("sources");
        _fromAnswer = a.GetBool("sources_from_answer") ?? false;
        _instructions = a.GetString("instructions");
    }

    public string Type => "judge";
    public bool NeedsJudge => true;

    public async ValueTask<LeafOutcome> EvaluateAsync(LeafInput input, CancellationToken cancellationToken)
    {
        var judge = input.Context.Judge;
        if (judge is null) return LeafOutcome.Fail("no judge configured (RubricContext.Judge is null)");
        int calls = 0;
        try
        {
            var urls = _sources.Concat(_fromAnswer ? input.View.Citations.Urls : []).Distinct(StringComparer.OrdinalIgnoreCase).ToList();
            if (urls.Count == 0)
            {
                var (pass, reasoning, votes, n) = await VoteAsync(judge, SimplePrompt(input), input.Context.JudgeOptions, cancellationToken).ConfigureAwait(false);
                calls += n;
                return new LeafOutcome(pass, $"judge votes: {votes}", reasoning, new Dictionary<string, object?> { ["votes"] = votes }, calls);
            }
            var tried = new List<string>();
            string? lastReasoning = null;
            foreach (var url in urls)
            {
                string? page = input.Context.Sources is null ? null : await input.Context.Sources.GetTextAsync(url, cancellationToken).ConfigureAwait(false);
                if (string.IsNullOrWhiteSpace(page)) { tried.Add($"{url}: unavailable"); continue; }
                var (pass, reasoning, votes, n) = await VoteAsync(judge, UrlPrompt(input, url, page), input.Context.JudgeOptions, cancellationToken).ConfigureAwait(false);
                calls += n; lastReasoning = reasoning;
                if (pass)
                    return new LeafOutcome(true, $"supported by {url} (votes: {votes})", reasoning, new Dictionary<string, object?> { ["url"] = url, ["votes"] = votes }, calls);
                tried.Add($"{url}: not supported ({votes})");
            }
            return new LeafOutcome(false, "no source supports the claim: " + string.Join("; ", tried), lastReasoning, null, calls);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested) { throw; }
        catch (Exception e)
        {
            return new LeafOutcome(false, $"judge error: {e.GetType().Name}: {e.Message}", null, null, calls);
        }
    }

    internal static async Task<(bool Pass, string? Reasoning, string Votes, int Calls)> VoteAsync(
        IChatClient judge, string prompt, JudgeOptions options, CancellationToken ct)
    {
        int n = Math.Max(1, options.Votes);
        int passNeed = (n + 1) / 2;          // passed ≥ n/2, as QUEST (ties pass)
        if (n % 2 == 0) passNeed = n / 2;
        int failNeed = n - passNeed + 1;
        int yes = 0, no = 0;
        string? reasoning = null;
        var votes = new List<string>();
        while (yes < passNeed && no < failNeed)
        {
            var chatOptions = options.ChatOptions?.Clone() ?? new ChatOptions();
            if (options.Temperature is not null) chatOptions.Temperature = options.Temperature;
            if (options.RequestJson && chatOptions.ResponseFormat is null) chatOptions.ResponseFormat = ChatResponseFormat.Json;
            var response = await judge.GetResponseAsync([new ChatMessage(ChatRole.User, prompt)], chatOptions, ct).ConfigureAwait(false);
            var (result, why) = ParseVerdict(response.Text);
            if (result) yes++; else no++;
            votes.Add(result ? "yes" : "no");
            reasoning = why ?? reasoning;
        }
        return (yes >= passNeed, reasoning, string.Join(", ", votes), yes + no);
    }

    [GeneratedRegex(@"""result""\s*:\s*""?(true|false|yes|no)""?", RegexOptions.IgnoreCase)]
    private static partial Regex ResultRx();
    [GeneratedRegex(@"\b(yes|no|true|false|supported|not supported|pass|fail)\b", RegexOptions.IgnoreCase)]
    private static partial Regex WordRx();

    /// <summary>Parses a judge reply: JSON <c>{reasoning, result}</c> (possibly inside a code fence or prose), else the
    /// last verdict word (yes/no, true/false, supported/not supported, pass/fail). Throws <see cref="FormatException"/> otherwise.</summary>
    internal static (bool Result, string? Reasoning) ParseVerdict(string? reply)
    {
        var text = reply ?? "";
        int open = text.IndexOf('{'), close = text.LastIndexOf('}');
        if (open >= 0 && close > open)
        {
            try
            {
                using var doc = JsonDocument.Parse(text[open..(close + 1)]);
                if (doc.RootElement.ValueKind == JsonValueKind.Object && doc.RootElement.TryGetProperty("result", out var r))
                {
                    string? why = doc.RootElement.TryGetProperty("reasoning", out var re) && re.ValueKind == JsonValueKind.String ? re.GetString() : null;
                    if (r.ValueKind is JsonValueKind.True or JsonValueKind.False) return (r.GetBoolean(), why);
                    if (r.ValueKind == JsonValueKind.String && Word(r.GetString()!) is bool b) return (b, why);
                }
            }
            catch (JsonException) { /* fall through to the lenient parsers */ }
            var m = ResultRx().Match(text);
            if (m.Success) return (Word(m.Groups[1].Value) ?? false, null);
        }
        var words = WordRx().Matches(text);
        if (words.Count > 0)
        {
            // A leading verdict ("Yes. …" / "No, …") wins; else the last verdict word.
            var first = words[0];
            var pick = text[..first.Index].Trim().Length == 0 ? first : words[^1];
            return (Word(pick.Value)!.Value, text.Trim());
        }
        throw new FormatException($"judge reply has no verdict: '{ToolText.TruncateMiddle(text, 200)}'");
    }

    private static bool? Word(string w) => w.Trim().ToLowerInvariant() switch
    {
        "yes" or "true" or "supported" or "pass" => true,
        "no" or "false" or "not supported" or "fail" => false,
        _ => null,
    };

    private string SimplePrompt(LeafInput input)
    {
        var sb = new StringBuilder();
        sb.AppendLine("You are verifying one claim about an answer to a research task.");
        if (input.Task is not null) sb.AppendLine().AppendLine("# Task").AppendLine(input.Task);
        sb.AppendLine().AppendLine("# Answer").AppendLine(input.Answer);
        sb.AppendLine().AppendLine("# Claim to verify").AppendLine(_claim);
        if (_instructions is not null) sb.AppendLine().AppendLine("# Additional instructions").AppendLine(_instructions);
        sb.AppendLine().AppendLine("# How to answer").AppendLine("Check only this claim against the answer. Allow minor variations in names (spelling, abbreviations) and " +
                                   "rounded numbers. Do not use your own knowledge unless the instructions say so.");
        sb.Append("Reply with JSON only: {\"reasoning\": \"<one or two sentences>\", \"result\": true|false}");
        return sb.ToString();
    }

    private string UrlPrompt(LeafInput input, string url, string page)
    {
        var sb = new StringBuilder();
        sb.AppendLine("You are verifying whether a web page supports a claim made in an answer to a research task.");
        if (input.Task is not null) sb.AppendLine().AppendLine("# Task").AppendLine(input.Task);
        sb.AppendLine().AppendLine("# Claim to verify").AppendLine(_claim);
        if (_instructions is not null) sb.AppendLine().AppendLine("# Additional instructions").AppendLine(_instructions);
        sb.AppendLine().AppendLine($"# Page: {url}").AppendLine(ToolText.TruncateMiddle(page, input.Context.JudgeOptions.MaxSourceChars));
        sb.AppendLine().AppendLine("# How to answer").AppendLine("The claim passes only if the page text fully supports it. An irrelevant page does not support it. " +
                                   "Allow minor variations in names and rounded numbers.");
        sb.Append("Reply with JSON only: {\"reasoning\": \"<one or two sentences>\", \"result\": true|false}");
        return sb.ToString();
    }
}
