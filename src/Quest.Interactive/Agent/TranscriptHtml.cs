using System.Globalization;
using Plotly.NET;
using System.Text;
using Quest.Agent;
using Quest.Agent.Context;
using Quest.Core;

namespace Quest.Interactive;

/// <summary>
/// Agent transcripts as HTML for notebooks: one collapsible block per turn — reasoning, tool call, tool response,
/// answer — with session boundaries (context resets) and the research state each session started from.
/// </summary>
public static class TranscriptHtml
{
    /// <summary>Longest tool response shown before the middle is cut.</summary>
    public static int MaxToolChars { get; set; } = 4000;

    /// <summary>The whole trajectory: header (question, termination, counts), then every session's turns.</summary>
    public static HtmlFragment Render(Trajectory t, bool openTurns = false)
    {
        var sb = new StringBuilder();
        sb.Append("<div class=\"quest-transcript\" style=\"font-family:sans-serif;font-size:13px\">");
        sb.Append(Html.Heading("Question: " + t.Question, 4).Html);
        var term = t.Termination == Termination.Answer ? BadgeColor.Green : t.Termination is Termination.MaxTurns or Termination.MaxContext ? BadgeColor.Amber : BadgeColor.Red;
        sb.Append("<div style=\"margin:4px 0\">")
          .Append(Html.Badge(t.Termination, term, t.Error).Html)
          .Append(Html.Badge($"{t.Rounds} rounds", BadgeColor.Blue).Html)
          .Append(Html.Badge($"{t.Sessions.Count} session{(t.Sessions.Count == 1 ? "" : "s")}", BadgeColor.Blue).Html)
          .Append(Html.Badge($"max context {t.MaxContextTokens:N0} tok", BadgeColor.Grey).Html);
        foreach (var (tool, n) in t.ToolCalls.OrderBy(k => k.Key, StringComparer.Ordinal)) sb.Append(Html.Badge($"{tool} ×{n}", BadgeColor.Grey).Html);
        if (t.Reward is { } r) sb.Append(Html.ScoreBadge(r).Html);
        sb.Append("</div>");

        int round = 0;
        foreach (var s in t.Sessions)
        {
            if (s.Index > 0 || s.StartState is not null)
            {
                var ev = t.Condensations.LastOrDefault(c => c.Success && c.Session == s.Index - 1);
                var what = ev is null ? "" : $" — {ev.Strategy} after round {ev.Round}: {ev.TokensBefore:N0} → {ev.TokensAfter:N0} tokens";
                sb.Append("<div style=\"border-top:2px dashed #999;margin:8px 0 4px;padding-top:4px;color:#555\"><b>Session ")
                  .Append(s.Index).Append("</b>").Append(Html.Escape(what)).Append("</div>");
                if (s.StartState is not null)
                    sb.Append(Html.Details($"{Html.Badge("state", BadgeColor.Purple)} research state carried in ({s.StartState.EntryCount} entries)", StateHtml(s.StartState)).Html);
            }
            foreach (var m in s.Messages.Skip(2))
            {
                if (m.Role == Roles.Assistant) sb.Append(AssistantHtml(++round, m.Content, openTurns).Html);
                else if (m.IsToolResponse)
                {
                    var body = Protocol.ToolResponseBody(m.Content);
                    var err = body.StartsWith(ToolText.ErrorPrefix, StringComparison.Ordinal);
                    sb.Append(Html.Details($"{Html.Badge("tool response", err ? BadgeColor.Red : BadgeColor.Grey)} {Html.Escape(FirstLine(body, 100))}",
                        Html.Pre(ToolText.TruncateMiddle(body, MaxToolChars), 400).Html, openTurns).Html);
                }
                else sb.Append(Html.Details($"{Html.Badge("system", BadgeColor.Amber)} {Html.Escape(FirstLine(m.Content, 100))}", Html.Pre(m.Content).Html, openTurns).Html);
            }
        }
        foreach (var c in t.Condensations.Where(c => !c.Success))
            sb.Append("<div style=\"color:#a00\">context manager failed after round ").Append(c.Round).Append(": ").Append(Html.Escape(c.Error)).Append(" (history unchanged)</div>");
        sb.Append("<div style=\"margin-top:6px\"><b>Answer:</b> ").Append(Html.Escape(t.Prediction ?? "(none)"));
        if (t.Answer is not null) sb.Append(" <span style=\"color:#666\">(gold: ").Append(Html.Escape(t.Answer)).Append(")</span>");
        sb.Append("</div></div>");
        return Html.Raw(sb.ToString());
    }

