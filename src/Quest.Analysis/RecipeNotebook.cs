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
                    chart = e.Stage == "rl"
                        ? new LiveChart("RL (GRPO): reward, valid turns, zero-variance groups", yTitle: "share / reward").Show()
                        : new LiveChart($"{e.Stage}: training loss", yTitle: "cross-entropy", logY: true).Show();
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

    /// <summary>The teacher's kept trajectories (the SFT data's source).</summary>
    public static IReadOnlyList<Trajectory> TeacherTrajectories(RunData run) =>
        File.Exists(run.Paths.TeacherTrajectories) ? RolloutRunner.ReadTrajectories(run.Paths.TeacherTrajectories) : [];

    /// <summary>The SFT transcripts (one per context session of a kept teacher trajectory).</summary>
    public static IReadOnlyList<IReadOnlyList<ChatTurn>> SftTranscripts(RunData run) =>
        [.. ChatTemplate.ReadTranscripts(run.Paths.SftTranscripts).Select(t => (IReadOnlyList<ChatTurn>)t)];

    /// <summary>The run's tokenizer and agent view (what SFT, RL and eval build prompts with).</summary>
    public static AgentView View(RunData run) => new(QuestTokenizer.Load(run.Paths.Tokenizer), run.Options.View);

    /// <summary>
    /// A training example as HTML, token by token: what the model sees (grey) and what it is trained to write (green,
    /// the loss mask). Special tokens are bold.
    /// </summary>
    public static HtmlFragment MaskHtml(QuestTokenizer tokenizer, ChatEncoding example, int maxTokens = 600)
    {
        var sb = new StringBuilder("<div style=\"font-family:monospace;font-size:85%;line-height:1.9;white-space:pre-wrap\">");
        int start = Math.Max(0, example.Ids.Length - maxTokens);
        if (start > 0) sb.Append($"<i>… {start} earlier tokens …</i>\n");
        for (int i = start; i < example.Ids.Length; i++)
        {
            var text = tokenizer.TokenText(example.Ids[i]);
            bool special = tokenizer.SpecialTokens.ContainsKey(text);
            var bg = example.AssistantMask[i] ? "#c8e6c9" : "#eeeeee";
            sb.Append("<span title=\"").Append(example.Ids[i]).Append(example.AssistantMask[i] ? " trained" : " context").Append("\" style=\"background:").Append(bg)
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
        using var client = Evaluation.LocalPolicy(loaded, eo, model);
        var agent = new ResearchAgent(client, Quest.Recipe.Recipe.ToolsOf(run.Options, sc),
            RlTrainer.AgentOptionsFor(eo.MaxTurns, eo.MaxNewTokens, eo.Temperature, eo.Date, model), tokenCounter: loaded.Tokenizer);
        var traj = await agent.RunAsync(task.Question, new EpisodeInfo(task.Id, 0, task.Answer), cancellationToken: ct).ConfigureAwait(false);
        traj.Reward = (await Evaluation.RewardAsync(task, traj, new Synthesizer(sc.Graph).Verifier.Reward, ct).ConfigureAwait(false))?.Total ?? 0;
        loaded.Model.Dispose();
        return traj;
    }

    /// <summary>
    /// One GRPO group: <paramref name="size"/> sampled rollouts of <paramref name="task"/> by a stage model (temperature 1,
    /// as in RL), their rewards and the advantages the run's RL stage uses (its <c>rl_advantage</c> estimator and
    /// <c>rl_scale_by_std</c>: the recipe's default is reward minus the group mean, not divided by the group's σ).
    /// </summary>
    public static async Task<(RolloutGroup Group, GroupAdvantages Advantages)> GroupAsync(RunData run, string model, SynthTask task, int size = 8, CancellationToken ct = default)
    {
        var loaded = RecipeEval.Load(run.Paths, ModelDir(run, model), run.Options);
        using var sc = WorldEnvironment.Open(run.Paths.World);
        var o = run.Options;
        var groups = await RlTrainer.RolloutGroupsAsync(loaded, [task], size, Quest.Recipe.Recipe.ToolsOf(o, sc), new Synthesizer(sc.Graph).Verifier.Reward,
            RlTrainer.AgentOptionsFor(o.EvalMaxTurns, o.EvalMaxNewTokens, 1.0, o.Date, model), ct).ConfigureAwait(false);
        loaded.Model.Dispose();
        var (_, adv) = RlTrainer.Rows(groups, AdvantageEstimators.Create(o.RlAdvantage, o.RlScaleByStd));
        return (groups[0], adv);
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
        using var client = Evaluation.LocalPolicy(loaded, eo, model);
        var dir = Path.Combine(run.Dir, "eval-samples", string.Create(CultureInfo.InvariantCulture, $"{model}-k{k}-t{temperature:0.##}"));
        var ts = await Evaluation.RolloutAsync(client, model, loaded.Tokenizer, tasks, Quest.Recipe.Recipe.ToolsOf(run.Options, sc),
            new Synthesizer(sc.Graph).Verifier.Reward, eo, dir, ct: ct).ConfigureAwait(false);
        loaded.Model.Dispose();
        return ts;
    }

    /// <summary>Two transcripts side by side under their titles.</summary>
    public static HtmlFragment SideBySide(Trajectory left, string leftTitle, Trajectory right, string rightTitle) =>
        Html.Raw("<div style=\"display:flex;gap:12px\"><div style=\"flex:1;min-width:0\">" + Html.Heading(leftTitle, 4).Html + TranscriptHtml.Render(left).Html
            + "</div><div style=\"flex:1;min-width:0\">" + Html.Heading(rightTitle, 4).Html + TranscriptHtml.Render(right).Html + "</div></div>");
}
