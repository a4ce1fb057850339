using System.CommandLine;

namespace Quest.Cli.Commands;

/// <summary><c>quest bench …</c>: benchmarks that print one JSON line each (timings live here, never in tests).</summary>
public static class BenchCommands
{
    /// <summary>Builds the command group from each room's benchmark commands.</summary>
    public static Command Create()
    {
        var bench = new Command("bench", "Benchmarks; each prints one JSON line.");
        foreach (var c in SearchBench.Create()) bench.Subcommands.Add(c);   // bench search
        foreach (var c in ModelBench.Create()) bench.Subcommands.Add(c);    // bench train, bench generate
        bench.Subcommands.Add(Rollout());                                  // bench rollout
        return bench;
    }

    private static Command Rollout()
    {
        var cmd = new Command("rollout", "Agent rollouts per second: GRPO groups decoded together vs one rollout at a time, and an RL step's time split; prints one JSON line.");
        var corpus = new Option<string>("--corpus") { Description = "Corpus (a stored corpus name or directory).", DefaultValueFactory = _ => "world-tiny" };
        var tasks = new Option<string?>("--tasks") { Description = "Task JSONL (default: synthesized on the corpus)." };
        var init = new Option<string?>("--init") { Description = "Checkpoint to roll out (default: a fresh Tiny model, every turn at the token limit)." };
        var groups = new Option<int>("--groups") { Description = "Tasks (groups).", DefaultValueFactory = _ => 1 };
        var size = new Option<int>("--group-size") { Description = "Rollouts per task.", DefaultValueFactory = _ => 8 };
        var turns = new Option<int>("--max-turns") { Description = "Model calls per rollout.", DefaultValueFactory = _ => 4 };
        var tokens = new Option<int>("--max-tokens") { Description = "Tokens per model call.", DefaultValueFactory = _ => 64 };
        var device = new Option<string>("--device") { Description = "auto, cpu, cuda.", DefaultValueFactory = _ => "auto" };
        var view = new Option<string?>("--view") { Description = "Roll out under this agent view instead of the model's own (" + string.Join(", ", Quest.Core.AgentView.Kinds) + ")." };
        foreach (var o in new Option[] { corpus, tasks, init, groups, size, turns, tokens, device, view }) cmd.Options.Add(o);
        cmd.SetAction(async (ParseResult pr, CancellationToken ct) =>
        {
            try
            {
                if (pr.GetValue(groups) < 1 || pr.GetValue(size) < 1 || pr.GetValue(turns) < 1 || pr.GetValue(tokens) < 1)
                    throw new Quest.Core.QuestInputException("command line", null, null, "--groups, --group-size, --max-turns and --max-tokens must be at least 1");
                if (pr.GetValue(view) is { } v && !Quest.Core.AgentView.Kinds.Contains(v))
                    throw new Quest.Core.QuestInputException("--view", null, null, $"unknown agent view '{v}'", string.Join(" or ", Quest.Core.AgentView.Kinds));
                var json = await Quest.Recipe.RolloutBenchmark.RunAsync(pr.GetValue(corpus)!, pr.GetValue(tasks), pr.GetValue(init), pr.GetValue(groups), pr.GetValue(size),
                    pr.GetValue(turns), pr.GetValue(tokens), pr.GetValue(device)!, ct, pr.GetValue(view));
                pr.InvocationConfiguration.Output.WriteLine(json.ToJsonString());
                return 0;
            }
            catch (Exception ex) { return CliGuard.Report(pr.InvocationConfiguration.Error, ex); }
        });
        return cmd;
    }
}
