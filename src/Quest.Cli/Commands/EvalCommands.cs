using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using Microsoft.Extensions.AI;
using Quest.Agent;
using Quest.Agent.Policies;
using Quest.Agent.Rollout;
using Quest.Core;
using Quest.Models.Checkpoints;
using Quest.Models.Generation;
using Quest.Models.Runtime;
using Quest.Models.Training;
using Quest.Recipe;
using Quest.Synthesis;
using Quest.World;

namespace Quest.Cli.Commands;

/// <summary>
/// <c>quest eval</c> (any task file, any policy: the scored table by family and complexity, one JSON summary and the
/// trajectories) and <c>quest train rl</c> (GRPO from a checkpoint on a task file, one fixed-format line per step).
/// </summary>
public static class EvalCommands
{
    /// <summary>Flag defaults come from the options record, not from copies.</summary>
    private static readonly EvalOptions Defaults = new();

    /// <summary>Builds <c>quest eval</c>.</summary>
    public static Command Create()
    {
        var cmd = new Command("eval", "Evaluate a policy on a task file: mean reward (avg@k), pass@k, answered and valid-turn shares, by family and complexity.");
        var tasks = new Option<string>("--tasks") { Description = "Task JSONL (quest synth).", Required = true };
        var policy = new Option<string>("--policy") { Description = "local:CHECKPOINT_DIR | openai:URL[,URL2]#MODEL | scripted:FILE.", Required = true };
        var corpus = new Option<string>("--corpus") { Description = "Corpus the tasks were built on (a stored corpus name or directory, e.g. RUN/world).", DefaultValueFactory = _ => "world" };
        var split = new Option<string?>("--split") { Description = "Only tasks of this split (train or test)." };
        var samples = new Option<int>("--samples") { Description = "Rollouts per task (k).", DefaultValueFactory = _ => Defaults.Samples };
        var maxTurns = new Option<int>("--max-turns") { Description = "Model calls per episode.", DefaultValueFactory = _ => Defaults.MaxTurns };
        var maxTokens = new Option<int>("--max-tokens") { Description = "Tokens per model call.", DefaultValueFactory = _ => Defaults.MaxNewTokens };
        var temperature = new Option<double>("--temperature") { Description = "Sampling temperature (0: greedy).", DefaultValueFactory = _ => Defaults.Temperature };
        var parallel = new Option<int>("--parallel") { Description = "Episodes run (and, for a local model, decoded) together.", DefaultValueFactory = _ => Defaults.Parallel };
        var output = new Option<string>("--out") { Description = "Output directory (trajectories.jsonl, eval.json); re-running resumes.", Required = true };
        var toolOutput = ToolOutputOption();
        var systemPrompt = new Option<string?>("--system-prompt") { Description = "Use this file's text as the system prompt, with the date appended (e.g. QUEST's SYSTEM_PROMPT for the released models)." };
        var baseline = new Option<string?>("--baseline") { Description = "An earlier eval's --out directory: print the paired difference (this policy − that one) on the tasks both ran, with a bootstrap 95% interval." };
        foreach (var o in new Option[] { tasks, policy, corpus, split, samples, maxTurns, maxTokens, temperature, parallel, output, toolOutput, systemPrompt, baseline }) cmd.Options.Add(o);
        cmd.SetAction(async (ParseResult pr, CancellationToken ct) =>
        {
            var err = pr.InvocationConfiguration.Error;
            var outW = pr.InvocationConfiguration.Output;
            try
            {
                var eo = new EvalOptions
                {
                    Samples = pr.GetValue(samples), MaxTurns = pr.GetValue(maxTurns), MaxNewTokens = pr.GetValue(maxTokens),
                    Temperature = pr.GetValue(temperature), Parallel = pr.GetValue(parallel),
                    SystemPromptTemplate = pr.GetValue(systemPrompt) is { Length: > 0 } spf ? SystemPrompt.ReadTemplate(spf) : null,
                };
                if (eo.Samples < 1 || eo.MaxTurns < 1 || eo.MaxNewTokens < 1 || eo.Parallel < 1)
                    throw new QuestInputException(null, null, null, "--samples, --max-turns, --max-tokens and --parallel must be at least 1");
                if (!double.IsFinite(eo.Temperature) || eo.Temperature < 0) throw new QuestInputException(null, null, null, $"--temperature {eo.Temperature}", "a finite temperature >= 0");
                var baseFile = pr.GetValue(baseline) is { Length: > 0 } bdir ? Path.Combine(bdir, RolloutRunner.TrajectoriesFile) : null;
                if (baseFile is not null && !File.Exists(baseFile)) throw new QuestInputException(baseFile, null, null, "no trajectories here", "--baseline DIR: the --out directory of an earlier quest eval");
                var list = TaskFile.Read(pr.GetValue(tasks)!).Where(t => pr.GetValue(split) is not { } s || t.Split == s).ToList();
                if (list.Count == 0) throw new QuestInputException(pr.GetValue(tasks), null, null, "no tasks to evaluate", "a task file with tasks (of the --split given)");
                using var sc = WorldEnvironment.Open(pr.GetValue(corpus)!);
                var reward = new Synthesizer(sc.Graph).Verifier.Reward;
                var spec = pr.GetValue(policy)!;
                IChatClient client;
                ITokenCounter? counter = null;
                string name = spec;
                string? view = null;
                if (spec.StartsWith("local:", StringComparison.OrdinalIgnoreCase))
                {
                    var dir = spec["local:".Length..];
                    if (!Checkpoint.Exists(dir)) throw new QuestInputException(dir, null, null, "no checkpoint here", "local:DIR with config.json and model.safetensors");
                    var loaded = Checkpoint.Load(dir, TorchRuntime.ResolveDevice("auto"));
                    view = loaded.Model.Config.View;
                    name = Path.GetFileName(Path.GetFullPath(dir).TrimEnd('/'));
                    client = Evaluation.LocalPolicy(loaded, eo, name);
                    counter = loaded.Tokenizer;
                }
                else client = PolicySpec.Create(spec, null);
                using var _ = client;
                await PolicySpec.EnsureReachableAsync(client, err, ct);   // a dead endpoint fails here, in seconds
                var outDir = QuestPaths.OutputDirectory(pr.GetValue(output), "--out");
                var tools = sc.ToolsSized(Sizes(pr.GetValue(toolOutput)!, view));
                var trajs = await Evaluation.RolloutAsync(client, name, counter, list, tools, reward, eo, outDir,
                    p => err.WriteLine($"episode {p.Done + p.Skipped}/{p.Total + p.Skipped} {p.Last.TaskId} {p.Last.Termination} reward {p.Last.Reward ?? 0:0.000}"), ct);
                var byId = list.ToDictionary(t => t.Id);
                var rows = Evaluation.Rows(name, trajs, byId);
                StageComparison? vs = null;
                if (baseFile is not null)
                {
                    var before = RolloutRunner.ReadTrajectories(baseFile);
                    vs = Evaluation.Compare(Path.GetFileName(Path.GetDirectoryName(Path.GetFullPath(baseFile))!), before, name, trajs, byId.Keys.ToHashSet());
                    if (vs.Tasks == 0) throw new QuestInputException(baseFile, null, null, "no task in common with this evaluation", "a baseline evaluated on the same task file");
                }
                AtomicFile.WriteAllText(Path.Combine(outDir, "eval.json"), JsonSerializer.Serialize(new { policy = spec, options = eo, rows, baseline = vs }, Recipe.Recipe.Json));
                outW.Write(Evaluation.FormatRows(rows));
                if (vs is not null) outW.Write(Evaluation.FormatComparisons([vs]));
                outW.WriteLine($"# {trajs.Count} episodes in {Path.Combine(outDir, "trajectories.jsonl")}, summary in {Path.Combine(outDir, "eval.json")}");
                Evaluation.EnsureMeasured(name, trajs.Where(t => byId.ContainsKey(t.TaskId)).ToList(), "Run the same command again to retry them.");
                return 0;
            }
            catch (Exception ex) { return CliGuard.Report(err, ex, "cancelled: finished episodes are kept; run the same command to resume"); }
        });
        return cmd;
    }

