using Quest.Core;

namespace Quest.World.Corpus;

/// <summary>What an importer does with a bad record.</summary>
public enum OnBadRecord
{
    /// <summary>Stop with a <see cref="QuestInputException"/> naming the file and line/offset (default).</summary>
    Stop,
    /// <summary>Skip the record, record a warning (kept in the corpus manifest), and go on; too many skips still stop.</summary>
    Skip,
}

/// <summary>Options shared by the importers.</summary>
public sealed record ImportOptions
{
    /// <summary>What to do with a bad record.</summary>
    public OnBadRecord OnError { get; init; } = OnBadRecord.Stop;
    /// <summary>With <see cref="OnBadRecord.Skip"/>, stop anyway after this many bad records (a mostly broken file is not a corpus).</summary>
    public int MaxErrors { get; init; } = 100;
    /// <summary>Corpus name (default: the importer's).</summary>
    public string? Name { get; init; }
    /// <summary>Progress in [0, 1].</summary>
    public IProgress<double>? Progress { get; init; }
}

/// <summary>Collects bad records for an import run and applies <see cref="ImportOptions.OnError"/>.</summary>
internal sealed class ImportErrors(ImportOptions options)
{
    public List<string> Warnings { get; } = [];

    /// <summary>Throws (Stop, or too many) or records a warning (Skip).</summary>
    public void Bad(string file, long? line, long? column, string problem, string expected, Exception? inner = null)
    {
        var ex = new QuestInputException(file, line, column, problem, expected, inner);
        if (options.OnError == OnBadRecord.Stop) throw ex;
        Warnings.Add(ex.Message);
        if (Warnings.Count > options.MaxErrors)
            throw new QuestInputException(file, line, column, $"more than {options.MaxErrors} bad records; giving up (last: {problem})", expected, inner);
    }
}
