using System.CommandLine;

namespace Quest.Cli.Commands;

/// <summary>Corpora: fetch, build and inspect the agent's offline web.</summary>
public static class CorpusCommands
{
    /// <summary>Builds the command.</summary>
    public static Command Create() => new("corpus", "Corpora: fetch, build and inspect the agent's offline web.");
}
