using System.CommandLine;
using System.Diagnostics;
using Quest.Core;
using Quest.World.Corpus;
using Quest.World.Search;
using Quest.World.Tools;
using Spectre.Console;

namespace Quest.Cli.Commands;

/// <summary>
/// Corpora: <c>quest corpus fetch foldoc|jargon</c>, <c>quest corpus build SPEC</c> (world, world:SIZE, foldoc,
/// jargon, FILE.jsonl, a dictd directory), <c>quest corpus info [NAME]</c>, <c>quest corpus visit URL --goal …</c>.
/// Bad input prints <c>file:line: problem (expected …)</c> to stderr and exits with 2; other failures exit with 1.
/// </summary>
public static class CorpusCommands
{
    /// <summary>Builds the command.</summary>
    public static Command Create()
    {
        var cmd = new Command("corpus", "Corpora: fetch, build and inspect the agent's offline web.");
        cmd.Subcommands.Add(Fetch());
        cmd.Subcommands.Add(Build());
        cmd.Subcommands.Add(Info());
        cmd.Subcommands.Add(Visit());
        return cmd;
    }

    private static Command Fetch()
    {
        var which = new Argument<string>("name") { Description = "foldoc or jargon." };
        var c = new Command("fetch", "Get FOLDOC or the Jargon File from Debian (installed package, or apt-get download + dpkg-deb -x) into the artifacts directory.");
        c.Arguments.Add(which);
        c.SetAction(async (ParseResult pr, CancellationToken ct) =>
        {
            try
            {
                var n = pr.GetValue(which)!.Trim().ToLowerInvariant();
                DictdFlavor f = n switch
                {
                    "foldoc" => DictdFlavor.Foldoc,
                    "jargon" => DictdFlavor.Jargon,
                    _ => throw new QuestInputException(null, null, null, $"unknown dictionary '{n}'", "foldoc or jargon"),
                };
                var dir = await DictdSources.FetchAsync(f, m => pr.InvocationConfiguration.Error.WriteLine("quest: " + m), ct);
                pr.InvocationConfiguration.Output.WriteLine($"{DictdImporter.DebianPackage(f)} files in {dir}; next: quest corpus build {n}");
                return 0;
            }
            catch (Exception ex) { return CliGuard.Report(pr.InvocationConfiguration.Error, ex); }
        });
        return c;
    }

