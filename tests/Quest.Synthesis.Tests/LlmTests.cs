using Microsoft.Extensions.AI;
using Quest.Agent.Policies;
using Quest.Synthesis;
using Quest.Synthesis.Families;
using Quest.Synthesis.Teacher;
using Xunit;

namespace Quest.Synthesis.Tests;

public class LlmTests(TeacherFixture fx) : IClassFixture<TeacherFixture>
{
    [Fact]
    public async Task Llm_family_phrases_questions_and_the_verifier_rejects_leaks()
    {
        // A stand-in "model" that phrases the prompt's facts as a question; every third call it names the answer.
        var g = fx.W.Graph;
        int calls = 0;
        var model = new ScriptedChatClient((msgs, _) =>
        {
            var prompt = msgs[^1].Text;
            var facts = prompt.Split('\n').Where(l => l.StartsWith("- it ")).Select(l => l[5..]).ToList();
            calls++;
            if (calls % 3 != 0) return $"Which one {string.Join(" and ", facts)}?";
            var answer = g.Entities.First(e => facts.All(c => g.FactsOf(e.Id).Any(f => g.FactClause(e.Id, f) == c)));
            return $"Is it {answer.Name}, the one that {string.Join(" and ", facts)}?";
        });
        var synth = new Synthesizer(g, [new LlmConstraintFamily(model)]);
        var run = await synth.RunAsync(new SynthesisOptions { Count = 4, Seed = 2 }, ct: TestContext.Current.CancellationToken);
        Assert.True(run.Tasks.Count >= 3, string.Join(", ", run.Rejected));
        Assert.All(run.Tasks, t => Assert.StartsWith("Which one", t.Question));
        Assert.True(run.Rejected.GetValueOrDefault("answer-leak") >= 1, string.Join(", ", run.Rejected));
        Assert.True(calls >= run.Tasks.Count);
    }

    [Fact]
    public async Task Reference_guided_teacher_strips_the_hint_and_keeps_only_reward_one()
    {
        var task = fx.Tasks.First(t => t.Family == "constraint");
        bool sawHint = false;
        IChatClient Model(string final) => new ScriptedChatClient((msgs, i) =>
        {
            sawHint |= msgs.Any(m => m.Text.Contains("REFERENCE SOLUTION"));
            return i == 0
                ? "<think>search first</think>\n<tool_call>\n{\"name\": \"search\", \"arguments\": {\"query\": [\"" + task.Answer + "\"]}}\n</tool_call>"
                : $"<think>done</think>\n<answer>{final}</answer>";
        });
        var good = await new ReferenceGuidedTeacher(Model(task.Reference.AnswerText), fx.Tools, fx.Synth.Verifier.Reward)
            .SolveAsync(task, ct: TestContext.Current.CancellationToken);
        Assert.True(sawHint);
        Assert.NotNull(good);
        Assert.Equal(1.0, good!.Reward.Total, 9);
        Assert.DoesNotContain(good.Trajectory.Sessions.SelectMany(s => s.Messages), m => m.Content.Contains("REFERENCE SOLUTION"));
        Assert.Equal(task.Question, good.Trajectory.Sessions[0].Messages[1].Content);
        var bad = await new ReferenceGuidedTeacher(Model("Final answer: nobody"), fx.Tools, fx.Synth.Verifier.Reward)
            .SolveAsync(task, attempts: 2, ct: TestContext.Current.CancellationToken);
        Assert.Null(bad);
    }
}
