using System.Globalization;
using System.Text;

namespace Quest.Recipe;

/// <summary>What a recipe event reports.</summary>
public enum RecipeEventKind
{
    /// <summary>A stage begins (or resumes).</summary>
    Started,
    /// <summary>One step of a stage (a training step, a teacher task, an eval episode).</summary>
    Progress,
    /// <summary>A stage finished; <see cref="RecipeEvent.Metrics"/> holds its numbers.</summary>
    Finished,
    /// <summary>A stage was already complete in the run directory and was skipped.</summary>
    Skipped,
}

/// <summary>One event of a recipe run. <see cref="ToString"/> is the fixed-format progress line.</summary>
/// <param name="Stage">Stage name (<see cref="Recipe.StageNames"/>).</param>
/// <param name="Kind">What happened.</param>
/// <param name="Message">Free text (for training steps the trainer's own step line).</param>
/// <param name="Metrics">Numbers (a finished stage's metrics; progress counters).</param>
/// <param name="ElapsedSeconds">Seconds since the stage started (for Finished: the stage's wall time in this run).</param>
public sealed record RecipeEvent(string Stage, RecipeEventKind Kind, string Message, IReadOnlyDictionary<string, double>? Metrics = null, double ElapsedSeconds = 0)
{
    /// <summary><c>recipe pretrain  progress   12.3s pretrain step  12/120 loss …</c>; finished lines append <c>key=value</c> metrics.</summary>
    public override string ToString()
    {
        var sb = new StringBuilder();
        sb.Append("recipe ").Append(Stage.PadRight(8)).Append(' ').Append(Kind.ToString().ToLowerInvariant().PadRight(8)).Append(' ')
          .Append(ElapsedSeconds.ToString("0.0", CultureInfo.InvariantCulture).PadLeft(7)).Append("s ").Append(Message);
        if (Kind is RecipeEventKind.Finished or RecipeEventKind.Skipped && Metrics is { Count: > 0 })
            foreach (var (k, v) in Metrics) sb.Append(' ').Append(k).Append('=').Append(v.ToString("0.####", CultureInfo.InvariantCulture));
        return sb.ToString();
    }
}