    /// <summary>One assistant turn: think, then the call / answer / problem, collapsible.</summary>
    public static HtmlFragment AssistantHtml(int round, string content, bool open = false)
    {
        var p = ResponseParser.Parse(content);
        var head = new StringBuilder($"<b>{round}.</b> ");
        var body = new StringBuilder();
        if (p.Think is { Length: > 0 } th) body.Append(Html.Details($"{Html.Badge("think", BadgeColor.Blue)} {Html.Escape(FirstLine(th, 90))}", Html.Pre(th).Html).Html);
        switch (p.Kind)
        {
            case TurnKind.Answer:
                head.Append(Html.Badge("answer", BadgeColor.Green).Html).Append(' ').Append(Html.Escape(FirstLine(p.Answer ?? "", 120)));
                body.Append(Html.Pre(p.Answer).Html);
                break;
            case TurnKind.ToolCall:
                var args = p.ToolCall!.Arguments.ToJsonString();
                head.Append(Html.Badge("tool call", BadgeColor.Purple).Html).Append(" <code>").Append(Html.Escape(p.ToolCall.Name)).Append("</code> ").Append(Html.Escape(FirstLine(args, 120)));
                body.Append(Html.Pre(args).Html);
                break;
            case TurnKind.MalformedToolCall:
                head.Append(Html.Badge("malformed call", BadgeColor.Red).Html).Append(' ').Append(Html.Escape(FirstLine(p.Error ?? "", 120)));
                body.Append(Html.Pre(content).Html);
                break;
            default:
                head.Append(Html.Badge("invalid", BadgeColor.Red).Html).Append(' ').Append(Html.Escape(FirstLine(content, 120)));
                body.Append(Html.Pre(content).Html);
                break;
        }
        foreach (var pr in p.Problems) body.Append("<div style=\"color:#a60\">⚠ ").Append(Html.Escape(pr)).Append("</div>");
        return Html.Details(head.ToString(), body.ToString(), open);
    }

    /// <summary>A research state as three tables (queries, sources, claims by bucket).</summary>
    public static HtmlFragment StateHtml(ResearchState s)
    {
        var sb = new StringBuilder();
        sb.Append("<div style=\"font-size:12px\">");
        sb.Append("<b>search_queries</b> (").Append(s.SearchQueries.Count).Append(")<ul>");
        foreach (var q in s.SearchQueries) sb.Append("<li><code>").Append(Html.Escape(q.Q)).Append("</code> — ").Append(Html.Escape(q.Intent)).Append("</li>");
        sb.Append("</ul><b>visited_sources</b> (").Append(s.VisitedSources.Count).Append(")<ul>");
        foreach (var v in s.VisitedSources) sb.Append("<li>").Append(Html.Escape(v.Url)).Append(" — ").Append(Html.Escape(v.Note)).Append("</li>");
        sb.Append("</ul>");
        void Bucket(string name, List<Claim> claims, BadgeColor color)
        {
            sb.Append(Html.Badge($"{name} ({claims.Count})", color).Html).Append("<ul>");
            foreach (var c in claims)
                sb.Append("<li><b>").Append(Html.Escape(c.Id)).Append("</b> ").Append(Html.Escape(c.Text))
                  .Append(" <span style=\"color:#666\">[").Append(Html.Escape(string.Join(", ", c.Sources))).Append("] ").Append(Html.Escape(c.Reason))
                  .Append(c.Need is null ? "" : " · need: " + Html.Escape(c.Need)).Append("</span></li>");
            sb.Append("</ul>");
        }
        Bucket("trusted", s.InformationState.Trusted, BadgeColor.Green);
        Bucket("untrusted", s.InformationState.Untrusted, BadgeColor.Red);
        Bucket("uncertain", s.InformationState.Uncertain, BadgeColor.Amber);
        sb.Append("</div>");
        return Html.Raw(sb.ToString());
    }


