using System.Text.Json;
using Quest.Agent;
using Quest.Agent.Rollout;
using Quest.Core;
using Quest.Models.Checkpoints;
using Quest.Models.Training;
using Quest.Recipe;
using Quest.Synthesis;

namespace Quest.Analysis;

/// <summary>One eval episode as a flat row: the unit every table and chart of a run is computed from.</summary>
/// <param name="Model">Stage model (<c>untrained</c>, <c>mt</c>, <c>sft</c>, <c>rl</c>).</param>
/// <param name="TaskId">Task id.</param>
/// <param name="Family">Task family.</param>
/// <param name="Complexity">Complexity class (C1…C9).</param>
/// <param name="Split">train or test.</param>
/// <param name="Sample">Sample index (0 for greedy evals).</param>
/// <param name="Reward">The task's reward (0 when the episode ended on invalid turns).</param>
/// <param name="Answered">Whether the agent gave an answer.</param>
/// <param name="Turns">Model calls.</param>
/// <param name="ValidTurns">Calls that were a well-formed tool call or an answer.</param>
/// <param name="Sessions">Context sessions (condensations + 1).</param>
/// <param name="MaxContextTokens">Largest context the model saw.</param>
/// <param name="Termination">How the episode ended.</param>
public sealed record EpisodeRow(string Model, string TaskId, string Family, string Complexity, string Split, int Sample, double Reward,
    bool Answered, int Turns, int ValidTurns, int Sessions, int MaxContextTokens, string Termination);

/// <summary>
/// A finished (or partly finished) <c>quest recipe</c> run directory, read back: its options, stage records, tasks,
/// the eval rollouts of every stage model, the training metrics and <c>summary.json</c>. Stages that did not run are
/// simply absent (empty lists), so a notebook can read a run while it is still going.
/// </summary>
public sealed class RunData
{
    private RunData(string dir, RecipeOptions options)
    {
        Dir = dir; Paths = new RecipePaths(dir); Options = options;
    }

    /// <summary>The run directory (full path).</summary>
    public string Dir { get; }
    /// <summary>A short name for tables: the preset and the folder name.</summary>
    public string Name => $"{Options.Preset}:{System.IO.Path.GetFileName(Dir)}";
    /// <summary>The run's file layout.</summary>
    public RecipePaths Paths { get; }
    /// <summary>The options the run was started with (<c>recipe.json</c>).</summary>
    public RecipeOptions Options { get; }
    /// <summary>Finished stages with wall time and metrics.</summary>
    public IReadOnlyList<StageRecord> Stages { get; private set; } = [];
    /// <summary><c>summary.json</c>, when the eval stage finished.</summary>
    public RecipeSummary? Summary { get; private set; }
    /// <summary>The run's tasks (train and test).</summary>
    public IReadOnlyDictionary<string, SynthTask> Tasks { get; private set; } = new Dictionary<string, SynthTask>();
    /// <summary>Eval rollouts per stage model, in recipe order (models whose eval has not run are absent).</summary>
    public IReadOnlyDictionary<string, IReadOnlyList<Trajectory>> Eval { get; private set; } = new Dictionary<string, IReadOnlyList<Trajectory>>();
    /// <summary>The stage models in recipe order that have eval rollouts.</summary>
    public IReadOnlyList<string> Models => [.. RecipeEval.Models(Paths).Select(m => m.Name).Where(Eval.ContainsKey)];

    /// <summary>Reads <paramref name="dir"/>; a folder that holds no recipe run throws <see cref="QuestInputException"/>.</summary>
    public static RunData Load(string dir)
    {
        var options = ReadOptions(dir);
        var run = new RunData(options.OutDir, options);
        run.Reload();
        return run;
    }

