using Quest.Eval;
using Quest.Core;
using System.Globalization;
using System.Text;
using Quest.Agent;
using Quest.Agent.Rollout;
using Quest.Interactive;
using Quest.Models.Checkpoints;
using Quest.Models.Generation;
using Quest.Models.Tokenization;
using Quest.Models.Training;
using Quest.Recipe;
using Quest.Synthesis;
using Quest.World;

namespace Quest.Analysis;

/// <summary>A finished or skipped stage, as a notebook table row.</summary>
/// <param name="Stage">Stage name.</param>
/// <param name="State">ran, or already complete.</param>
/// <param name="Seconds">Wall time of the stage (when it first ran).</param>
/// <param name="Metrics">Its headline metrics.</param>
public sealed record StageRow(string Stage, string State, double Seconds, string Metrics);

/// <summary>
/// What notebooks 06–08 do with a recipe run, written once: run stages with live charts (a loss curve per training
/// stage, reward / valid turns / zero-variance groups for RL), read the teacher's transcripts and the agent view the
/// model trains on, let a stage's model answer a task, roll one GRPO group out, and put two transcripts side by side.
/// The notebooks hand off through the run directory (<see cref="RecipeOptions.Notebook"/>: data/artifacts/recipe/notebook).
/// </summary>
public static class RecipeNotebook
{
    /// <summary>
    /// Runs <paramref name="stages"/> of the recipe (finished ones are skipped; interrupted ones resume), drawing each
    /// training stage live when a notebook kernel is there (a stage finished earlier shows its recorded curves), and
    /// returns one row per stage.
    /// </summary>
    public static async Task<IReadOnlyList<StageRow>> RunAsync(RecipeOptions options, IReadOnlyCollection<string> stages, CancellationToken ct = default)
    {
        var rows = new List<StageRow>();
        LiveChart? chart = null;
        string? charted = null;
        RunData? recorded = null;   // read once, when the first finished stage's curves are drawn
        await foreach (var e in Quest.Recipe.Recipe.RunAsync(options, stages, ct).ConfigureAwait(false))
        {
            if (e.Kind == RecipeEventKind.Progress && e.Metrics is { } m && m.TryGetValue("step", out var step))
            {
                if (charted != e.Stage)
                {
                    chart?.Flush();
                    chart = (e.Stage == "rl"
                        ? new LiveChart("RL (GRPO): reward, valid turns, zero-variance groups", yTitle: "share / reward")
                        : new LiveChart($"{e.Stage}: training loss", yTitle: "cross-entropy", logY: true)).WithProgress(StepsOf(options, e.Stage)).Show();
                    charted = e.Stage;
                }
                chart!.Add(step, [.. m.Where(kv => kv.Key != "step").Select(kv => (kv.Key, (double?)kv.Value))]);
            }
            else if (e.Kind is RecipeEventKind.Finished or RecipeEventKind.Skipped)
            {
                // A stage this run finished before: draw its recorded curves instead of the live ones.
                if (e.Kind == RecipeEventKind.Skipped && e.Stage is "pretrain" or "sft" or "rl")
                {
                    var run = recorded ??= RunData.Load(options.OutDir);
                    QuestNotebook.Display(e.Stage switch
                    {
                        "pretrain" => RunCharts.Training(run, "copy", "pretrain"),
                        "sft" => RunCharts.Training(run, "sft"),
                        _ => RunCharts.Rl(run.Rl()),
                    });
                }
                rows.Add(new StageRow(e.Stage, e.Kind == RecipeEventKind.Finished ? "ran" : "already complete", Math.Round(e.ElapsedSeconds, 1),
                    string.Join(", ", (e.Metrics ?? new Dictionary<string, double>()).Take(6).Select(kv => kv.Key + " " + kv.Value.ToString("0.###", CultureInfo.InvariantCulture)))));
            }
        }
        chart?.Flush();
        return rows;
    }

