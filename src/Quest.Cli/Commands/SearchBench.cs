using System.CommandLine;

namespace Quest.Cli.Commands;

/// <summary>Benchmark commands for <c>quest bench</c>.</summary>
public static class SearchBench
{
    /// <summary>The benchmark sub-commands.</summary>
    public static IEnumerable<Command> Create() => [];
}