    /// <summary>
    /// The options a run in <paramref name="dir"/> was started with (its <c>recipe.json</c>, <see cref="RecipeOptions.OutDir"/>
    /// set to the full path), without reading anything else; a folder that holds no recipe run throws <see cref="QuestInputException"/>.
    /// </summary>
    public static RecipeOptions ReadOptions(string dir)
    {
        var full = System.IO.Path.GetFullPath(dir);
        var p = new RecipePaths(full);
        if (!File.Exists(p.OptionsFile))
            throw new QuestInputException(full, null, null, "not a recipe run directory (no recipe.json)", "a directory written by `quest recipe` (e.g. data/artifacts/recipe/tiny)");
        try { return (JsonSerializer.Deserialize<RecipeOptions>(Utf8Text.ReadFile(p.OptionsFile), Quest.Recipe.Recipe.Json) ?? throw new JsonException("null")) with { OutDir = full }; }
        catch (JsonException ex) { throw new QuestInputException(p.OptionsFile, null, null, $"invalid recipe options: {Quest.Core.JsonFiles.Describe(ex)}", "recipe.json written by `quest recipe`", ex); }
    }

    /// <summary>Reads the files again (for a run that is still going).</summary>
    public RunData Reload()
    {
        Stages = Quest.Recipe.Recipe.Completed(Dir);
        Summary = File.Exists(Paths.Summary) ? RecipeSummary.Read(Dir) : null;
        Tasks = File.Exists(Paths.Tasks) ? TaskFile.Read(Paths.Tasks).ToDictionary(t => t.Id) : new Dictionary<string, SynthTask>();
        var eval = new Dictionary<string, IReadOnlyList<Trajectory>>();
        foreach (var (name, _) in RecipeEval.Models(Paths))
        {
            var f = System.IO.Path.Combine(Paths.Eval, name, RolloutRunner.TrajectoriesFile);
            if (File.Exists(f)) eval[name] = RolloutRunner.ReadTrajectories(f);
        }
        Eval = eval;
        return this;
    }

    /// <summary>Every eval episode of every model as a row (tasks unknown to the run are left out).</summary>
    public IReadOnlyList<EpisodeRow> Episodes() =>
        [.. Eval.SelectMany(kv => kv.Value.Where(t => Tasks.ContainsKey(t.TaskId)).Select(t => Row(kv.Key, t)))];

    /// <summary>One trajectory as a row.</summary>
    public EpisodeRow Row(string model, Trajectory t)
    {
        var task = Tasks[t.TaskId];
        return new EpisodeRow(model, t.TaskId, task.Family, task.Complexity, task.Split, t.Sample, t.Reward ?? 0,
            t.Termination == Termination.Answer, t.Turns.Count, t.Turns.Count(x => x.Kind is "answer" or "tool_call"),
            Math.Max(1, t.Sessions.Count), t.MaxContextTokens, t.Termination);
    }

    /// <summary>The test-split trajectories of one model.</summary>
    public IReadOnlyList<Trajectory> Test(string model) =>
        Eval.TryGetValue(model, out var ts) ? [.. ts.Where(t => Tasks.TryGetValue(t.TaskId, out var task) && task.Split == "test")] : [];

    /// <summary>The per-step training reports of a stage's trainer: <c>copy</c> (the copy phase), <c>pretrain</c> or <c>sft</c>.</summary>
    public IReadOnlyList<StepReport> Training(string stage)
    {
        var dir = stage switch
        {
            "copy" => Paths.CopyPhase, "pretrain" => Paths.Pretrain, "sft" => Paths.Sft,
            _ => throw new ArgumentException($"unknown training stage '{stage}' (copy, pretrain or sft)", nameof(stage)),
        };
        var f = System.IO.Path.Combine(dir, Checkpoint.MetricsFile);
        return File.Exists(f) ? [.. Jsonl.Read<StepReport>(f, tolerateTornTail: true, Trainer.MetricsJson, legacyKeys: true)] : [];
    }

    /// <summary>The RL stage's per-step reports.</summary>
    public IReadOnlyList<RlStepReport> Rl()
    {
        var f = System.IO.Path.Combine(Paths.Rl, Checkpoint.MetricsFile);
        return File.Exists(f) ? [.. Jsonl.Read<RlStepReport>(f, tolerateTornTail: true, RlTrainer.Json)] : [];
    }
}
