using System.Text.Json;

namespace Quest.Notebooks.Tests;

/// <summary>
/// What a committed notebook must look like: valid nbformat 4 JSON, the .NET C# kernelspec (so Jupyter starts the
/// right kernel), code cells without outputs or execution counts (outputs are stripped before commit).
/// </summary>
public static class NotebookLint
{
    /// <summary>Every problem found, one line each (cell numbers are 1-based over all cells); empty when clean.</summary>
    public static IReadOnlyList<string> Problems(string path)
    {
        var problems = new List<string>();
        JsonDocument doc;
        try
        {
            doc = JsonDocument.Parse(File.ReadAllText(path));
        }
        catch (JsonException e)
        {
            return [$"not valid JSON (line {e.LineNumber + 1}, byte {e.BytePositionInLine + 1}): {e.Message}"];
        }
        using (doc)
        {
            var root = doc.RootElement;
            if (!root.TryGetProperty("nbformat", out var nbf) || nbf.ValueKind != JsonValueKind.Number || nbf.GetInt32() != 4)
                problems.Add("expected \"nbformat\": 4");
            var kernelName = root.TryGetProperty("metadata", out var meta) && meta.TryGetProperty("kernelspec", out var ks)
                && ks.TryGetProperty("name", out var kn) ? kn.GetString() : null;
            if (kernelName != ".net-csharp")
                problems.Add($"expected metadata.kernelspec.name \".net-csharp\", found {(kernelName is null ? "none" : $"\"{kernelName}\"")}");
            if (!root.TryGetProperty("cells", out var cells) || cells.ValueKind != JsonValueKind.Array)
            {
                problems.Add("expected a \"cells\" array");
                return problems;
            }
            var i = 0;
            foreach (var cell in cells.EnumerateArray())
            {
                i++;
                if (!cell.TryGetProperty("cell_type", out var type) || type.GetString() != "code") continue;
                if (cell.TryGetProperty("outputs", out var outputs) && outputs.ValueKind == JsonValueKind.Array && outputs.GetArrayLength() > 0)
                    problems.Add($"cell {i} has {outputs.GetArrayLength()} output(s); strip outputs before committing");
                if (cell.TryGetProperty("execution_count", out var ec) && ec.ValueKind != JsonValueKind.Null)
                    problems.Add($"cell {i} has execution_count {ec}; expected null");
            }
        }
        return problems;
    }
}
