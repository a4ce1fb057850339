using System.CommandLine;

namespace Quest.Cli.Commands;

/// <summary>Synthesize verified tasks with rubric trees.</summary>
public static class SynthCommands
{
    /// <summary>Builds the command.</summary>
    public static Command Create() => new("synth", "Synthesize verified tasks with rubric trees.");
}
