using Quest.Synthesis;
using Quest.Synthesis.Teacher;
using Quest.World.Tools;
using Quest.World;
using Quest.World.Corpus;
using Xunit;

namespace Quest.Synthesis.Tests;

/// <summary>
/// Synthesis on the real FOLDOC dictionary (Debian's dict-foldoc: ~15k articles, link graph, category and date tags).
/// Slow: fetches the package with apt-get download when it is not installed, and imports 15k pages.
/// </summary>
[Trait("Category", "Slow")]
public class FoldocTests
{
    private static async Task<WorldEnvironment> Foldoc(CancellationToken ct)
    {
        var dir = DictdSources.Locate(DictdFlavor.Foldoc) ?? await DictdSources.FetchAsync(DictdFlavor.Foldoc, null, ct);
        var corpus = DictdImporter.ImportDirectory(DictdFlavor.Foldoc, dir, new ImportOptions { OnError = OnBadRecord.Skip });
        return WorldEnvironment.FromCorpus(corpus);
    }

    [Fact]
    public async Task Every_family_yields_verified_tasks_on_foldoc_and_the_teacher_solves_them()
    {
        var ct = TestContext.Current.CancellationToken;
        using var sc = await Foldoc(ct);
        Assert.True(sc.Graph.Entities.Count > 10_000);
        var synth = new Synthesizer(sc.Graph);
        var run = await synth.RunAsync(new SynthesisOptions { Count = 15, Seed = 1 }, ct: ct);
        var byFamily = run.Tasks.GroupBy(t => t.Family).ToDictionary(g => g.Key, g => g.Count());
        foreach (var f in Synthesizer.BuiltinFamilies())
            Assert.True(byFamily.GetValueOrDefault(f.Name) > 0, $"no {f.Name} task on FOLDOC; rejected: {string.Join(", ", run.Rejected.Select(r => $"{r.Key}={r.Value}"))}");
        var teacher = new OracleTeacher(sc.ToolsSized(ToolSizes.Quest), synth.Verifier.Reward);
        foreach (var t in run.Tasks.Take(10))
        {
            var r = await teacher.SolveAsync(t, ct);
            Assert.True(r.Reward.Total >= 1.0 - 1e-9, $"{t.Family} {t.Id}: {r.Reward.Total}");
        }
    }
}
