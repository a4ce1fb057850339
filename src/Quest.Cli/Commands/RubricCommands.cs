using System.ClientModel;
using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using Microsoft.Extensions.AI;
using OpenAI;
using Quest.Core;
using Quest.Rubrics;
using Spectre.Console;
using Spectre.Console.Rendering;

namespace Quest.Cli.Commands;

/// <summary>
/// Rubric trees: <c>quest rubric show FILE</c> (tree view), <c>quest rubric score FILE --answer FILE | --leaves FILE</c>
/// (report as a table or JSON), <c>quest rubric convert FILE --to yaml|quest-json</c> and <c>quest rubric checks</c>.
/// Bad input prints <c>file:line:col: problem (expected …)</c> to stderr and exits with 2.
/// </summary>
public static class RubricCommands
{
    /// <summary>Builds the command.</summary>
    public static Command Create()
    {
        var cmd = new Command("rubric", "Rubric trees: show a tree, score an answer or given leaf outcomes, convert YAML <-> QUEST JSON.");
        cmd.Subcommands.Add(Show());
        cmd.Subcommands.Add(Score());
        cmd.Subcommands.Add(Convert());
        cmd.Subcommands.Add(Checks());
        return cmd;
    }

    private static readonly Argument<string> FileArg = new("file") { Description = "Rubric tree: YAML (.yaml/.yml) or QUEST JSON (.json)." };

    // ------------------------------------------------------------------ show

    private static Command Show()
    {
        var file = new Argument<string>("file") { Description = FileArg.Description };
        var c = new Command("show", "Render a rubric tree (critical and sequential nodes marked, leaf checks, weights).");
        c.Arguments.Add(file);
        c.SetAction((ParseResult pr) =>
        {
            try
            {
                var tree = RubricTree.Load(pr.GetValue(file)!);
                var console = CliConsole.For(pr.InvocationConfiguration.Output, 160);
                console.Write(TreeView(tree));
                console.MarkupLine($"[grey]{tree.Nodes.Count} nodes, {tree.Leaves.Count} leaves ({tree.Leaves.Count(l => l.Critical)} critical, " +
                                   $"{tree.JudgeLeafCount} judge), depth {tree.Depth}. Weight = share of the final score; critical nodes only gate (0).[/]");
                return 0;
            }
            catch (Exception e) { return CliGuard.Report(pr.InvocationConfiguration.Error, e); }
        });
        return c;
    }

    /// <summary>The tree as a Spectre.Console <see cref="Tree"/>, optionally annotated with a report.</summary>
    public static Tree TreeView(RubricTree tree, RubricReport? report = null)
    {
        string Label(RubricNode n)
        {
            var s = $"[bold]{Markup.Escape(n.Id)}[/]";
            if (report is not null)
            {
                var r = report[n.Id];
                s += $" [{StatusColour(r.Status)}]{r.Score.ToString("0.###", CultureInfo.InvariantCulture)} {r.StatusText}[/]";
            }
            if (n.Critical) s += " [red]CRITICAL[/]";
            if (!n.IsLeaf && n.Strategy == RubricStrategy.Sequential) s += " [blue]SEQUENTIAL[/]";
            s += $" [grey]w={tree.WeightOf(n.Id).ToString("0.###", CultureInfo.InvariantCulture)}[/]";
            s += $" {Markup.Escape(Short(n.Description, 90))}";
            if (n.Check is not null) s += $"\n[green]{Markup.Escape(Short(n.Check.ToString(), 110))}[/]";
            if (report?[n.Id].Evidence is { } ev) s += $"\n[grey]{Markup.Escape(Short(ev, 110))}[/]";
            return s;
        }
        void Add(IHasTreeNodes parent, RubricNode n)
        {
            var node = parent.AddNode(Label(n));
            foreach (var c in n.Children) Add(node, c);
        }
        var root = new Tree(Label(tree.Root) + (tree.Task is null ? "" : $"\n[italic]{Markup.Escape(Short(tree.Task, 140))}[/]"));
        foreach (var c in tree.Root.Children) Add(root, c);
        return root;
    }

    // ------------------------------------------------------------------ score

