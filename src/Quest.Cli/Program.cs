using System.CommandLine;
using Quest.Cli.Commands;

// The `quest` command line: one sub-command per stage of the recipe. Each command group lives in its own file
// under Commands/ and only wires options to the library; the logic is in the library.
var root = new RootCommand("Quest.Notebooks: build, train and study deep research agents (QUEST recipe) on a laptop CPU.");
foreach (var command in new[]
{
    RubricCommands.Create(),      // quest rubric show|score
    CorpusCommands.Create(),      // quest corpus fetch|build|info
    SearchCommands.Create(),      // quest search "…"
    AgentCommands.CreateAsk(),    // quest ask "…"
    AgentCommands.CreateRollout(),// quest rollout --tasks …
    SynthCommands.Create(),       // quest synth / export
    TrainCommands.Create(),       // quest train pretrain|sft
    BenchCommands.Create(),       // quest bench search|train|generate
    RecipeCommands.Create(),      // quest recipe (the whole recipe, end to end)
    ReportCommands.Create(),      // quest report RUN_DIR (offline HTML analysis of a run)
    EvalCommands.Create(),        // quest eval (any policy on any task file)
})
{
    root.Subcommands.Add(command);
}
// Ctrl-C / SIGTERM cancel the command's token; a training step or an episode in flight then gets time to finish and
// write its checkpoint or trajectory line before the process ends (System.CommandLine's default grace is 2 s).
var parsed = root.Parse(args.Length == 0 ? ["--help"] : args);
bool help = args.Any(a => a is "-h" or "--help" or "-?");
var path = new List<string>();   // the full command path ("train rl"), not only the innermost name
for (var r = parsed.CommandResult; r is not null && r.Command != root; r = r.Parent as System.CommandLine.Parsing.CommandResult) path.Insert(0, r.Command.Name);
// A command line that does not parse is bad input like any other: exit 2, "quest: " on stderr (not the help text on stdout).
if (parsed.Errors.Count > 0 && !help)
{
    foreach (var e in parsed.Errors) Console.Error.WriteLine($"quest: {e.Message}");
    Console.Error.WriteLine($"quest: see `{string.Join(' ', ["quest", .. path, "--help"])}`");
    return CliGuard.BadInput;
}
if (!help) CliConsole.PrepareTorch(string.Join(' ', path), Console.Error);
return await parsed.InvokeAsync(new InvocationConfiguration { ProcessTerminationTimeout = TimeSpan.FromMinutes(2) });