    private static string FirstLine(string s, int max)
    {
        var t = s.Trim();
        int nl = t.IndexOf('\n');
        if (nl >= 0) t = t[..nl];
        return t.Length <= max ? t : t[..max] + "…";
    }
}

/// <summary>Charts of an episode's context.</summary>
public static class AgentCharts
{
    /// <summary>
    /// Context tokens sent to the model per turn, with the threshold in force and every condensation marked
    /// (a marker at the tokens before → after, a dashed line at the round); failed condensations in red.
    /// </summary>
    public static GenericChart ContextTokens(Trajectory t, string? title = null)
    {
        var charts = new List<GenericChart> { Charts.Line(t.Turns.Select(x => x.Round), t.Turns.Select(x => (double)x.ContextTokens), "context tokens", markers: true) };
        // Threshold in force at each turn: the base until the first event, then each event's threshold_after.
        if (t.Condensations.Count > 0 || t.Turns.Count > 0)
        {
            var th = new List<double>();
            double current = t.Condensations.Count > 0 ? t.Condensations[0].ThresholdBefore : double.NaN;
            foreach (var turn in t.Turns)
            {
                var last = t.Condensations.LastOrDefault(c => c.Round < turn.Round);
                th.Add(last is null ? current : last.ThresholdAfter);
            }
            if (th.Any(double.IsFinite))
            {
                charts.Add(Charts.Line(t.Turns.Select(x => x.Round), th, "threshold", dash: StyleParam.DrawingStyle.Dot, color: "#888"));
            }
        }
        foreach (var ok in new[] { true, false })
        {
            var evs = t.Condensations.Where(c => c.Success == ok).ToList();
            if (evs.Count == 0) continue;
            charts.Add(Charts.Scatter(evs.Select(c => c.Round + 0.5), evs.Select(c => (double)c.TokensAfter), ok ? "condensation (after)" : "condensation failed",
                evs.Select(c => $"{c.Strategy}: {c.TokensBefore:N0} → {c.TokensAfter:N0}" + (c.Error is null ? "" : $" ({c.Error})")),
                symbol: ok ? StyleParam.MarkerSymbol.TriangleDown : StyleParam.MarkerSymbol.X, size: 12, color: ok ? "#2a7" : "#c33"));
        }
        return Charts.Combine(charts)
            .WithVerticalLines(t.Condensations.Select(c => (c.Round + 0.5, c.Success ? "#2a7" : "#c33")))
            .WithTitle(title ?? $"Context tokens per turn ({t.Condensations.Count(c => c.Success)} condensation{(t.Condensations.Count(c => c.Success) == 1 ? "" : "s")})")
                  .WithAxisTitles("round", "tokens");
    }

    /// <summary>Terminations of many episodes as a bar chart.</summary>
    public static GenericChart Terminations(IEnumerable<Trajectory> ts, string? title = null)
    {
        var g = ts.GroupBy(t => t.Termination).OrderBy(x => x.Key, StringComparer.Ordinal).ToList();
        return Charts.Bar(g.Select(x => x.Key), g.Select(x => (double)x.Count()), title: title ?? "Episodes by termination");
    }

    /// <summary>One row per episode, for a table.</summary>
    public static IEnumerable<object> Rows(IEnumerable<Trajectory> ts) => ts.Select(t => new
    {
        task = t.TaskId, sample = t.Sample, termination = t.Termination, rounds = t.Rounds, sessions = t.Sessions.Count,
        max_context = t.MaxContextTokens, reward = t.Reward, prediction = t.Prediction,
        seconds = Math.Round(t.ElapsedMs / 1000, 2).ToString(CultureInfo.InvariantCulture),
    });
}

/// <summary>Registers trajectories and research states as HTML (run by <see cref="QuestNotebook.Init"/>).</summary>
internal sealed class AgentFormatters : INotebookFormatters
{
    public void Register()
    {
        QuestNotebook.RegisterHtml<Trajectory>(t => TranscriptHtml.Render(t).Html);
        QuestNotebook.RegisterHtml<ResearchState>(s => TranscriptHtml.StateHtml(s).Html);
    }
}
