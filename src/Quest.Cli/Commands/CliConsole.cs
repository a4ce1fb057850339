using Spectre.Console;

namespace Quest.Cli.Commands;

/// <summary>The Spectre console every command writes its tables and trees to.</summary>
internal static class CliConsole
{
    /// <summary>
    /// A console over <paramref name="writer"/>: colours and terminal width when it is the real terminal, plain text
    /// at a fixed <paramref name="width"/> otherwise (captured output in tests, pipes), so tables never wrap oddly.
    /// </summary>
    public static IAnsiConsole For(TextWriter writer, int width = 160)
    {
        bool real = ReferenceEquals(writer, Console.Out);
        var console = AnsiConsole.Create(new AnsiConsoleSettings
        {
            Out = new AnsiConsoleOutput(writer),
            Ansi = real ? AnsiSupport.Detect : AnsiSupport.No,
            ColorSystem = real ? ColorSystemSupport.Detect : ColorSystemSupport.NoColors,
            Interactive = real ? InteractionSupport.Detect : InteractionSupport.No,   // progress bars redraw only on a terminal
        });
        if (!real) console.Profile.Width = width;
        return console;
    }

    /// <summary>The commands that run libtorch (by path: <c>train</c> and all under it, <c>recipe</c>, <c>bench train</c>, …).</summary>
    public static readonly IReadOnlyList<string> TorchCommands = ["train", "recipe", "bench train", "bench generate", "bench rollout"];

    /// <summary>
    /// Readies libtorch for a command that runs it, before its first torch call, and says on <paramref name="err"/> what
    /// that changed in this process (<see cref="Quest.Models.Runtime.TorchRuntime.Prepare"/>: allocator, OpenMP, MKL).
    /// </summary>
    public static void PrepareTorch(string commandPath, TextWriter err)
    {
        if (!TorchCommands.Any(c => commandPath == c || commandPath.StartsWith(c + " ", StringComparison.Ordinal))) return;
        var changes = Quest.Models.Runtime.TorchRuntime.Prepare();
        if (changes.Count > 0) err.WriteLine($"quest: libtorch ready: {string.Join("; ", changes)}");
    }
}
