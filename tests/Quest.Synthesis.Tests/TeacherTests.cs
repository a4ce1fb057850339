using Quest.Core;
using Quest.Synthesis;
using Quest.Synthesis.Export;
using Quest.Synthesis.Teacher;
using Quest.World.Search;
using Quest.World.Tools;
using Xunit;

namespace Quest.Synthesis.Tests;

/// <summary>A tiny world, its BM25 index, real tools and a mixed set of verified tasks.</summary>
public sealed class TeacherFixture : IDisposable
{
    public WorldFixture W { get; } = new();
    public Bm25Index Index { get; }
    public IReadOnlyList<ITool> Tools { get; }
    public Synthesizer Synth { get; }
    public IReadOnlyList<SynthTask> Tasks { get; }

    public TeacherFixture()
    {
        Index = Bm25Index.BuildInMemory(W.World.Corpus);
        Tools = [.. ToolRegistry.ForIndex(Index)];
        Synth = new Synthesizer(W.Graph);
        Tasks = Synth.RunAsync(new SynthesisOptions { Count = 10, Seed = 11 }).GetAwaiter().GetResult().Tasks;
    }

    public void Dispose() => Index.Dispose();
}

public class TeacherTests(TeacherFixture fx) : IClassFixture<TeacherFixture>
{
    [Fact]
    public async Task Teacher_trajectories_score_one_under_their_own_rubrics()
    {
        var teacher = new OracleTeacher(fx.Tools, fx.Synth.Verifier.Reward);
        Assert.Equal(5, fx.Tasks.Select(t => t.Family).Distinct().Count());
        foreach (var task in fx.Tasks)
        {
            var r = await teacher.SolveAsync(task, TestContext.Current.CancellationToken);
            Assert.True(r.Reward.Total >= 1.0 - 1e-9, $"{task.Family} {task.Id}: reward {r.Reward.Total} (base {r.Reward.Base}, valid {r.Reward.ValidRate})");
            Assert.Equal("answer", r.Trajectory.Termination);
            var transcript = OracleTeacher.Transcript(r.Trajectory);
            // Genuine tool responses from the real tools: search result headers and visit evidence blocks.
            Assert.Contains(transcript, m => m.Role == "user" && m.Content.Contains("<tool_response>") && m.Content.Contains("search for"));
            Assert.Contains(transcript, m => m.Role == "user" && m.Content.Contains("Evidence in page"));
            Assert.All(transcript.Where(m => m.Role == "assistant"), m => Assert.StartsWith("<think>", m.Content));
        }
    }

    [Fact]
    public async Task Teacher_with_a_context_threshold_writes_sessions_and_still_scores_one()
    {
        var teacher = new OracleTeacher(fx.Tools, fx.Synth.Verifier.Reward, new TeacherOptions { ContextThreshold = 1200 });
        int multi = 0;
        foreach (var task in fx.Tasks.Take(6))
        {
            var r = await teacher.SolveAsync(task, TestContext.Current.CancellationToken);
            Assert.True(r.Reward.Total >= 1.0 - 1e-9, $"{task.Family}: {r.Reward.Total}");
            if (r.Trajectory.Sessions.Count > 1)
            {
                multi++;
                Assert.Contains("RESEARCH STATE SUMMARY", r.Trajectory.Sessions[1].Messages[1].Content);
            }
        }
        Assert.True(multi > 0, "no trajectory crossed the context threshold");
    }

    [Fact]
    public async Task ShareGpt_and_verl_exports_of_teacher_data_read_back()
    {
        var teacher = new OracleTeacher(fx.Tools, fx.Synth.Verifier.Reward, new TeacherOptions { ContextThreshold = 1200 });
        var samples = new List<ShareGptSample>();
        foreach (var task in fx.Tasks.Take(4))
            samples.AddRange(OracleTeacher.ToShareGpt((await teacher.SolveAsync(task, TestContext.Current.CancellationToken)).Trajectory));
        var dir = Directory.CreateTempSubdirectory().FullName;
        var back = ShareGpt.Write(Path.Combine(dir, "sft.json"), samples);
        Assert.Equal(samples.Count, back.Count);
        Assert.True(back.Count >= 4);
        Assert.All(back, s => Assert.Contains("<tools>", s.System));
        Assert.Contains(back, s => s.Conversations[^1].Value.Contains("<answer>"));
        var rows = await VerlParquet.WriteAsync(Path.Combine(dir, "rl.parquet"), fx.Tasks, teacher.SystemPrompt, TestContext.Current.CancellationToken);
        Assert.Equal(fx.Tasks.Count, rows.Count);
        Assert.Contains(rows, r => r.RewardModel.GroundTruth.Type == "open-ended");
    }
}