    private static Command Score()
    {
        var file = new Argument<string>("file") { Description = FileArg.Description };
        var answer = new Option<string?>("--answer") { Description = "Answer file (plain text, or a transcript whose last <answer>…</answer> is scored); '-' reads stdin." };
        var leaves = new Option<string?>("--leaves") { Description = "JSON file of given leaf outcomes {\"leaf id\": true|false}; no check runs, the report is printed as JSON." };
        var json = new Option<bool>("--json") { Description = "Print {\"score\": …, \"nodes\": {\"id\": {\"score\": …, \"status\": …}}} instead of a table." };
        var details = new Option<bool>("--details") { Description = "With JSON output: add evidence, judge reasoning, weights and skip causes." };
        var task = new Option<string?>("--task") { Description = "Task description for judge prompts (default: the tree's task)." };
        var sources = new Option<string?>("--sources") { Description = "JSON file {\"url\": \"page text\"} used by cites leaves and judge sources." };
        var endpoint = new Option<string?>("--endpoint") { Description = "OpenAI-compatible base URL of the judge (e.g. http://localhost:8000/v1); needed for judge leaves." };
        var model = new Option<string?>("--model") { Description = "Judge model name." };
        var votes = new Option<int>("--votes") { Description = "Judge trials per claim (majority; stops once decided).", DefaultValueFactory = _ => 3 };
        var parallel = new Option<int>("--parallel") { Description = "Leaf checks (judge calls) run at once; precondition skipping is unchanged.", DefaultValueFactory = _ => 1 };
        var failJudge = new Option<bool>("--no-judge-fails") { Description = "Without a judge, fail judge leaves instead of stopping with an error." };
        var c = new Command("score", "Score an answer (--answer) or given leaf outcomes (--leaves) against a rubric tree.");
        c.Arguments.Add(file);
        foreach (var o in new Option[] { answer, leaves, json, details, task, sources, endpoint, model, votes, parallel, failJudge }) c.Options.Add(o);
        c.SetAction(async (ParseResult pr, CancellationToken ct) =>
        {
            try
            {
                var tree = RubricTree.Load(pr.GetValue(file)!);
                var answerPath = pr.GetValue(answer);
                var leavesPath = pr.GetValue(leaves);
                if ((answerPath is null) == (leavesPath is null))
                    throw new QuestInputException(null, null, null, "give exactly one of --answer FILE and --leaves FILE", "--answer ANSWER.txt or --leaves OUTCOMES.json");
                var output = pr.InvocationConfiguration.Output;
                RubricReport report;
                if (leavesPath is not null)
                {
                    report = tree.ScoreOutcomes(LeafOutcomeSet.Load(leavesPath));
                    output.WriteLine(report.ToJson(pr.GetValue(details)));
                    return 0;
                }
                var text = answerPath == "-" ? await Console.In.ReadToEndAsync(ct) : ReadFile(answerPath!);
                var scored = Protocol.ExtractLastAnswer(text) ?? text;
                if (pr.GetValue(votes) < 1) throw new QuestInputException(null, null, null, $"--votes {pr.GetValue(votes)}", "at least 1");
                var context = new RubricContext
                {
                    Task = pr.GetValue(task),
                    Judge = CreateJudge(pr.GetValue(endpoint), pr.GetValue(model)),
                    JudgeOptions = new JudgeOptions { Votes = pr.GetValue(votes) },
                    Sources = pr.GetValue(sources) is { } sp ? LoadSources(sp) : null,
                    MaxConcurrency = Math.Max(1, pr.GetValue(parallel)),
                    WhenNoJudge = pr.GetValue(failJudge) ? MissingJudgeBehavior.FailLeaf : MissingJudgeBehavior.Throw,
                };
                report = await tree.ScoreAsync(scored, context, ct);
                if (pr.GetValue(json) || pr.GetValue(details)) { output.WriteLine(report.ToJson(pr.GetValue(details))); return 0; }
                var console = CliConsole.For(output, 160);
                console.Write(ReportTable(report));
                console.MarkupLine($"[bold]score {report.Score.ToString("0.####", CultureInfo.InvariantCulture)}[/]  " +
                                   $"[grey]({report.LeavesChecked}/{tree.Leaves.Count} leaves checked, {report.JudgeCalls} judge calls" +
                                   $"{(scored.Length != text.Length ? ", scored the last <answer> block" : "")})[/]");
                return 0;
            }
            catch (Exception e) { return CliGuard.Report(pr.InvocationConfiguration.Error, e); }
        });
        return c;
    }

    /// <summary>A report as a table: one row per node (indented), score, status, evidence.</summary>
    public static Table ReportTable(RubricReport report)
    {
        var t = new Table().Border(TableBorder.Rounded).Title(Markup.Escape(report.Tree.Name));
        t.AddColumn("node"); t.AddColumn(new TableColumn("score").RightAligned()); t.AddColumn("status"); t.AddColumn("evidence");
        void Row(NodeReport r, int depth)
        {
            var tags = (r.Node.Critical ? " [red]C[/]" : "") + (!r.Node.IsLeaf && r.Node.Strategy == RubricStrategy.Sequential ? " [blue]S[/]" : "");
            t.AddRow(new Markup(new string(' ', 2 * depth) + Markup.Escape(r.Id) + tags),
                new Markup(r.Score.ToString("0.###", CultureInfo.InvariantCulture)),
                new Markup($"[{StatusColour(r.Status)}]{r.StatusText}[/]"),
                new Markup(Markup.Escape(Short(r.Reasoning is null ? r.Evidence ?? "" : $"{r.Evidence} — {r.Reasoning}", 100))));
            foreach (var c in r.Children) Row(c, depth + 1);
        }
        Row(report.Root, 0);
        return t;
    }

