using System.CommandLine;

namespace Quest.Cli.Commands;

/// <summary><c>quest bench …</c>: benchmarks that print one JSON line each (timings live here, never in tests).</summary>
public static class BenchCommands
{
    /// <summary>Builds the command group from each room's benchmark commands.</summary>
    public static Command Create()
    {
        var bench = new Command("bench", "Benchmarks; each prints one JSON line.");
        foreach (var c in SearchBench.Create()) bench.Subcommands.Add(c);   // bench search
        foreach (var c in ModelBench.Create()) bench.Subcommands.Add(c);    // bench train, bench generate
        return bench;
    }
}