    /// <summary>The <c>--tool-output</c> option: how much search and visit print (what the model was trained to read).</summary>
    internal static Option<string> ToolOutputOption() => new("--tool-output")
    {
        Description = "Tool output sizes: small (3 results, short snippets: what the recipe's small-window models are trained on), quest (QUEST's), or auto (small for a local model with the question_recent view, quest otherwise).",
        DefaultValueFactory = _ => "auto",
    };

    /// <summary>Tool sizes for <c>--tool-output</c> given the policy's view (null: not a local model).</summary>
    internal static Quest.World.Tools.ToolSizes Sizes(string option, string? view) => option.ToLowerInvariant() switch
    {
        "small" => Quest.World.Tools.ToolSizes.SmallWindow,
        "quest" => Quest.World.Tools.ToolSizes.Quest,
        "auto" => view == AgentView.QuestionRecent ? Quest.World.Tools.ToolSizes.SmallWindow : Quest.World.Tools.ToolSizes.Quest,
        _ => throw new QuestInputException(null, null, null, $"--tool-output '{option}'", "auto, small or quest"),
    };

    /// <summary>Builds <c>quest train rl</c>.</summary>
    public static Command CreateRl()
    {
        var cmd = new Command("rl", "GRPO over the agent's own rollouts, from a checkpoint (e.g. the SFT stage), on the train tasks of a task file.");
        var init = new Option<string>("--init") { Description = "Checkpoint to start from (the SFT stage directory).", Required = true };
        var tasks = new Option<string>("--tasks") { Description = "Task JSONL; its train split is used.", Required = true };
        var corpus = new Option<string>("--corpus") { Description = "Corpus the tasks were built on (a stored corpus name or directory).", DefaultValueFactory = _ => "world" };
        var output = new Option<string>("--output") { Description = "Stage directory (checkpoints, metrics); re-running resumes.", Required = true };
        var steps = new Option<int?>("--steps") { Description = "RL steps." };
        var prompts = new Option<int?>("--prompts") { Description = "Tasks per step." };
        var group = new Option<int?>("--group-size") { Description = "Rollouts per task (QUEST: 8)." };
        var lr = new Option<double?>("--lr") { Description = "Peak learning rate." };
        var maxTurns = new Option<int?>("--max-turns") { Description = "Model calls per rollout." };
        var maxTokens = new Option<int?>("--max-tokens") { Description = "Tokens per model call." };
        var device = new Option<string?>("--device") { Description = "auto, cpu, cuda." };
        var temperature = new Option<double?>("--temperature") { Description = "Rollout sampling temperature, also the temperature of the policy the update optimises (QUEST: 1.0)." };
        var miniBatches = new Option<int?>("--mini-batches") { Description = "Optimizer steps per rollout batch (QUEST: 4)." };
        var noStd = new Option<bool>("--no-std") { Description = "Advantages r − group mean, not divided by the group's standard deviation (Dr. GRPO)." };
        var toolOutput = ToolOutputOption();
        var precision = new Option<string?>("--precision") { Description = "Matrix products of the update: fp32 (default), bf16 (mixed precision) or auto (bf16 on a CPU with native bfloat16 instructions); rollouts sample in float32." };
        var seed = new Option<long?>("--seed") { Description = "Seed of the task order and of the rollouts' sampling (default 1): runs with other seeds are independent samples of the stage." };
        var advantage = new Option<string?>("--advantage") { Description = "How rewards become advantages: grpo (default; --no-std for Dr. GRPO), rloo, or reinforce (the batch mean as baseline)." };
        foreach (var o in new Option[] { init, tasks, corpus, output, steps, prompts, group, lr, maxTurns, maxTokens, device, temperature, miniBatches, noStd, advantage, toolOutput, precision, seed }) cmd.Options.Add(o);
        cmd.SetAction(async (ParseResult pr, CancellationToken ct) =>
        {
            var err = pr.InvocationConfiguration.Error;
            var outW = pr.InvocationConfiguration.Output;
            var d = new RlOptions();
            var o = d;   // set inside the try: the output path is checked there
            try
            {
                o = d with
                {
                    Steps = pr.GetValue(steps) ?? d.Steps, PromptsPerStep = pr.GetValue(prompts) ?? d.PromptsPerStep, GroupSize = pr.GetValue(group) ?? d.GroupSize,
                    MaxTurns = pr.GetValue(maxTurns) ?? d.MaxTurns, MaxNewTokens = pr.GetValue(maxTokens) ?? d.MaxNewTokens, Device = pr.GetValue(device) ?? d.Device,
                    Temperature = pr.GetValue(temperature) ?? d.Temperature, Seed = pr.GetValue(seed) ?? d.Seed, Advantage = pr.GetValue(advantage) ?? d.Advantage,
                    Grpo = d.Grpo with { LearningRate = pr.GetValue(lr) ?? d.Grpo.LearningRate, MiniBatches = pr.GetValue(miniBatches) ?? d.Grpo.MiniBatches, ScaleByStd = !pr.GetValue(noStd), Precision = pr.GetValue(precision) ?? d.Grpo.Precision }, OutputDir = QuestPaths.OutputDirectory(pr.GetValue(output), "--output"),
                };
                o.Validate("command line");
                var initDir = pr.GetValue(init)!;
                if (!Checkpoint.Exists(initDir)) throw new QuestInputException(initDir, null, null, "no checkpoint here", "--init DIR with config.json and model.safetensors");
                var list = TaskFile.Read(pr.GetValue(tasks)!).Where(t => t.Split == "train").ToList();
                if (list.Count == 0) throw new QuestInputException(pr.GetValue(tasks), null, null, "no train tasks", "a task file with a train split");
                using var sc = WorldEnvironment.Open(pr.GetValue(corpus)!);
                var view = Quest.Models.Transformer.ModelConfig.Load(Path.Combine(initDir, Checkpoint.ConfigFile)).View;
                var trainer = RlTrainer.Create(initDir, list, sc.ToolsSized(Sizes(pr.GetValue(toolOutput)!, view)), new Synthesizer(sc.Graph).Verifier.Reward, o);
                if (trainer.History.Count > 0) outW.WriteLine($"# resuming from {o.OutputDir} at step {trainer.History[^1].Step}");
                await foreach (var r in trainer.RunAsync(ct)) outW.WriteLine(r.ToString());
                outW.WriteLine($"# done: {o.OutputDir}");
                return 0;
            }
            catch (Exception ex) { return CliGuard.Report(err, ex, $"cancelled: progress saved in {o.OutputDir} (run the same command to resume)"); }
        });
        return cmd;
    }
}