    // ------------------------------------------------------------------ convert / checks

    private static Command Convert()
    {
        var file = new Argument<string>("file") { Description = FileArg.Description };
        var to = new Option<string>("--to") { Description = "yaml | quest-json", Required = true };
        var shape = new Option<string>("--shape") { Description = "QUEST JSON wrapper: task ({task_description, rubric_tree}) or root ({root_name: node}).", DefaultValueFactory = _ => "task" };
        var noChecks = new Option<bool>("--no-checks") { Description = "QUEST JSON: leave out the leaves' check field (pure QUEST format)." };
        var outFile = new Option<string?>("--output", "-o") { Description = "Write to this file (atomically) instead of stdout." };
        var c = new Command("convert", "Convert a rubric tree between YAML and QUEST JSON (lossless unless --no-checks).");
        c.Arguments.Add(file);
        foreach (var o in new Option[] { to, shape, noChecks, outFile }) c.Options.Add(o);
        c.SetAction((ParseResult pr) =>
        {
            try
            {
                var tree = RubricTree.Load(pr.GetValue(file)!);
                var s = pr.GetValue(shape)!.ToLowerInvariant() switch
                {
                    "task" => QuestJsonShape.TaskAndTree,
                    "root" => QuestJsonShape.RootName,
                    var x => throw new QuestInputException(null, null, null, $"--shape '{x}'", "task or root"),
                };
                var text = pr.GetValue(to)!.ToLowerInvariant() switch
                {
                    "yaml" or "yml" => tree.ToYaml(),
                    "quest-json" or "json" => tree.ToQuestJson(s, !pr.GetValue(noChecks)),
                    var x => throw new QuestInputException(null, null, null, $"--to '{x}'", "yaml or quest-json"),
                };
                if (pr.GetValue(outFile) is { } path) AtomicFile.WriteAllText(path, text);
                else pr.InvocationConfiguration.Output.Write(text);
                return 0;
            }
            catch (Exception e) { return CliGuard.Report(pr.InvocationConfiguration.Error, e); }
        });
        return c;
    }

    private static Command Checks()
    {
        var c = new Command("checks", "List the leaf check types and their arguments.");
        c.SetAction((ParseResult pr) =>
        {
            foreach (var t in CheckRegistry.Default.Types)
                pr.InvocationConfiguration.Output.WriteLine($"{t,-10} {CheckRegistry.Default.Describe(t)}");
            return 0;
        });
        return c;
    }

    // ------------------------------------------------------------------ helpers

    /// <summary>An OpenAI-compatible judge client, or null when no endpoint is given. The key comes from OPENAI_API_KEY (default "EMPTY").</summary>
    public static IChatClient? CreateJudge(string? endpoint, string? model)
    {
        if (string.IsNullOrWhiteSpace(endpoint))
        {
            if (!string.IsNullOrWhiteSpace(model)) throw new QuestInputException(null, null, null, "--model without --endpoint", "--endpoint URL --model NAME");
            return null;
        }
        if (!Uri.TryCreate(endpoint, UriKind.Absolute, out var uri) || (uri.Scheme != "http" && uri.Scheme != "https"))
            throw new QuestInputException(null, null, null, $"--endpoint '{endpoint}' is not a URL", "http(s)://HOST:PORT/v1");
        if (string.IsNullOrWhiteSpace(model)) throw new QuestInputException(null, null, null, "--endpoint without --model", "--model NAME (the served judge model)");
        var key = Environment.GetEnvironmentVariable("OPENAI_API_KEY") is { Length: > 0 } k ? k : "EMPTY";
        return new OpenAI.Chat.ChatClient(model, new ApiKeyCredential(key), new OpenAIClientOptions { Endpoint = uri }).AsIChatClient();
    }

    private static ISourceResolver LoadSources(string path)
    {
        var text = ReadFile(path);
        Dictionary<string, string>? pages;
        try { pages = JsonSerializer.Deserialize<Dictionary<string, string>>(text); }
        catch (JsonException e)
        {
            throw new QuestInputException(path, (e.LineNumber ?? 0) + 1, (e.BytePositionInLine ?? 0) + 1, "malformed sources file", "{\"url\": \"page text\", …}");
        }
        return SourceResolver.FromDictionary(pages ?? []);
    }

    private static string ReadFile(string path) =>
        Utf8Text.ReadFile(path);

    private static string StatusColour(NodeStatus s) => s switch
    {
        NodeStatus.Passed => "green",
        NodeStatus.Partial => "yellow",
        NodeStatus.Failed => "red",
        _ => "grey",
    };

    private static string Short(string s, int max)
    {
        s = s.ReplaceLineEndings(" ");
        return s.Length <= max ? s : s[..(max - 1)] + "…";
    }
}
