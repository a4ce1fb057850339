using System.Text.Json;
using Xunit;

[assembly: CollectionBehavior(CollectionBehavior.CollectionPerAssembly)] // notebooks change the process's working directory

namespace Quest.Notebooks.Tests;

/// <summary>Every notebooks/*.ipynb runs cell by cell in the harness, and is committed without outputs.</summary>
public sealed class NotebookTests
{
    private const string None = "(no notebooks yet)";

    /// <summary>The notebooks folder of the repository.</summary>
    public static string NotebooksDir => Path.Combine(NotebookRunner.RepoRoot, "notebooks");

    /// <summary>One row per notebook (file name); a single skipped row while the folder is empty. A notebook whose
    /// metadata has <c>"quest": {"slow": true}</c> gets the Slow trait (left out of the default run).</summary>
    public static IEnumerable<ITheoryDataRow> Notebooks()
    {
        var files = Directory.Exists(NotebooksDir)
            ? Directory.GetFiles(NotebooksDir, "*.ipynb").Select(Path.GetFileName).Order(StringComparer.Ordinal).ToList()
            : [];
        if (files.Count == 0)
        {
            yield return new TheoryDataRow<string>(None) { Skip = "notebooks/ holds no .ipynb yet", TestDisplayName = None };
            yield break;
        }
        foreach (var f in files)
        {
            var row = new TheoryDataRow<string>(f!) { TestDisplayName = f };
            if (IsSlow(Path.Combine(NotebooksDir, f!))) row.Traits["Category"] = ["Slow"];
            yield return row;
        }
    }

    [Theory]
    [MemberData(nameof(Notebooks))]
    public async Task Notebook_runs_every_cell(string notebook)
    {
        var timeoutS = int.TryParse(Environment.GetEnvironmentVariable("QUEST_NOTEBOOK_TIMEOUT_S"), out var t) ? t : 900;
        var output = TestContext.Current.TestOutputHelper;
        // Per-cell timings go to the test output and to data/artifacts/notebook-runs/NAME.log (kept for CI logs).
        var lines = new List<string>();
        var run = await NotebookRunner.RunAsync(Path.Combine(NotebooksDir, notebook), line => { output?.WriteLine(line); lines.Add(line); },
            TimeSpan.FromSeconds(timeoutS), TestContext.Current.CancellationToken);
        Quest.Core.AtomicFile.WriteAllText(Path.Combine(Quest.Core.QuestPaths.ArtifactDir("notebook-runs"), Path.ChangeExtension(notebook, ".log")),
            string.Join('\n', lines) + '\n');
        Assert.True(run.Succeeded, run.Failure);
        Assert.NotEmpty(run.Cells);
    }

    [Theory]
    [MemberData(nameof(Notebooks))]
    public void Notebook_is_committed_clean(string notebook)
    {
        var path = Path.Combine(NotebooksDir, notebook);
        var problems = NotebookLint.Problems(path);
        Assert.True(problems.Count == 0, $"{notebook}:\n  " + string.Join("\n  ", problems));
    }

    private static bool IsSlow(string path)
    {
        try
        {
            using var doc = JsonDocument.Parse(File.ReadAllText(path));
            return doc.RootElement.TryGetProperty("metadata", out var m) && m.TryGetProperty("quest", out var q)
                   && q.TryGetProperty("slow", out var s) && s.ValueKind == JsonValueKind.True;
        }
        catch (JsonException)
        {
            return false; // the clean-commit test reports the broken JSON
        }
    }
}
