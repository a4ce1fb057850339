namespace Quest.Core;

/// <summary>
/// Bad input: names the file, the line and column where known, and what was expected.
/// The message reads <c>file:line:col: problem (expected …)</c>.
/// </summary>
public sealed class QuestInputException : Exception
{
    /// <summary>The file (or other source name) the bad input came from; null when not from a file.</summary>
    public string? FileName { get; }
    /// <summary>1-based line, or null when unknown.</summary>
    public long? Line { get; }
    /// <summary>1-based column, or null when unknown.</summary>
    public long? Column { get; }
    /// <summary>What was wrong.</summary>
    public string Problem { get; }
    /// <summary>What was expected, or null.</summary>
    public string? Expected { get; }

    /// <summary>Creates the error.</summary>
    public QuestInputException(string? source, long? line, long? column, string problem, string? expected = null, Exception? inner = null)
        : base(Format(source, line, column, problem, expected), inner)
    {
        FileName = source; Line = line; Column = column; Problem = problem; Expected = expected;
    }

    private static string Format(string? source, long? line, long? column, string problem, string? expected)
    {
        var where = source ?? "<input>";
        if (line is not null) where += $":{line}";
        if (line is not null && column is not null) where += $":{column}";
        return expected is null ? $"{where}: {problem}" : $"{where}: {problem} (expected {expected})";
    }
}
