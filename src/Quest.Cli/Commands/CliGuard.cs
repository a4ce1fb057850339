using Quest.Eval;
using Quest.Core;
using Quest.Rubrics;

namespace Quest.Cli.Commands;

/// <summary>
/// The one way every <c>quest</c> command reports a failure, always on stderr, prefixed <c>quest: </c>:
/// bad input (<see cref="QuestInputException"/>: <c>FILE:LINE:COL: what was wrong (expected …)</c>, and bad argument
/// values) exits 2; an unreachable policy and an evaluation with episodes that could not be run exit 1 with their message; cancellation (Ctrl-C, SIGTERM) exits 130 after what finished is kept; anything else exits 1 with
/// its type and message (the stack trace only with <c>QUEST_DEBUG=1</c>).
/// </summary>
public static class CliGuard
{
    /// <summary>Exit code of bad input.</summary>
    public const int BadInput = 2;
    /// <summary>Exit code of a cancelled command.</summary>
    public const int Cancelled = 130;
    /// <summary>Exit code of any other failure.</summary>
    public const int Failed = 1;

    /// <summary>Writes the failure to <paramref name="err"/> and returns the exit code; <paramref name="onCancel"/> replaces the cancellation line (e.g. where the progress was kept).</summary>
    public static int Report(TextWriter err, Exception e, string? onCancel = null)
    {
        switch (e)
        {
            case OperationCanceledException:
                err.WriteLine("quest: " + (onCancel ?? "cancelled"));
                return Cancelled;
            case QuestInputException or RubricJudgeMissingException or ArgumentException:
                err.WriteLine("quest: " + e.Message);
                return BadInput;
            case IOException or UnauthorizedAccessException or Quest.Agent.PolicyException or Quest.Eval.IncompleteEvaluationException:
                err.WriteLine("quest: " + e.Message);
                return Failed;
            default:
                err.WriteLine($"quest: {e.GetType().Name}: {e.Message}");
                if (Environment.GetEnvironmentVariable("QUEST_DEBUG") == "1") err.WriteLine(e);
                return Failed;
        }
    }
}
