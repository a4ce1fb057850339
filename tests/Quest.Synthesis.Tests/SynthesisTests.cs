using Quest.Synthesis;
using Quest.Synthesis.Families;
using Quest.World.Graph;
using Quest.Synthesis.Verification;
using Quest.World.Generation;
using Xunit;

namespace Quest.Synthesis.Tests;

/// <summary>One tiny generated world shared by the tests of this class.</summary>
public sealed class WorldFixture
{
    public GeneratedWorld World { get; } = GeneratedWorld.Generate(WorldOptions.Tiny);
    public KnowledgeGraph Graph { get; }
    public WorldFixture() => Graph = World.Graph;
}

public class SynthesisTests(WorldFixture fx) : IClassFixture<WorldFixture>
{
    [Theory]
    [InlineData("multihop")]
    [InlineData("constraint")]
    [InlineData("list")]
    [InlineData("citation")]
    [InlineData("report")]
    public async Task Every_family_yields_verified_tasks_on_the_world(string family)
    {
        var synth = new Synthesizer(fx.Graph, [Synthesizer.Family(family)]);
        var res = await synth.RunAsync(new SynthesisOptions { Count = 4, Seed = 3 }, ct: TestContext.Current.CancellationToken);
        Assert.True(res.Tasks.Count >= 3, $"{family}: {res.Tasks.Count} tasks; rejected: {string.Join(", ", res.Rejected.Select(r => $"{r.Key}={r.Value}"))}");
        // Most proposals verify: a negative that scores 1.0 means a check passes what it should not (a report "named" an
        // entity by citing its URL, and 85% of report proposals were rejected, shrinking the held-out split).
        Assert.True(res.Rejected.GetValueOrDefault("negative-scored-1") * 4 <= res.Candidates,
            $"{family}: {res.Rejected.GetValueOrDefault("negative-scored-1")} of {res.Candidates} candidates had a negative scoring 1.0");
        foreach (var t in res.Tasks)
        {
            Assert.Equal(family, t.Family);
            Assert.NotNull(t.Rubric);
            Assert.NotEmpty(t.Negatives);
            Assert.All(t.Negatives, n => Assert.True(n.Score < 1.0));
            // Re-score from the serialised rubric (what `quest rubric score` reads): reference 1.0.
            var fresh = new TaskVerifier(new TaskScorer(fx.Graph.PageTextAsync));
            Assert.Equal(1.0, await fresh.ScoreAnswerAsync(t, t.Reference.AnswerText, TestContext.Current.CancellationToken), 9);
            Assert.False(TaskVerifier.Leaks(t));
        }
    }

    [Fact]
    public async Task Synthesis_is_deterministic_and_balanced()
    {
        var a = await new Synthesizer(fx.Graph).RunAsync(new SynthesisOptions { Count = 10, Seed = 7 }, ct: TestContext.Current.CancellationToken);
        var b = await new Synthesizer(fx.Graph).RunAsync(new SynthesisOptions { Count = 10, Seed = 7 }, ct: TestContext.Current.CancellationToken);
        Assert.Equal(a.Tasks.Select(t => t.Id), b.Tasks.Select(t => t.Id));
        Assert.Equal(a.Tasks.Select(TaskFile.ToJsonLine), b.Tasks.Select(TaskFile.ToJsonLine));
        var fams = a.Tasks.GroupBy(t => t.Family).ToDictionary(g => g.Key, g => g.Count());
        // The same synthesizer run again gives the same tasks; with the first run's tasks as existing ones, none repeats.
        var s = new Synthesizer(fx.Graph);
        var c = await s.RunAsync(new SynthesisOptions { Count = 10, Seed = 7 }, ct: TestContext.Current.CancellationToken);
        var d = await s.RunAsync(new SynthesisOptions { Count = 10, Seed = 7 }, ct: TestContext.Current.CancellationToken);
        Assert.Equal(c.Tasks.Select(t => t.Id), d.Tasks.Select(t => t.Id));
        var e = await s.RunAsync(new SynthesisOptions { Count = 10, Seed = 7, ExistingTasks = c.Tasks }, ct: TestContext.Current.CancellationToken);
        Assert.Empty(e.Tasks.Select(t => t.Id).Intersect(c.Tasks.Select(t => t.Id)));
        Assert.True(e.Rejected.GetValueOrDefault("duplicate") > 0);
        Assert.True(fams.Count >= 4, string.Join(",", fams));
        Assert.Equal(a.Tasks.Count, a.Tasks.Select(t => t.Id).Distinct().Count());
    }

    [Fact]
    public async Task Split_is_by_seed_and_no_test_answer_is_a_train_answer()
    {
        var res = await new Synthesizer(fx.Graph).RunAsync(new SynthesisOptions { Count = 25, Seed = 5, TestFraction = 0.4 }, ct: TestContext.Current.CancellationToken);
        var train = res.Tasks.Where(t => t.Split == "train").ToList();
        var test = res.Tasks.Where(t => t.Split == "test").ToList();
        Assert.NotEmpty(train); Assert.NotEmpty(test);
        Assert.Empty(train.Select(t => t.SeedEntity).Intersect(test.Select(t => t.SeedEntity)));
        var objective = (IEnumerable<SynthTask> ts) => ts.Where(t => t.Type == TaskTypes.Objective && t.Family is "multihop" or "constraint").Select(t => t.Answer);
        Assert.Empty(objective(train).Intersect(objective(test)));
    }

    [Fact]
    public async Task Verifier_rejects_leaks_duplicates_and_passing_negatives()
    {
        var fam = new MultiHopFamily();
        TaskCandidate? cand = null;
        for (int s = 0; cand is null && s < 50; s++)
        {
            try { cand = fam.Propose(new FamilyContext { Graph = fx.Graph, Random = new Random(s), Complexity = new Complexity(1, 2) }); }
            catch (NoCandidateException) { }
        }
        Assert.NotNull(cand);
        var v = new TaskVerifier(new TaskScorer(fx.Graph.PageTextAsync));
        var ct = TestContext.Current.CancellationToken;
        var leak = cand with { Task = cand.Task with { Question = cand.Task.Question + " (Hint: " + cand.Task.Answer + ")" } };
        Assert.Equal(Rejections.AnswerLeak, (await v.VerifyAsync(leak, ct)).Reason);
        var bad = cand with { Negatives = [.. cand.Negatives, new NegativeAnswer { Kind = "copy", Answer = cand.Task.Reference.AnswerText }] };
        Assert.Equal(Rejections.NegativePassed, (await v.VerifyAsync(bad, ct)).Reason);
        var wrongRef = cand with { Task = cand.Task with { Reference = cand.Task.Reference with { AnswerText = "Final answer: nobody" } } };
        Assert.Equal(Rejections.ReferenceBelowOne, (await v.VerifyAsync(wrongRef, ct)).Reason);
        Assert.True((await v.VerifyAsync(cand, ct)).Accepted);
        Assert.Equal(Rejections.Duplicate, (await v.VerifyAsync(cand, ct)).Reason);
    }

    [Fact]
    public void Complexity_classes_cover_C1_to_C9()
    {
        Assert.Equal(Enumerable.Range(1, 9).Select(i => $"C{i}"), Complexity.All.Select(c => c.Name));
        Assert.Equal(new Complexity(2, 3), Complexity.Parse("C8"));
        Assert.Throws<ArgumentException>(() => Complexity.Parse("C0"));
    }
}
