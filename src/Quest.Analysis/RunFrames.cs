using Microsoft.Data.Analysis;
using Quest.Eval;
using Quest.Models.Training;
using Quest.Recipe;

namespace Quest.Analysis;

/// <summary>
/// A run's data as <see cref="DataFrame"/>s (Microsoft.Data.Analysis): one row per eval episode, per eval-table row,
/// per training step and per RL step. Group, filter and aggregate them in a notebook, save them as CSV
/// (<see cref="DataFrame.SaveCsv(DataFrame, string, char, bool, System.Text.Encoding, System.Globalization.CultureInfo)"/>), and
/// they display as HTML tables once <c>QuestNotebook.Init()</c> ran.
/// </summary>
public static class RunFrames
{
    /// <summary>Every eval episode: model, task_id, family, complexity, split, sample, reward, answered, turns, valid_turns, sessions, max_context_tokens, termination.</summary>
    public static DataFrame Episodes(RunData run) => Episodes(run.Episodes());

    /// <summary>Episode rows as a frame.</summary>
    public static DataFrame Episodes(IReadOnlyList<EpisodeRow> rows) => new(
        new StringDataFrameColumn("model", rows.Select(r => r.Model)),
        new StringDataFrameColumn("task_id", rows.Select(r => r.TaskId)),
        new StringDataFrameColumn("family", rows.Select(r => r.Family)),
        new StringDataFrameColumn("complexity", rows.Select(r => r.Complexity)),
        new StringDataFrameColumn("split", rows.Select(r => r.Split)),
        new Int32DataFrameColumn("sample", rows.Select(r => r.Sample)),
        new DoubleDataFrameColumn("reward", rows.Select(r => r.Reward)),
        new BooleanDataFrameColumn("answered", rows.Select(r => r.Answered)),
        new Int32DataFrameColumn("turns", rows.Select(r => r.Turns)),
        new Int32DataFrameColumn("valid_turns", rows.Select(r => r.ValidTurns)),
        new Int32DataFrameColumn("sessions", rows.Select(r => r.Sessions)),
        new Int32DataFrameColumn("max_context_tokens", rows.Select(r => r.MaxContextTokens)),
        new StringDataFrameColumn("termination", rows.Select(r => r.Termination)));

    /// <summary>The eval table of <c>summary.json</c> (every model × group: all test, family:…, complexity:…, train (seen)).</summary>
    public static DataFrame EvalRows(RunData run) => EvalRows(run.Summary?.Eval ?? []);

    /// <summary>Eval rows as a frame.</summary>
    public static DataFrame EvalRows(IReadOnlyList<EvalRow> rows) => new(
        new StringDataFrameColumn("set", rows.Select(r => r.Set)),
        new StringDataFrameColumn("model", rows.Select(r => r.Model)),
        new StringDataFrameColumn("group", rows.Select(r => r.Group)),
        new Int32DataFrameColumn("tasks", rows.Select(r => r.Tasks)),
        new Int32DataFrameColumn("n", rows.Select(r => r.N)),
        new DoubleDataFrameColumn("mean_reward", rows.Select(r => r.MeanReward)),
        new DoubleDataFrameColumn("pass_at_k", rows.Select(r => r.PassAtK)),
        new DoubleDataFrameColumn("answered_pct", rows.Select(r => r.AnsweredPct)),
        new DoubleDataFrameColumn("valid_pct", rows.Select(r => r.ProtocolValidPct)),
        new DoubleDataFrameColumn("mean_turns", rows.Select(r => r.MeanTurns)));

    /// <summary>A trainer's steps (<c>copy</c>, <c>pretrain</c> or <c>sft</c>): step, loss, eval_loss (null between evals), lr, grad_norm, tokens_per_s.</summary>
    public static DataFrame Training(RunData run, string stage) => Training(run.Training(stage));

