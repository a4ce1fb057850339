using System.CommandLine;
using System.Globalization;
using Microsoft.Extensions.AI;
using Quest.Agent;
using Quest.Agent.Context;
using Quest.Agent.Policies;
using Quest.Agent.Rollout;
using Quest.Core;
using Quest.Synthesis;
using Quest.Synthesis.Rewards;
using Quest.World;
using Quest.World.Corpus;
using Quest.World.Generation;
using Spectre.Console;

namespace Quest.Cli.Commands;

/// <summary><c>quest ask</c> and <c>quest rollout</c>: run the research agent.</summary>
public static class AgentCommands
{
    // ------------------------------------------------------------------ shared options
    private sealed class AgentFlags
    {
        public readonly Option<string?> Endpoint = new("--endpoint") { Description = "OpenAI-compatible base URL(s), comma-separated (vLLM/SGLang: http://HOST:PORT/v1)." };
        public readonly Option<string?> Model = new("--model") { Description = "Served model name (default: deepresearch)." };
        public readonly Option<string?> Policy = new("--policy") { Description = "Policy spec: openai:URL[,URL2]#MODEL | scripted:FILE | local:CHECKPOINT_DIR (instead of --endpoint/--model)." };
        /// <summary>Flag defaults come from the options record (QUEST's values), not from copies.</summary>
        private static readonly AgentOptions Defaults = new();

        public readonly Option<string> Corpus = new("--corpus") { Description = "Corpus for search/visit: a stored corpus name or directory; generated worlds (world, world-tiny, world-small, world:SIZE[:SEED]) are built on first use; 'none' gives no tools.", DefaultValueFactory = _ => "world" };
        public readonly Option<int> MaxTurns = new("--max-turns") { Description = "Model calls per episode (then one final-answer request).", DefaultValueFactory = _ => Defaults.MaxTurns };
        public readonly Option<int> MaxTokens = new("--max-tokens") { Description = "Max tokens per model call.", DefaultValueFactory = _ => Defaults.MaxTokensPerTurn };
        public readonly Option<int> MaxContext = new("--max-context") { Description = "Context limit in tokens (then one final-answer request).", DefaultValueFactory = _ => Defaults.MaxContextTokens };
        public readonly Option<int> Threshold = new("--memory-threshold") { Description = "Context-manager threshold in tokens (QUEST MEMORY_THRESHOLD).", DefaultValueFactory = _ => 16000 };
        public readonly Option<string> Strategy = new("--memory-strategy") { Description = "condenser | discard_all | hide_tool_result | off.", DefaultValueFactory = _ => "condenser" };
        public readonly Option<string> Condenser = new("--condenser") { Description = "Who writes the research state: rules (offline) or policy (the same model, QUEST's LLM condenser).", DefaultValueFactory = _ => "rules" };
        public readonly Option<double> Timeout = new("--timeout") { Description = "Wall-clock seconds per episode (0 = none).", DefaultValueFactory = _ => 0 };
        public readonly Option<float> Temperature = new("--temperature") { Description = "Sampling temperature.", DefaultValueFactory = _ => Defaults.Temperature ?? 1.0f };
        public readonly Option<float> TopP = new("--top-p") { Description = "Nucleus sampling.", DefaultValueFactory = _ => Defaults.TopP ?? 0.95f };
        public readonly Option<float> PresencePenalty = new("--presence-penalty") { Description = "Presence penalty.", DefaultValueFactory = _ => Defaults.PresencePenalty ?? 1.1f };
        public readonly Option<int> Retries = new("--retries") { Description = "Tries per model call (exponential backoff, failover between endpoints).", DefaultValueFactory = _ => 10 };
        public readonly Option<string?> Date = new("--date") { Description = "Date for the system prompt (YYYY-MM-DD; default today)." };
        public readonly Option<string?> SystemPromptFile = new("--system-prompt") { Description = "Use this file's text as the system prompt, with the date appended (e.g. QUEST's SYSTEM_PROMPT, the prompt its released models were trained with)." };
        public readonly Option<int> SessionBudget = new("--session-budget") { Description = "Generated tokens per session before the context manager rolls over into a new session (QUEST RL: 12288; 0 = none).", DefaultValueFactory = _ => 0 };

        public void AddTo(Command c)
        {
            foreach (var o in new Option[] { Endpoint, Model, Policy, Corpus, MaxTurns, MaxTokens, MaxContext, Threshold, Strategy, Condenser, Timeout, Temperature, TopP, PresencePenalty, Retries, Date, SystemPromptFile, SessionBudget })
                c.Options.Add(o);
        }