    private static Command Build()
    {
        var spec = new Argument<string>("spec") { Description = "world (20,000 pages), world-tiny (300), world-small (2,000), world:SIZE[:SEED] (e.g. world:100k), foldoc, jargon, FILE.jsonl or a dictd directory." };
        var name = new Option<string?>("--name") { Description = "Store under this name (default: from the spec, e.g. world, world-2000, foldoc)." };
        var pages = new Option<int?>("--pages") { Description = "World size in pages (overrides world:SIZE)." };
        var seed = new Option<int?>("--seed") { Description = "World seed (default 42)." };
        var skip = new Option<bool>("--skip-bad") { Description = "Skip bad records (each is listed as a warning) instead of stopping at the first." };
        var noIndex = new Option<bool>("--no-index") { Description = "Only store the pages; the index is built on first search." };
        var c = new Command("build", "Build a corpus and its BM25 index under the artifacts directory (reused until the content changes).");
        c.Arguments.Add(spec); c.Options.Add(name); c.Options.Add(pages); c.Options.Add(seed); c.Options.Add(skip); c.Options.Add(noIndex);
        c.SetAction((ParseResult pr) =>
        {
            try
            {
                var sw = Stopwatch.StartNew();
                PageCorpus? corpus = null; string? dir = null; Bm25Index? index = null;
                var console = AnsiConsole.Console.Profile.Capabilities.Interactive && pr.InvocationConfiguration.Output == Console.Out
                    ? AnsiConsole.Console : CliConsole.For(pr.InvocationConfiguration.Error);
                console.Progress().AutoClear(false).Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn())
                    .Start(ctx =>
                    {
                        var read = ctx.AddTask("read / generate pages", maxValue: 1.0);
                        var store = ctx.AddTask("store pages", maxValue: 1.0);
                        var idx = ctx.AddTask("BM25 index", maxValue: 1.0);
                        var opts = new ImportOptions { OnError = pr.GetValue(skip) ? OnBadRecord.Skip : OnBadRecord.Stop, Progress = new Progress<double>(v => read.Value = v) };
                        corpus = CorpusBuilder.Build(pr.GetValue(spec)!, pr.GetValue(name), pr.GetValue(pages), pr.GetValue(seed), opts);
                        read.Value = 1.0;
                        dir = CorpusStore.Save(corpus);
                        store.Value = 1.0;
                        if (!pr.GetValue(noIndex))
                            index = Bm25Index.OpenOrBuild(corpus, Path.Combine(dir, "index"), progress: new SyncProgress(v => idx.Value = v));
                        idx.Value = 1.0;
                    });
                using (index)
                {
                    var o = pr.InvocationConfiguration.Output;
                    o.WriteLine($"{corpus!.Name}: {corpus.Count:N0} pages, {corpus.LinkCount:N0} links, {corpus.Info.Warnings.Count} warnings -> {dir} ({sw.Elapsed.TotalSeconds:F1} s)");
                    foreach (var w in corpus.Info.Warnings.Take(20)) pr.InvocationConfiguration.Error.WriteLine("warning: " + w);
                    if (corpus.Info.Warnings.Count > 20) pr.InvocationConfiguration.Error.WriteLine($"warning: … {corpus.Info.Warnings.Count - 20} more in {Path.Combine(dir!, CorpusStore.ManifestFile)}");
                    o.WriteLine($"try: quest search \"{corpus[0].Title}\" --corpus {corpus.Name}");
                }
                return 0;
            }
            catch (Exception ex) { return CliGuard.Report(pr.InvocationConfiguration.Error, ex); }
        });
        return c;
    }

    private static Command Info()
    {
        var which = new Argument<string?>("name") { Description = "Stored corpus name or directory (default: list all).", Arity = ArgumentArity.ZeroOrOne };
        var c = new Command("info", "Counts of a stored corpus (pages, links, categories, index state), or a table of all stored corpora.");
        c.Arguments.Add(which);
        c.SetAction((ParseResult pr) =>
        {
            try
            {
                var console = CliConsole.For(pr.InvocationConfiguration.Output);
                var n = pr.GetValue(which);
                if (string.IsNullOrWhiteSpace(n))
                {
                    var names = CorpusStore.List();
                    if (names.Count == 0) { pr.InvocationConfiguration.Output.WriteLine("no stored corpora; try: quest corpus build world"); return 0; }
                    var t = new Table().AddColumns("name", "source", "pages", "links", "indexed", "license");
                    foreach (var name in names)
                    {
                        var dir = CorpusStore.DirectoryFor(name);
                        var m = JsonFiles.DeserializeLegacy<CorpusInfo>(File.ReadAllText(Path.Combine(dir, CorpusStore.ManifestFile)))!;
                        t.AddRow(Markup.Escape(name), m.Source, m.Pages.ToString("N0"), m.Links.ToString("N0"),
                            Bm25Index.IsCurrent(Path.Combine(dir, "index"), m.ContentHash ?? "") ? "yes" : "no", Markup.Escape(m.License ?? ""));
                    }
                    console.Write(t);
                    return 0;
                }
                var corpus = CorpusStore.Load(n);
                var cdir = CorpusStore.IsCorpusDirectory(n) ? n : CorpusStore.DirectoryFor(n);
                var i = corpus.Info;
                var o = pr.InvocationConfiguration.Output;
                o.WriteLine($"name: {corpus.Name}");
                o.WriteLine($"source: {i.Source} ({i.Origin})");
                o.WriteLine($"license: {i.License}");
                o.WriteLine($"pages: {corpus.Count}");
                o.WriteLine($"links: {corpus.LinkCount}");
                o.WriteLine($"dated pages: {corpus.Count(p => p.Date is not null)}");
                o.WriteLine($"text characters: {corpus.Sum(p => (long)p.Text.Length)}");
                o.WriteLine($"warnings: {i.Warnings.Count}");
                o.WriteLine($"indexed: {(Bm25Index.IsCurrent(Path.Combine(cdir, "index"), corpus.ContentHash) ? "yes" : "no (built on first search)")}");
                foreach (var (k, v) in i.Options) o.WriteLine($"option {k}: {v}");
                var cats = corpus.Where(p => p.Category is not null).GroupBy(p => p.Category!).OrderByDescending(g => g.Count()).Take(12).ToList();
                if (cats.Count > 0)
                {
                    var t = new Table().AddColumns("category", "pages");
                    foreach (var g in cats) t.AddRow(Markup.Escape(g.Key), g.Count().ToString());
                    console.Write(t);
                }
                return 0;
            }
            catch (Exception ex) { return CliGuard.Report(pr.InvocationConfiguration.Error, ex); }
        });
        return c;
    }

    private static Command Visit()
    {
        var url = new Argument<string>("url") { Description = "Page URL (e.g. https://world.quest/wiki/…, https://foldoc.org/Lisp)." };
        var goal = new Option<string?>("--goal") { Description = "What to look for (default: QUEST's 'Extract relevant information')." };
        var corpusOpt = new Option<string>("--corpus") { Description = "Stored corpus name or directory (world, world-tiny, world-small, world:SIZE[:SEED] are generated on first use).", DefaultValueFactory = _ => "world" };
        var c = new Command("visit", "Print exactly what the agent's visit tool returns for a URL of a stored corpus.");
        c.Arguments.Add(url); c.Options.Add(goal); c.Options.Add(corpusOpt);
        c.SetAction(async (ParseResult pr, CancellationToken ct) =>
        {
            try
            {
                var corpus = CorpusStore.Load(CorpusBuilder.Resolve(pr.GetValue(corpusOpt)!, pr.InvocationConfiguration.Error, ct));
                var tool = new VisitTool(corpus);
                var args = System.Text.Json.JsonSerializer.SerializeToElement(new { url = pr.GetValue(url), goal = pr.GetValue(goal) });
                pr.InvocationConfiguration.Output.WriteLine(await tool.CallAsync(args, ct));
                return 0;
            }
            catch (Exception ex) { return CliGuard.Report(pr.InvocationConfiguration.Error, ex); }
        });
        return c;
    }

    /// <summary>IProgress that reports on the calling thread (Progress&lt;T&gt; posts to the thread pool, too late for a bar).</summary>
    internal sealed class SyncProgress(Action<double> report) : IProgress<double>
    {
        public void Report(double value) => report(value);
    }
}
