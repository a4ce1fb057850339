using System.CommandLine;
using Quest.Core;
using Quest.World.Corpus;
using Quest.World.Search;
using Quest.World.Tools;

namespace Quest.Cli.Commands;

/// <summary><c>quest search "q" ["q2" …] [--corpus NAME] [--k N]</c>: prints exactly what the agent's search tool returns.</summary>
public static class SearchCommands
{
    /// <summary>Builds the command.</summary>
    public static Command Create()
    {
        var queries = new Argument<string[]>("query") { Description = "One or more queries (each is one entry of the tool's query list).", Arity = ArgumentArity.OneOrMore };
        var corpus = new Option<string>("--corpus") { Description = "Stored corpus name or directory (world, world-tiny, world-small, world:SIZE[:SEED] are built on first use).", DefaultValueFactory = _ => "world" };
        var k = new Option<int>("--k") { Description = "Results per query.", DefaultValueFactory = _ => 10 };
        var cmd = new Command("search", "Search a corpus with BM25 and print what the agent's search tool returns.");
        cmd.Arguments.Add(queries); cmd.Options.Add(corpus); cmd.Options.Add(k);
        cmd.SetAction(async (ParseResult pr, CancellationToken ct) =>
        {
            try
            {
                if (pr.GetValue(k) <= 0) throw new QuestInputException(null, null, null, "--k must be positive");
                using var index = Bm25Index.ForStoredCorpus(CorpusBuilder.Resolve(pr.GetValue(corpus)!, pr.InvocationConfiguration.Error, ct));
                var tool = new SearchTool(index, new SearchToolOptions { TopK = pr.GetValue(k) });
                var args = System.Text.Json.JsonSerializer.SerializeToElement(new { query = pr.GetValue(queries) });
                pr.InvocationConfiguration.Output.WriteLine(await tool.CallAsync(args, ct));
                return 0;
            }
            catch (Exception ex) { return CliGuard.Report(pr.InvocationConfiguration.Error, ex); }
        });
        return cmd;
    }
}