        public IChatClient CreatePolicy(ParseResult pr)
        {
            var spec = pr.GetValue(Policy);
            var endpoint = pr.GetValue(Endpoint);
            int retries = Math.Max(1, pr.GetValue(Retries));
            EndpointOptions Adjust(EndpointOptions o) => o with { MaxAttempts = retries };
            if (spec is not null)   // PolicySpec.Create names an empty --policy
            {
                if (!string.IsNullOrWhiteSpace(spec) && !string.IsNullOrWhiteSpace(endpoint)) throw new QuestInputException(null, null, null, "give either --policy or --endpoint, not both");
                return PolicySpec.Create(spec, dir => Quest.Models.Generation.LocalChatClient.Load(dir), Adjust);
            }
            if (string.IsNullOrWhiteSpace(endpoint))
                throw new QuestInputException(null, null, null, "no policy given", "--endpoint URL [--model NAME], or --policy openai:URL#MODEL | scripted:FILE | local:DIR");
            return PolicySpec.Endpoints(endpoint, pr.GetValue(Model), Adjust);
        }

        public AgentOptions CreateOptions(ParseResult pr)
        {
            var strategy = pr.GetValue(Strategy)!;
            bool off = strategy.Equals("off", StringComparison.OrdinalIgnoreCase) || strategy.Equals("none", StringComparison.OrdinalIgnoreCase);
            ContextStrategy cs;
            try { cs = off ? ContextStrategy.Condenser : ContextOptions.ParseStrategy(strategy); }
            catch (ArgumentException ex) { throw new QuestInputException(null, null, null, ex.Message); }
            DateOnly? date = null;
            if (pr.GetValue(Date) is { Length: > 0 } ds)
            {
                if (!DateOnly.TryParseExact(ds, "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out var d))
                    throw new QuestInputException(null, null, null, $"--date '{ds}' is not a date", "YYYY-MM-DD");
                date = d;
            }
            Positive(pr, MaxTurns); Positive(pr, MaxTokens); Positive(pr, MaxContext); Positive(pr, Threshold);
            double timeout = pr.GetValue(Timeout);
            return new AgentOptions
            {
                MaxTurns = pr.GetValue(MaxTurns), MaxTokensPerTurn = pr.GetValue(MaxTokens), MaxContextTokens = pr.GetValue(MaxContext),
                Timeout = timeout > 0 ? TimeSpan.FromSeconds(timeout) : null,
                Temperature = pr.GetValue(Temperature), TopP = pr.GetValue(TopP), PresencePenalty = pr.GetValue(PresencePenalty),
                Date = date, ModelId = pr.GetValue(Model),
                SystemPromptTemplate = pr.GetValue(SystemPromptFile) is { Length: > 0 } spf ? SystemPrompt.ReadTemplate(spf) : null,
                MaxSessionResponseTokens = pr.GetValue(SessionBudget) is > 0 and var sb ? sb : null,
                Context = new ContextOptions { Enabled = !off, Strategy = cs, Threshold = pr.GetValue(Threshold) },
            };
        }

        public IStateCondenser CreateCondenser(ParseResult pr, IChatClient policy) => pr.GetValue(Condenser)!.ToLowerInvariant() switch
        {
            "rules" or "rule" => new RuleBasedCondenser(),
            "policy" or "llm" => new LlmCondenser(policy),
            var other => throw new QuestInputException(null, null, null, $"--condenser '{other}'", "rules or policy"),
        };

        private static void Positive(ParseResult pr, Option<int> o)
        {
            if (pr.GetValue(o) <= 0) throw new QuestInputException(null, null, null, $"{o.Name} must be positive");
        }

        /// <summary>Opens the corpus tools; 'world' is generated and stored on first use.</summary>
        public (IReadOnlyList<ITool> Tools, WorldEnvironment? Env) OpenTools(ParseResult pr, bool quiet)
        {
            var name = pr.GetValue(Corpus)!;
            if (name.Equals("none", StringComparison.OrdinalIgnoreCase)) return ([], null);
            var env = WorldEnvironment.Open(name, log: quiet ? null : pr.InvocationConfiguration.Error);
            return (env.Tools.ToList(), env);
        }
    }


    /// <summary>Exit code of <c>quest ask</c> when the episode ended without an answer.</summary>
    public const int NoAnswer = 3;

    // ------------------------------------------------------------------ quest ask
    /// <summary>Builds <c>quest ask</c>.</summary>
    public static Command CreateAsk()
    {
        var cmd = new Command("ask", "Run one agent episode on a question and print the answer and transcript.");
        var question = new Argument<string>("question") { Description = "The question." };
        var flags = new AgentFlags();
        var json = new Option<bool>("--json") { Description = "Print the trajectory as JSON instead of the transcript." };
        var save = new Option<string?>("--save") { Description = "Also write the trajectory (one JSON line) to this file." };
        var quiet = new Option<bool>("--quiet") { Description = "Print only the answer." };
        cmd.Arguments.Add(question);
        flags.AddTo(cmd);
        cmd.Options.Add(json); cmd.Options.Add(save); cmd.Options.Add(quiet);
        cmd.SetAction(async (ParseResult pr, CancellationToken ct) =>
        {
            WorldEnvironment? env = null;
            var (output, err) = (pr.InvocationConfiguration.Output, pr.InvocationConfiguration.Error);
            try
            {
                var q = pr.GetValue(question);
                if (string.IsNullOrWhiteSpace(q)) throw new QuestInputException(null, null, null, "empty question");
                bool asJson = pr.GetValue(json), isQuiet = pr.GetValue(quiet);
                using var policy = flags.CreatePolicy(pr);
                var options = flags.CreateOptions(pr);
                (var tools, env) = flags.OpenTools(pr, isQuiet || asJson);
                var agent = new ResearchAgent(policy, tools, options, condenser: flags.CreateCondenser(pr, policy));
                Action<AgentEvent>? live = isQuiet || asJson ? null : e => { output.WriteLine(TranscriptText.Format(e)); output.Flush(); };
                if (live is not null) output.WriteLine($"Question: {q}");
                var t = await agent.RunAsync(q, onEvent: live, cancellationToken: ct);
                if (pr.GetValue(save) is { Length: > 0 } path) Jsonl.Append(path, t, RolloutRunner.JsonOptions);
                if (asJson) output.WriteLine(System.Text.Json.JsonSerializer.Serialize(t, RolloutRunner.JsonOptions));
                else
                {
                    if (!isQuiet) output.WriteLine($"Termination: {t.Termination}{(t.Error is null ? "" : $" ({t.Error})")} · rounds {t.Rounds} · sessions {t.Sessions.Count} · {t.ElapsedMs / 1000:0.0} s");
                    output.WriteLine(isQuiet ? t.Prediction ?? "" : $"Answer: {t.Prediction ?? "(none)"}");
                }
                if (t.Termination == Termination.PolicyError) { err.WriteLine($"quest: the policy failed: {t.Error}"); return CliGuard.Failed; }
                if (t.Termination == Termination.Cancelled) return CliGuard.Cancelled;
                return t.Prediction is null ? NoAnswer : 0;
            }
            catch (Exception ex) { return CliGuard.Report(err, ex); }
            finally { env?.Dispose(); }
        });
        return cmd;
    }

    // ------------------------------------------------------------------ quest rollout
    /// <summary>Builds <c>quest rollout</c>.</summary>
    public static Command CreateRollout()
    {
        var cmd = new Command("rollout", "Run many agent episodes over a task file, resumably.");
        var tasksOpt = new Option<string>("--tasks") { Description = "Task JSONL: one {\"id\", \"question\", \"answer\"?, \"aliases\"?, \"rubric\"?} per line.", Required = true };
        var outOpt = new Option<string>("--out") { Description = "Output directory (trajectories.jsonl, summary.json).", Required = true };
        var samples = new Option<int>("--samples") { Description = "Episodes per task (k).", DefaultValueFactory = _ => 1 };
        var parallel = new Option<int>("--parallel") { Description = "Episodes at once.", DefaultValueFactory = _ => 4 };
        var resume = new Option<bool>("--resume") { Description = "Continue a run in --out: skip finished (task, sample) pairs, rerun policy errors." };
        var noProgress = new Option<bool>("--no-progress") { Description = "Plain line per episode instead of a progress bar." };
        var judgeEndpoint = new Option<string?>("--judge-endpoint") { Description = "OpenAI-compatible URL of the LLM judge for rubric judge leaves (none: judge leaves fail, noted in the report)." };
        var judgeModel = new Option<string?>("--judge-model") { Description = "Judge model name." };
        var flags = new AgentFlags();
        cmd.Options.Add(tasksOpt); cmd.Options.Add(outOpt); cmd.Options.Add(samples); cmd.Options.Add(parallel); cmd.Options.Add(resume); cmd.Options.Add(noProgress); cmd.Options.Add(judgeEndpoint); cmd.Options.Add(judgeModel);
        flags.AddTo(cmd);
        cmd.SetAction(async (ParseResult pr, CancellationToken ct) =>
        {
            WorldEnvironment? env = null;
            var (output, err) = (pr.InvocationConfiguration.Output, pr.InvocationConfiguration.Error);
            try
            {
                var outDir = QuestPaths.OutputDirectory(pr.GetValue(outOpt), "--out");   // checked before any work
                var tasks = RolloutTask.ReadFile(pr.GetValue(tasksOpt)!);
                int k = pr.GetValue(samples), n = pr.GetValue(parallel);
                if (k < 1 || n < 1) throw new QuestInputException(null, null, null, "--samples and --parallel must be at least 1");
                using var policy = flags.CreatePolicy(pr);
                await PolicySpec.EnsureReachableAsync(policy, err, ct);   // a dead endpoint fails here, in seconds
                var options = flags.CreateOptions(pr);
                (var tools, env) = flags.OpenTools(pr, quiet: false);
                var agent = new ResearchAgent(policy, tools, options, condenser: flags.CreateCondenser(pr, policy));
                using var judge = pr.GetValue(judgeEndpoint) is { Length: > 0 } je ? PolicySpec.Endpoints(je, pr.GetValue(judgeModel)) : null;
                var rubricContext = new Quest.Rubrics.RubricContext
                {
                    Judge = judge,
                    WhenNoJudge = Quest.Rubrics.MissingJudgeBehavior.FailLeaf,
                    Sources = env is null ? null : Quest.Rubrics.SourceResolver.FromDelegate(env.Resolver),
                };
                // synthesized tasks score as quest eval, the recipe and RL score them (their reward, citations included:
                // TaskRewardScorer); plain rollout tasks (QUEST's format) by their rubric tree or answer match
                var synthesized = env is null ? null : TaskFile.ReadIfSynthesized(pr.GetValue(tasksOpt)!);
                IEpisodeScorer scorer = synthesized is not null
                    ? new TaskRewardScorer(synthesized, new Synthesizer(env!.Graph).Verifier.Reward)
                    : RolloutScorers.Default(rubricContext);
                var runner = new RolloutRunner(agent, scorer);
                var ro = new RolloutOptions { OutDir = outDir, Samples = k, Parallelism = n, Resume = pr.GetValue(resume) };
                RolloutSummary summary;
                bool interactive = !pr.GetValue(noProgress) && ReferenceEquals(output, Console.Out) && AnsiConsole.Profile.Capabilities.Interactive && !Console.IsOutputRedirected;   // a live bar only on a real terminal
                if (interactive)
                {
                    summary = await AnsiConsole.Progress()
                        .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new RemainingTimeColumn(), new SpinnerColumn())
                        .StartAsync(async ctx =>
                        {
                            var bar = ctx.AddTask("episodes", maxValue: Math.Max(1, tasks.Count * k));
                            return await runner.RunAsync(tasks, ro, p =>
                            {
                                bar.Value = p.Skipped + p.Done;
                                bar.Description = $"episodes (last: {Markup.Escape(p.Last.TaskId)}#{p.Last.Sample} {p.Last.Termination})";
                            }, ct);
                        });
                }
                else
                {
                    summary = await runner.RunAsync(tasks, ro, p =>
                        output.WriteLine($"[{p.Skipped + p.Done}/{p.Skipped + p.Total}] {p.Last.TaskId}#{p.Last.Sample} {p.Last.Termination} rounds={p.Last.Rounds} reward={(p.Last.Reward is { } r ? r.ToString("0.###", CultureInfo.InvariantCulture) : "-")} {p.Last.ElapsedMs / 1000:0.0}s"), ct);
                }
                var table = new Table().AddColumn("termination").AddColumn(new TableColumn("episodes").RightAligned());
                foreach (var (term, c) in summary.ByTermination) table.AddRow(Markup.Escape(term), c.ToString(CultureInfo.InvariantCulture));
                CliConsole.For(output).Write(table);
                output.WriteLine($"{summary.InFile} episodes in {summary.OutFile} (this run: {summary.Written} written, {summary.Skipped} skipped{(summary.Cancelled ? ", cancelled: rerun with --resume" : "")}); mean reward {(summary.MeanReward is { } m ? m.ToString("0.###", CultureInfo.InvariantCulture) : "-")}");
                if (summary.Cancelled) return CliGuard.Cancelled;
                if (summary.ByTermination.TryGetValue(Termination.PolicyError, out int failedEpisodes) && failedEpisodes > 0)
                {
                    err.WriteLine($"quest: {failedEpisodes} of {summary.InFile} episodes could not be run (policy_error): left out of the mean; rerun with --resume to retry them");
                    return CliGuard.Failed;
                }
                return 0;
            }
            catch (Exception ex) { return CliGuard.Report(err, ex); }
            finally { env?.Dispose(); }
        });
        return cmd;
    }
}
