using System.CommandLine;

namespace Quest.Cli.Commands;

/// <summary><c>quest ask</c> and <c>quest rollout</c>: run the research agent.</summary>
public static class AgentCommands
{
    /// <summary>Builds <c>quest ask</c>.</summary>
    public static Command CreateAsk() => new("ask", "Run one agent episode on a question and print the answer and transcript.");

    /// <summary>Builds <c>quest rollout</c>.</summary>
    public static Command CreateRollout() => new("rollout", "Run many agent episodes over a task file, resumably.");
}
