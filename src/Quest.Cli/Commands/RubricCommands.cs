using System.CommandLine;

namespace Quest.Cli.Commands;

/// <summary>Rubric trees: show a tree, score an answer or given leaf outcomes.</summary>
public static class RubricCommands
{
    /// <summary>Builds the command.</summary>
    public static Command Create() => new("rubric", "Rubric trees: show a tree, score an answer or given leaf outcomes.");
}
