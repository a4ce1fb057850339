using Quest.Core;

namespace Quest.Rubrics;

/// <summary>File loading by extension and content.</summary>
public static class RubricIo
{
    /// <summary>
    /// Loads a tree file: <c>.json</c> as JSON (QUEST format, or our schema written as JSON), anything else as YAML
    /// (which also accepts QUEST-shaped content). Missing files and bad content throw <see cref="QuestInputException"/>.
    /// </summary>
    public static RubricTree Load(string path, CheckRegistry? checks = null)
    {
        if (!File.Exists(path)) throw new QuestInputException(path, null, null, "file not found", "a rubric tree file (.yaml, .yml or .json)");
        var text = Utf8Text.ReadFile(path);
        return path.EndsWith(".json", StringComparison.OrdinalIgnoreCase)
            ? QuestJson.Parse(text, checks, path)
            : RubricYaml.Parse(text, checks, path);
    }
}

/// <summary>Given leaf outcomes (<c>{"leaf id": true|false, …}</c>) with the position of each entry for error messages.</summary>
public sealed class LeafOutcomeSet
{
    /// <summary>One outcome.</summary>
    /// <param name="Id">Leaf id.</param>
    /// <param name="Passed">The outcome.</param>
    /// <param name="Location">Where it was written, if from a file.</param>
    public sealed record Entry(string Id, bool Passed, SourceLocation? Location);

    /// <summary>Creates a set.</summary>
    public LeafOutcomeSet(IReadOnlyList<Entry> entries, string? source = null) { Entries = entries; Source = source; }

    /// <summary>The outcomes in file order.</summary>
    public IReadOnlyList<Entry> Entries { get; }
    /// <summary>The file they came from.</summary>
    public string? Source { get; }

    /// <summary>
    /// Parses <c>{"leaf id": true|false}</c>; 1/0 and "pass"/"fail"/"passed"/"failed" are accepted too. Malformed JSON,
    /// duplicate keys and other values throw <see cref="QuestInputException"/> with line and column.
    /// </summary>
    public static LeafOutcomeSet Parse(string json, string? source = null)
    {
        var doc = DocReader.ParseJson(json, source) ?? throw new QuestInputException(source, null, null, "no leaf outcomes: the file is empty", "{\"leaf id\": true|false, …}");
        if (doc is not DMap m) throw doc.Error($"the top level is a {doc.Kind}", "an object {\"leaf id\": true|false, …}");
        var list = new List<Entry>();
        foreach (var (k, v) in m.Entries)
        {
            bool passed = v is DScalar s ? s.ScalarKind switch
            {
                ScalarKind.Bool => s.Value == "true",
                ScalarKind.Number when s.Value is "1" or "0" => s.Value == "1",
                ScalarKind.Text when s.Value?.ToLowerInvariant() is "pass" or "passed" or "true" => true,
                ScalarKind.Text when s.Value?.ToLowerInvariant() is "fail" or "failed" or "false" => false,
                _ => throw v.Error($"outcome of '{k.Value}' is '{s.Value ?? "null"}'", "true or false"),
            } : throw v.Error($"outcome of '{k.Value}' is a {v.Kind}", "true or false");
            list.Add(new Entry(k.Value!, passed, k.Loc));
        }
        return new LeafOutcomeSet(list, source);
    }

    /// <summary>Reads and parses a file.</summary>
    public static LeafOutcomeSet Load(string path)
    {
        if (!File.Exists(path)) throw new QuestInputException(path, null, null, "file not found", "a JSON file of leaf outcomes");
        return Parse(Utf8Text.ReadFile(path), path);
    }
}