    /// <summary>
    /// The run notebooks 06–08 read, and a sentence saying which and why: the run named by <c>QUEST_RUN</c>; else the
    /// tiny preset's run (<c>data/artifacts/recipe/tiny</c>) when it has finished, since it shows each stage learning
    /// (the notebook run only shows each stage working); else the notebook run (<see cref="RecipeOptions.Notebook"/>,
    /// made by the notebooks in minutes when missing).
    /// </summary>
    public static (RecipeOptions Options, string Which) ChooseRun()
    {
        if (Environment.GetEnvironmentVariable("QUEST_RUN") is { Length: > 0 } named)
            return (RunData.ReadOptions(named), $"the run QUEST_RUN names ({Path.GetFileName(Path.GetFullPath(named).TrimEnd('/'))})");
        var tiny = RecipeOptions.Tiny;
        if (File.Exists(new RecipePaths(Path.GetFullPath(tiny.OutDir)).Summary))
            return (RunData.ReadOptions(tiny.OutDir), "the tiny preset's finished run (data/artifacts/recipe/tiny, where every stage learns; QUEST_RUN reads another)");
        return (RecipeOptions.Notebook, "the notebook run (data/artifacts/recipe/notebook: minutes on 2 cores, so it shows each stage working, not what it learns; `quest recipe --preset tiny` makes the run that learns, about 35 minutes, and these notebooks then read it)");
    }

    /// <summary>The steps a training stage reports (the copy phase's and mid-training's together for <c>pretrain</c>).</summary>
    public static int StepsOf(RecipeOptions o, string stage) => Math.Max(1, stage switch
    {
        "pretrain" => o.CopyPhaseSteps + o.PretrainSteps,
        "sft" => o.SftSteps,
        "rl" => o.RlSteps,
        _ => 1,
    });

    /// <summary>The teacher's kept trajectories (the SFT data's source).</summary>
    public static IReadOnlyList<Trajectory> TeacherTrajectories(RunData run) =>
        File.Exists(run.Paths.TeacherTrajectories) ? RolloutRunner.ReadTrajectories(run.Paths.TeacherTrajectories) : [];

    /// <summary>The SFT transcripts (one per context session of a kept teacher trajectory).</summary>
    public static IReadOnlyList<IReadOnlyList<ChatTurn>> SftTranscripts(RunData run) =>
        [.. ChatTemplate.ReadTranscripts(run.Paths.SftTranscripts).Select(t => (IReadOnlyList<ChatTurn>)t)];

    /// <summary>The run's tokenizer.</summary>
    public static QuestTokenizer Tokenizer(RunData run) => QuestTokenizer.Load(run.Paths.Tokenizer);

    /// <summary>The run's agent view over its tokenizer (what the teacher's check, SFT, RL and eval build prompts with).</summary>
    public static AgentView View(RunData run) => ChatTemplate.View(Tokenizer(run), run.Options.View);

    /// <summary>The run's SFT set, as its SFT stage builds it (<see cref="SftStage.Data"/>).</summary>
    public static Quest.Models.Training.ChatSftData SftData(RunData run) => SftStage.Data(run.Options, View(run), SftTranscripts(run));

    /// <summary>The SFT examples of one transcript, as the run's SFT stage builds them (the run's window and reply budget).</summary>
    public static IReadOnlyList<ChatEncoding> SftExamples(RunData run, IReadOnlyList<ChatTurn> transcript) =>
        [.. View(run).TrainingExamples(transcript, run.Options.ContextTokens, run.Options.EvalMaxNewTokens)];

