using Microsoft.DotNet.Interactive.Events;
using Xunit;

namespace Quest.Notebooks.Tests;

/// <summary>The harness itself: it must fail loudly and precisely, and the library reference must resolve.</summary>
public sealed class HarnessTests
{
    private static string Fixture(string name) => Path.Combine(NotebookRunner.RepoRoot, "tests", "Quest.Notebooks.Tests", "Fixtures", name);

    private static Task<NotebookRun> Run(string name) =>
        NotebookRunner.RunAsync(Fixture(name), line => TestContext.Current.TestOutputHelper?.WriteLine(line),
            TimeSpan.FromMinutes(5), TestContext.Current.CancellationToken);

    [Fact]
    public async Task A_throwing_cell_fails_the_run_naming_notebook_cell_and_error()
    {
        var marker = Path.Combine(Path.GetDirectoryName(Fixture("throwing.ipynb"))!, "must-not-run.txt");
        File.Delete(marker);

        var run = await Run("throwing.ipynb");

        Assert.False(run.Succeeded);
        Assert.StartsWith("throwing.ipynb: code cell 3 (\"// third code cell\") failed:", run.Failure);
        Assert.Contains("System.InvalidOperationException: boom from fixture 42", run.Failure);
        Assert.Equal([1, 2, 3], run.Cells.Select(c => c.Number));
        Assert.False(File.Exists(marker), "cells after the failing one must not run");
        // The earlier cells really ran: cell 2 returned the value computed in cell 1.
        Assert.Equal(42, Returned(run.Cells[1]));
    }

    [Fact]
    public async Task A_compile_error_fails_the_run_with_the_compiler_message()
    {
        var run = await Run("compile_error.ipynb");

        Assert.False(run.Succeeded);
        Assert.StartsWith("compile_error.ipynb: code cell 2 (\"int notAnInt = \\\"forty-two\\\";\") failed:".Replace("\\\"", "\""), run.Failure);
        Assert.Contains("failed: compilation error: (1,", run.Failure);
        Assert.Contains("error CS0029: Cannot implicitly convert type 'string' to 'int'", run.Failure);
    }

    [Fact]
    public async Task Library_reference_is_rewritten_and_display_infrastructure_works()
    {
        var run = await Run("quest_library.ipynb");
        Assert.True(run.Succeeded, run.Failure);

        // #r "../artifacts/lib/Quest.Interactive.dll" resolved, and Quest.Core came along with it.
        Assert.Equal("forty-two", Returned(run.Cells[1]));

        // A figure as the last expression renders as plotly HTML through the registered formatter.
        var html = Assert.Single(run.Cells[2].Outputs, o => o.MimeType == "text/html").Value;
        Assert.Contains("newPlot", html);
        Assert.Contains("\"fixture loss\"", html);
        Assert.Contains("[3.0,1.5,0.75]", html);

        // The live chart was displayed once and then updated in place (same display id), ending with all points.
        var events = run.Cells[3].Events;
        var shown = Assert.Single(events.OfType<DisplayedValueProduced>());
        var updates = events.OfType<DisplayedValueUpdated>().ToList();
        Assert.NotEmpty(updates);
        Assert.All(updates, u => Assert.Equal(shown.ValueId, u.ValueId));
        var last = updates[^1].FormattedValues.Single(f => f.MimeType == "text/html").Value;
        Assert.Contains("[1.0,0.5,0.3333333333333333,0.25,0.2]", last);
        Assert.Contains("\"valid\"", last);
        Assert.Equal(1 + updates.Count, Returned(run.Cells[3]));

        // Tables escape text and keep HTML values.
        var table = run.Cells[4].Outputs.Single(o => o.MimeType == "text/html").Value;
        Assert.Contains("a&lt;b", table);
        Assert.Contains("quest-badge", table);

        // The working directory is the notebook's folder while it runs, as in Jupyter.
        Assert.Equal(Path.GetDirectoryName(Fixture("quest_library.ipynb")), Returned(run.Cells[5]));
    }

    private static object? Returned(CellRun cell) => Assert.Single(cell.Events.OfType<ReturnValueProduced>()).Value;

    [Theory]
    [InlineData("#r \"../artifacts/lib/Quest.Interactive.dll\"", "#r \"/LIB/Quest.Interactive.dll\"")]
    [InlineData("#r \"artifacts/lib/Quest.Models.dll\"\nusing X;", "#r \"/LIB/Quest.Models.dll\"\nusing X;")]
    [InlineData("#r \"nuget: Foo\"", "#r \"nuget: Foo\"")]
    [InlineData("#r \"/abs/other.dll\"", "#r \"/abs/other.dll\"")]
    public void Library_references_are_rewritten_to_the_test_output(string code, string expected) =>
        Assert.Equal(expected, NotebookRunner.RewriteReferences(code, "/LIB"));

    [Fact]
    public void Lint_reports_outputs_and_wrong_kernel()
    {
        var dir = Directory.CreateTempSubdirectory("quest-lint-").FullName;
        var path = Path.Combine(dir, "dirty.ipynb");
        File.WriteAllText(path, """
            {"nbformat": 4, "nbformat_minor": 5, "metadata": {"kernelspec": {"name": "python3"}},
             "cells": [{"cell_type": "markdown", "metadata": {}, "source": ["# t"]},
                       {"cell_type": "code", "execution_count": 3, "metadata": {}, "source": ["1"],
                        "outputs": [{"output_type": "execute_result", "data": {"text/plain": ["1"]}, "metadata": {}, "execution_count": 3}]}]}
            """);
        var problems = NotebookLint.Problems(path);
        Assert.Contains(problems, p => p.Contains("kernelspec.name \".net-csharp\", found \"python3\""));
        Assert.Contains(problems, p => p.StartsWith("cell 2 has 1 output(s)"));
        Assert.Contains(problems, p => p.StartsWith("cell 2 has execution_count 3"));
        Assert.Empty(NotebookLint.Problems(Fixture("quest_library.ipynb")));
    }
}