    /// <summary>Step reports as a frame.</summary>
    public static DataFrame Training(IReadOnlyList<StepReport> steps) => new(
        new StringDataFrameColumn("stage", steps.Select(s => s.Stage)),
        new Int32DataFrameColumn("step", steps.Select(s => s.Step)),
        new DoubleDataFrameColumn("loss", steps.Select(s => s.Loss)),
        new DoubleDataFrameColumn("eval_loss", steps.Select(s => s.EvalLoss)),
        new DoubleDataFrameColumn("lr", steps.Select(s => s.LearningRate)),
        new DoubleDataFrameColumn("grad_norm", steps.Select(s => s.GradNorm)),
        new DoubleDataFrameColumn("tokens_per_s", steps.Select(s => s.TokensPerSecond)));

    /// <summary>The RL stage's steps: step, reward, zero_variance, groups_with_reward, valid, answer, grad_norm, rollout_s, update_s, then one
    /// column per measure the update names (PPO clip: entropy, clip_fraction).</summary>
    public static DataFrame Rl(RunData run) => Rl(run.Rl());

    /// <summary>RL step reports as a frame.</summary>
    public static DataFrame Rl(IReadOnlyList<RlStepReport> steps)
    {
        var df = new DataFrame(
        new Int32DataFrameColumn("step", steps.Select(s => s.Step)),
        new DoubleDataFrameColumn("reward", steps.Select(s => s.RewardMean)),
        new DoubleDataFrameColumn("zero_variance", steps.Select(s => s.ZeroVarianceShare)),
        new DoubleDataFrameColumn("groups_with_reward", steps.Select(s => s.GroupsWithReward)),
        new DoubleDataFrameColumn("valid", steps.Select(s => s.ValidTurnRate)),
        new DoubleDataFrameColumn("answer", steps.Select(s => s.AnswerRate)),
        new DoubleDataFrameColumn("grad_norm", steps.Select(s => s.GradNorm)),
        new DoubleDataFrameColumn("rollout_s", steps.Select(s => s.RolloutSeconds)),
        new DoubleDataFrameColumn("update_s", steps.Select(s => s.UpdateSeconds)));
        foreach (var name in steps.SelectMany(s => s.Update.Keys).Distinct())
            df.Columns.Add(new DoubleDataFrameColumn(name, steps.Select(s => s.Update.TryGetValue(name, out var v) ? v : (double?)null)));
        return df;
    }

    /// <summary>Writes every frame of a run as CSV into <paramref name="dir"/> (episodes.csv, eval.csv, copy/pretrain/sft.csv, rl.csv); returns the files.</summary>
    public static IReadOnlyList<string> SaveCsv(RunData run, string dir)
    {
        Directory.CreateDirectory(dir);
        var files = new List<string>();
        void Save(DataFrame df, string name)
        {
            if (df.Rows.Count == 0) return;
            var path = Path.Combine(dir, name);
            var tmp = path + ".tmp";
            DataFrame.SaveCsv(df, tmp);
            File.Move(tmp, path, overwrite: true);
            files.Add(path);
        }
        Save(Episodes(run), "episodes.csv");
        Save(EvalRows(run), "eval.csv");
        foreach (var s in new[] { "copy", "pretrain", "sft" }) Save(Training(run, s), s + ".csv");
        Save(Rl(run), "rl.csv");
        return files;
    }

    /// <summary>A frame as an HTML table (the first <paramref name="maxRows"/> rows), the way notebooks show it.</summary>
    public static string ToHtml(DataFrame df, int maxRows = 50)
    {
        var sb = new System.Text.StringBuilder("<table class=\"quest-frame\"><thead><tr>");
        foreach (var c in df.Columns) sb.Append("<th>").Append(Quest.Interactive.Html.Escape(c.Name)).Append("</th>");
        sb.Append("</tr></thead><tbody>");
        for (long i = 0; i < Math.Min(df.Rows.Count, maxRows); i++)
        {
            sb.Append("<tr>");
            foreach (var c in df.Columns) sb.Append("<td>").Append(Quest.Interactive.Tables.Cell(c[i])).Append("</td>");
            sb.Append("</tr>");
        }
        sb.Append("</tbody></table>");
        if (df.Rows.Count > maxRows) sb.Append($"<p><i>{maxRows} of {df.Rows.Count} rows</i></p>");
        else sb.Append($"<p><i>{df.Rows.Count} rows × {df.Columns.Count} columns</i></p>");
        return sb.ToString();
    }
}