    /// <summary>
    /// A training example as HTML, token by token, as readable text (decoded, wrapped to the cell's width): what the model
    /// sees (grey) and what it is trained to write (green, the loss mask); a thin white line separates tokens, special
    /// tokens are bold, and hovering a token shows its id.
    /// </summary>
    public static HtmlFragment MaskHtml(QuestTokenizer tokenizer, ChatEncoding example, int maxTokens = 600)
    {
        var sb = new StringBuilder("<div style=\"font-family:monospace;font-size:85%;line-height:1.9;white-space:pre-wrap;overflow-wrap:anywhere;max-width:100%\">");
        int start = Math.Max(0, example.Ids.Length - maxTokens);
        if (start > 0) sb.Append($"<i>… {start} earlier tokens …</i>\n");
        foreach (var (first, count, text) in tokenizer.DecodePieces(example.Ids[start..]))
        {
            int i = start + first;
            bool special = count == 1 && tokenizer.SpecialTokens.ContainsKey(text);
            var bg = example.AssistantMask[i] ? "#c8e6c9" : "#eeeeee";
            sb.Append("<span title=\"").Append(string.Join(" ", example.Ids[i..(i + count)])).Append(example.AssistantMask[i] ? " trained" : " context").Append("\" style=\"background:").Append(bg)
              .Append(";border-right:1px solid #fff").Append(special ? ";font-weight:bold" : "").Append("\">")
              .Append(Html.Escape(text)).Append("</span>");
        }
        sb.Append("</div>");
        return Html.Raw(sb.ToString());
    }

    /// <summary>The checkpoint directory of a stage model (<c>mt</c>, <c>sft</c>, <c>rl</c>; <c>untrained</c> has none).</summary>
    public static string? ModelDir(RunData run, string model) =>
        RecipeEval.Models(run.Paths).FirstOrDefault(m => m.Name == model) is { Name: not null } x ? x.Dir
        : throw new ArgumentException($"unknown model '{model}' (untrained, mt, sft or rl)", nameof(model));

    /// <summary>One stage model answers one task as an agent with the run's tools, greedily; the trajectory carries its reward.</summary>
    public static async Task<Trajectory> AnswerAsync(RunData run, string model, SynthTask task, CancellationToken ct = default)
    {
        var loaded = RecipeEval.Load(run.Paths, ModelDir(run, model), run.Options);
        using var sc = WorldEnvironment.Open(run.Paths.World);
        var eo = RecipeEval.EvalOptionsOf(run.Options) with { Samples = 1, Parallel = 1 };
        using var client = RecipeEval.LocalPolicy(loaded, eo, model);
        var agent = new ResearchAgent(client, Quest.Recipe.Recipe.ToolsOf(run.Options, sc),
            Evaluation.AgentOptionsFor(eo.MaxTurns, eo.MaxNewTokens, eo.Temperature, eo.Date, model), tokenCounter: loaded.Tokenizer);
        var traj = await agent.RunAsync(task.Question, new EpisodeInfo(task.Id, 0, task.Answer), cancellationToken: ct).ConfigureAwait(false);
        traj.Reward = (await Quest.Synthesis.Rewards.TaskRewardScorer.RewardAsync(task, traj, new Synthesizer(sc.Graph).Verifier.Reward, ct).ConfigureAwait(false))?.Total ?? 0;
        loaded.Model.Dispose();
        return traj;
    }

