using System.Text;
using Quest.Core;

namespace Quest.Agent;

/// <summary>Plain-text transcripts for terminals and logs: think / tool call / tool response / answer, clearly marked.</summary>
public static class TranscriptText
{
    /// <summary>Longest tool response shown (characters; the middle is cut).</summary>
    public const int DefaultMaxToolChars = 1200;

    /// <summary>Formats one live event (as <see cref="ResearchAgent.RunAsync"/> reports them).</summary>
    public static string Format(AgentEvent e, int maxToolChars = DefaultMaxToolChars) => e.Kind switch
    {
        "assistant" => $"── round {e.Round} (session {e.Session}) ──\n" + Assistant(e.Text, e.Parsed),
        "tool_response" => "[tool response]\n" + Indent(ToolText.TruncateMiddle(Protocol.ToolResponseBody(e.Text), maxToolChars)),
        "corrective" => "[system → model]\n" + Indent(e.Text),
        "final_request" => "[limit reached → asking for a final answer]",
        "condensation" => $"[context] {e.Text}",
        "end" => $"── end: {e.Text} ──",
        _ => e.Text,
    };

    /// <summary>The whole transcript of a trajectory (every session).</summary>
    public static string Render(Trajectory t, int maxToolChars = DefaultMaxToolChars)
    {
        var sb = new StringBuilder();
        sb.Append("Question: ").AppendLine(t.Question);
        int round = 0;
        foreach (var s in t.Sessions)
        {
            if (s.Index > 0) sb.AppendLine($"══ session {s.Index} (history reset; state: {s.StartState?.EntryCount ?? 0} entries) ══");
            foreach (var m in s.Messages.Skip(2))
            {
                if (m.Role == Roles.Assistant) sb.AppendLine($"── round {++round} ──").AppendLine(Assistant(m.Content, ResponseParser.Parse(m.Content)));
                else if (m.IsToolResponse) sb.AppendLine("[tool response]").AppendLine(Indent(ToolText.TruncateMiddle(Protocol.ToolResponseBody(m.Content), maxToolChars)));
                else sb.AppendLine("[system → model]").AppendLine(Indent(m.Content));
            }
        }
        sb.Append("── end: ").Append(t.Termination).Append(t.Error is null ? "" : $" ({t.Error})").AppendLine(" ──");
        sb.Append("Answer: ").AppendLine(t.Prediction ?? "(none)");
        return sb.ToString();
    }

    private static string Assistant(string content, ParsedTurn? p)
    {
        p ??= ResponseParser.Parse(content);
        var sb = new StringBuilder();
        if (p.Think is { Length: > 0 } th) sb.AppendLine("[think]").AppendLine(Indent(th));
        switch (p.Kind)
        {
            case TurnKind.Answer: sb.AppendLine("[answer]").AppendLine(Indent(p.Answer ?? "")); break;
            case TurnKind.ToolCall: sb.AppendLine($"[tool call] {p.ToolCall!.Name} {p.ToolCall.Arguments.ToJsonString()}"); break;
            case TurnKind.MalformedToolCall: sb.AppendLine($"[malformed tool call] {p.Error}"); break;
            default: sb.AppendLine("[no tool call, no answer]").AppendLine(Indent(content)); break;
        }
        foreach (var pr in p.Problems) sb.AppendLine($"  ! {pr}");
        return sb.ToString().TrimEnd();
    }


    private static string Indent(string s) => "  " + s.Replace("\n", "\n  ");
}
