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
        });
        if (!real) console.Profile.Width = width;
        return console;
    }
}