    /// <summary>
    /// A group worth looking at up close: one group of <paramref name="size"/> rollouts (temperature 1, as in RL) for each
    /// of the first <paramref name="tries"/> train tasks of the task world (constraint tasks first), all decoded together,
    /// and the first whose rewards differ (a flat group has all-zero advantages and teaches nothing to look at); the
    /// first group when every one is flat. Its advantages are the run's estimator's (<see cref="RecipeOptions.RlAdvantage"/>).
    /// </summary>
    public static async Task<(SynthTask Task, RolloutGroup Group, GroupAdvantages Advantages, int Tried, int Flat)> GroupWithVarianceAsync(RunData run, string model,
        int size = 8, int tries = 4, CancellationToken ct = default)
    {
        var o = run.Options;
        var candidates = run.Tasks.Values.Where(t => t.Split == "train" && t.Corpus is "" or TaskWorlds.WorldZero)
            .OrderBy(t => t.Family == "constraint" ? 0 : 1).ThenBy(t => t.Id, StringComparer.Ordinal).Take(tries).ToList();
        if (candidates.Count == 0) throw new InvalidOperationException($"run {run.Name} has no train task on its task world");
        var loaded = RecipeEval.Load(run.Paths, ModelDir(run, model), o);
        var estimator = AdvantageEstimators.Create(o.RlAdvantage, o.RlScaleByStd);
        IReadOnlyList<RolloutGroup> groups;
        using (var sc = WorldEnvironment.Open(run.Paths.World))
            groups = await RlTrainer.RolloutGroupsAsync(loaded, candidates, size, Quest.Recipe.Recipe.ToolsOf(o, sc), new Synthesizer(sc.Graph).Verifier.Reward,
                Evaluation.AgentOptionsFor(o.EvalMaxTurns, o.EvalMaxNewTokens, 1.0, o.Date, model), ct, greedyBaseline: estimator.NeedsGreedyRollout).ConfigureAwait(false);
        loaded.Model.Dispose();
        var pick = groups.FirstOrDefault(g => g.Rewards.Distinct().Count() > 1) ?? groups[0];
        var (_, adv) = RlTrainer.Rows([pick], estimator);
        return (pick.Task, pick, adv, groups.Count, groups.Count(g => g.Rewards.Distinct().Count() == 1));
    }

    /// <summary>The rubric report of an answer to a task (leaf by leaf; it renders as a tree in a notebook).</summary>
    public static async Task<Quest.Rubrics.RubricReport> RubricReportAsync(RunData run, SynthTask task, string answer, CancellationToken ct = default)
    {
        using var sc = WorldEnvironment.Open(run.Paths.World);
        return await new Quest.Synthesis.Verification.TaskScorer(sc.Graph.PageTextAsync).ReportAsync(task, answer, ct).ConfigureAwait(false);
    }

    /// <summary>
    /// <paramref name="k"/> sampled episodes per test task by a stage model at <paramref name="temperature"/> (for
    /// pass@k; the recipe's eval is greedy, one episode per task). Written to <c>RUN/eval-samples/MODEL-kK-tT/</c>, so a
    /// re-run resumes instead of sampling again.
    /// </summary>
    public static async Task<IReadOnlyList<Trajectory>> SampleAsync(RunData run, string model, int k, double temperature = 0.8, CancellationToken ct = default)
    {
        var tasks = RecipeEval.Tasks(run.Options, run.Paths).Where(t => t.Split == "test").ToList();
        var loaded = RecipeEval.Load(run.Paths, ModelDir(run, model), run.Options);
        using var sc = WorldEnvironment.Open(run.Paths.World);
        var eo = RecipeEval.EvalOptionsOf(run.Options) with { Samples = k, Temperature = temperature };
        using var client = RecipeEval.LocalPolicy(loaded, eo, model);
        var dir = Path.Combine(run.Dir, "eval-samples", string.Create(CultureInfo.InvariantCulture, $"{model}-k{k}-t{temperature:0.##}"));
        var ts = await Evaluation.RolloutAsync(client, model, loaded.Tokenizer, tasks, Quest.Recipe.Recipe.ToolsOf(run.Options, sc),
            new Synthesizer(sc.Graph).Verifier.Reward, eo, dir, ct: ct, episodeScope: client.EpisodeScope).ConfigureAwait(false);
        loaded.Model.Dispose();
        return ts;
    }

    /// <summary>Two transcripts side by side under their titles.</summary>
    public static HtmlFragment SideBySide(Trajectory left, string leftTitle, Trajectory right, string rightTitle) =>
        Html.Raw("<div style=\"display:flex;gap:12px\"><div style=\"flex:1;min-width:0\">" + Html.Heading(leftTitle, 4).Html + TranscriptHtml.Render(left).Html
            + "</div><div style=\"flex:1;min-width:0\">" + Html.Heading(rightTitle, 4).Html + TranscriptHtml.Render(right).Html + "</div></div>");
}
