using System.Runtime.CompilerServices;
using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using Microsoft.Extensions.AI;
using Quest.Eval;
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
using Quest.World.Tools;

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
                // a local checkpoint is opened in a method of its own, so an endpoint or scripted policy never loads TorchSharp
                var (client, counter, name, view, scope) = spec.StartsWith("local:", StringComparison.OrdinalIgnoreCase)
                    ? LocalPolicy(spec["local:".Length..], eo)
                    : (PolicySpec.Create(spec, null), (ITokenCounter?)null, spec, (string?)null, (Func<IDisposable>?)null);
                using var _ = client;
                await PolicySpec.EnsureReachableAsync(client, err, ct);   // a dead endpoint fails here, in seconds
                var outDir = QuestPaths.OutputDirectory(pr.GetValue(output), "--out");
                var tools = sc.ToolsSized(Sizes(pr.GetValue(toolOutput)!, view));
                var trajs = await Evaluation.RolloutAsync(client, name, counter, list, tools, reward, eo, outDir,
                    p => err.WriteLine($"episode {p.Done + p.Skipped}/{p.Total + p.Skipped} {p.Last.TaskId} {p.Last.Termination} reward {p.Last.Reward ?? 0:0.000}"), ct, scope);
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

    /// <summary>A local checkpoint as a policy: the client, its tokenizer (to count tokens), its name, its view and the
    /// scope that decodes concurrent episodes together.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static (IChatClient Client, ITokenCounter? Counter, string Name, string? View, Func<IDisposable>? Scope) LocalPolicy(string dir, EvalOptions eo)
    {
        if (!Checkpoint.Exists(dir)) throw new QuestInputException(dir, null, null, "no checkpoint here", "local:DIR with config.json and model.safetensors");
        var loaded = Checkpoint.Load(dir, TorchRuntime.ResolveDevice("auto"));
        var name = Path.GetFileName(Path.GetFullPath(dir).TrimEnd('/'));
        var client = RecipeEval.LocalPolicy(loaded, eo, name);
        return (client, loaded.Tokenizer, name, loaded.Model.Config.View, client.EpisodeScope);
    }

    /// <summary>The <c>--tool-output</c> option: how much search and visit print (what the model was trained to read).</summary>
    internal static Option<string> ToolOutputOption() => new("--tool-output")
    {
        Description = "Tool output sizes: small (3 results, short snippets: what the recipe's small-window models are trained on), quest (QUEST's), or auto (small for a local model with the question_recent view, quest otherwise).",
        DefaultValueFactory = _ => "auto",
    };

    /// <summary>Tool sizes for <c>--tool-output</c> given the policy's view (null: not a local model).</summary>
    internal static ToolSizes Sizes(string option, string? view) =>
        ToolSizes.Resolve(option, view) ?? throw new QuestInputException(null, null, null, $"--tool-output '{option}'", "auto, " + string.Join(" or ", ToolSizes.Names));
}
