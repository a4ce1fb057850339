using System.Text.Json;
using Quest.Core;
using Quest.Synthesis.Export;
using Quest.Synthesis.Teacher;
using Quest.Testing;
using Xunit;

namespace Quest.Synthesis.Tests;

/// <summary>
/// The exported formats, byte for byte (golden files under tests/Quest.Synthesis.Tests/Golden): one ShareGPT sample of an
/// oracle-teacher transcript (tool calls in json.dumps spelling, written by Protocol like every other turn) and one
/// verl row. QUEST_UPDATE_GOLDEN=1 rewrites them.
/// </summary>
public class ExportGoldenTests(TeacherFixture fx) : IClassFixture<TeacherFixture>
{
    [Fact]
    public async Task A_sharegpt_sample_of_a_teacher_transcript_is_the_golden_one()
    {
        var teacher = new OracleTeacher(fx.Tools, fx.Synth.Verifier.Reward, new TeacherOptions { Date = new DateOnly(2026, 1, 1) });
        var task = fx.Tasks.First(t => t.Family == "multihop");
        var r = await teacher.SolveAsync(task, TestContext.Current.CancellationToken);
        var sample = ShareGpt.ToSample(OracleTeacher.Sessions(r.Trajectory).First());
        var dir = Directory.CreateTempSubdirectory();
        var path = Path.Combine(dir.FullName, "sft.json");
        ShareGpt.Write(path, [sample]);
        var text = File.ReadAllText(path);
        Golden.Check("sharegpt_sample.json", text);
        // every tool call in it is spelled as the agent protocol spells it (a space after each comma and colon)
        foreach (var turn in sample.Conversations.Where(c => c.Value.Contains(Protocol.ToolCallOpen)))
        {
            var json = turn.Value.Split(Protocol.ToolCallOpen + "\n")[1].Split("\n" + Protocol.ToolCallClose)[0];
            Assert.Equal(PyJson.Dumps(System.Text.Json.Nodes.JsonNode.Parse(json)), json);
        }
    }

    [Fact]
    public void A_verl_row_is_the_golden_one()
    {
        var row = VerlParquet.ToRow(ExportTests.Sample(0), "You are a deep research assistant.", 0);
        Golden.Check("verl_row.json", JsonSerializer.Serialize(row, JsonFiles.Indented) + "\n");
    }
}
