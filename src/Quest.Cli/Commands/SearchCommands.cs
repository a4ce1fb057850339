using System.CommandLine;

namespace Quest.Cli.Commands;

/// <summary>Search a corpus with BM25 and print what the agent's search tool returns.</summary>
public static class SearchCommands
{
    /// <summary>Builds the command.</summary>
    public static Command Create() => new("search", "Search a corpus with BM25 and print what the agent's search tool returns.");
}
