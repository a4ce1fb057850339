using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Quest.Agent.Rollout;
using Quest.Core;
using Quest.Synthesis;
using Quest.Synthesis.Export;
using Quest.Synthesis.Teacher;

namespace Quest.Recipe;

/// <summary>Stage 4 of the recipe: the teacher solves the train tasks through the real tools; what it gets right and grounded becomes SFT data.</summary>
public static class TeacherStage
{

    /// <summary>
    /// Stage 4: the teacher solves every train task through the real agent loop and tools. With the <c>grounded</c>
    /// style (small windows) only trajectories whose every turn was grounded in the student's view and that scored 1.0
    /// become SFT transcripts; with <c>oracle</c>, every trajectory at 1.0. Writes <c>teacher/sft.jsonl</c> (one row per
    /// session), the trajectories and ShareGPT.
    /// </summary>
    public static async Task<Dictionary<string, double>> RunAsync(Recipe.StageContext c, CancellationToken ct)
    {
        var o = c.Options;
        var tasks = TaskFile.Read(c.Paths.Tasks).Where(t => Recipe.IsTaught(o, t)).ToList();
        using var worlds = new TaskWorlds(o, c.Paths);
        // the student's view over the run's tokenizer: each turn is checked against the prompt a rollout will give the model
        var view = Quest.Models.Tokenization.ChatTemplate.View(TokenizerStage.Load(c.Paths), o.View);
        var teachers = new Dictionary<string, (OracleTeacher Oracle, GroundedTeacher Grounded)>();
        (OracleTeacher Oracle, GroundedTeacher Grounded) TeachersOf(SynthTask t)   // each task is solved with its own world's tools
        {
            if (teachers.TryGetValue(t.Corpus, out var known)) return known;
            var tools = worlds.ToolsOf(t);
            var reward = worlds.RewardOf(t);
            return teachers[t.Corpus] = (
                new OracleTeacher(tools, reward, new TeacherOptions { ContextThreshold = o.TeacherContextThreshold, Date = o.Date }),
                new GroundedTeacher(tools, reward, new GroundedTeacherOptions { Date = o.Date, View = view, Window = o.ContextTokens, ReplyTokens = o.EvalMaxNewTokens }));
        }
        var traj = new StringBuilder();
        var sft = new StringBuilder();
        var samples = new List<ShareGptSample>();
        var rewards = new List<double>();
        int solved = 0, kept = 0, sessions = 0, turns = 0, items = 0, visible = 0, gTurns = 0, gGrounded = 0;
        var keptBy = new Dictionary<string, int>();
        for (int i = 0; i < tasks.Count; i++)
        {
            ct.ThrowIfCancellationRequested();
            TeacherResult r;
            bool keep;
            string note = "";
            if (o.Teacher == "grounded")
            {
                var g = await TeachersOf(tasks[i]).Grounded.SolveAsync(tasks[i], ct).ConfigureAwait(false);
                r = g.Result;
                items += g.Groundedness.Items; visible += g.Groundedness.VisibleItems;
                gTurns += g.Groundedness.Turns; gGrounded += g.Groundedness.GroundedTurns;
                keep = g.Groundedness.Complete;
                note = g.Groundedness.Complete ? " grounded" : $" not grounded: {string.Join("; ", g.Groundedness.Misses.Take(2))}";
            }
            else { r = await TeachersOf(tasks[i]).Oracle.SolveAsync(tasks[i], ct).ConfigureAwait(false); keep = true; }
            rewards.Add(r.Reward.Total);
            c.Progress($"task {i + 1}/{tasks.Count} {tasks[i].Family,-10} reward {r.Reward.Total:0.000} turns {r.Trajectory.Rounds}{note}", null);
            // objective tasks: only a fully correct trajectory; open-ended ones: a compact report scores what it covers
            if (r.Reward.Total < (tasks[i].Type == TaskTypes.OpenEnded ? o.TeacherMinOpenEndedReward : 1.0) - 1e-9) continue;
            solved++;
            if (!keep) continue;
            kept++;
            keptBy[tasks[i].Family] = keptBy.GetValueOrDefault(tasks[i].Family) + 1;
            traj.Append(JsonSerializer.Serialize(r.Trajectory, RolloutRunner.JsonOptions)).Append('\n');
            foreach (var msgs in OracleTeacher.Sessions(r.Trajectory))
            {
                sessions++;
                turns += msgs.Count(m => m.Role == Roles.Assistant);
                sft.Append(new JsonObject { ["task_id"] = tasks[i].Id, ["messages"] = JsonSerializer.SerializeToNode(msgs) }.ToJsonString(RolloutRunner.JsonOptions)).Append('\n');
                samples.Add(ShareGpt.ToSample(msgs));
            }
        }
        if (kept == 0) throw new InvalidOperationException($"the teacher kept no train task ({solved} of {tasks.Count} at reward 1.0); nothing to fine-tune on");
        Directory.CreateDirectory(c.Paths.Teacher);
        AtomicFile.WriteAllText(c.Paths.TeacherTrajectories, traj.ToString());
        ShareGpt.Write(c.Paths.ShareGpt, samples);
        AtomicFile.WriteAllText(c.Paths.SftTranscripts, sft.ToString());   // last: its presence means the stage's files are all there
        var m = new Dictionary<string, double>
        {
            ["tasks"] = tasks.Count, ["solved"] = solved, ["kept"] = kept, ["mean_reward"] = Math.Round(rewards.Average(), 4), ["sft_rows"] = sessions, ["assistant_turns"] = turns,
        };
        if (o.Teacher == "grounded")
        {
            m["grounded_items_pct"] = Math.Round(100.0 * visible / Math.Max(1, items), 1);
            m["grounded_turns_pct"] = Math.Round(100.0 * gGrounded / Math.Max(1, gTurns), 1);
        }
        foreach (var (f, n) in keptBy.OrderBy(kv => kv.Key, StringComparer.Ordinal)) m["kept_" + f] = n;
        return m;
    }

}
