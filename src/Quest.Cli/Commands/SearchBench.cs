using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Quest.Core;
using Quest.World.Corpus;
using Quest.World.Generation;
using Quest.World.Search;

namespace Quest.Cli.Commands;

/// <summary>
/// <c>quest bench search [--corpus NAME] [--pages N] [--queries N]</c>: builds a BM25 index (on disk, in a temporary
/// directory) over a generated world or a stored corpus, then runs queries single-threaded and in parallel. Prints
/// one JSON line: <c>build_s</c>, <c>qps</c> (single thread), <c>qps_parallel</c>, <c>mean_latency_ms</c>, …
/// Queries are page titles, half of them with one more word from the page (deterministic); <c>hit_at_1</c> is the
/// share whose page ranks first. Snippets are included, as the search tool needs them.
/// </summary>
public static class SearchBench
{
    /// <summary>The benchmark sub-commands.</summary>
    public static IEnumerable<Command> Create() => [Search()];

    private static Command Search()
    {
        var corpusOpt = new Option<string?>("--corpus") { Description = "Stored corpus name or directory (default: a generated world)." };
        var pages = new Option<int>("--pages") { Description = "Pages of the generated world.", DefaultValueFactory = _ => 100_000 };
        var queries = new Option<int>("--queries") { Description = "Number of queries.", DefaultValueFactory = _ => 5_000 };
        var seed = new Option<int>("--seed") { Description = "World and query seed.", DefaultValueFactory = _ => 42 };
        var k = new Option<int>("--k") { Description = "Results per query.", DefaultValueFactory = _ => 10 };
        var threads = new Option<int>("--threads") { Description = "Threads for the parallel run (default: processor count).", DefaultValueFactory = _ => Environment.ProcessorCount };
        var c = new Command("search", "BM25 index build time, queries/s (single thread and parallel) and latency; one JSON line.");
        c.Options.Add(corpusOpt); c.Options.Add(pages); c.Options.Add(queries); c.Options.Add(seed); c.Options.Add(k); c.Options.Add(threads);
        c.SetAction((ParseResult pr) =>
        {
            try
            {
                if (pr.GetValue(queries) <= 0 || pr.GetValue(k) <= 0 || pr.GetValue(threads) <= 0)
                    throw new QuestInputException(null, null, null, "--queries, --k and --threads must be positive");
                var line = Run(pr.GetValue(corpusOpt), pr.GetValue(pages), pr.GetValue(queries), pr.GetValue(seed), pr.GetValue(k), pr.GetValue(threads));
                pr.InvocationConfiguration.Output.WriteLine(line);
                return 0;
            }
            catch (Exception ex) { return CliGuard.Report(pr.InvocationConfiguration.Error, ex); }
        });
        return c;
    }

    /// <summary>Runs the benchmark and returns the JSON line.</summary>
    public static string Run(string? corpusName, int pages, int queries, int seed, int k, int threads)
    {
        var sw = Stopwatch.StartNew();
        PageCorpus corpus;
        double generate;
        if (corpusName is null)
        {
            corpus = WorldGenerator.Generate(new WorldOptions { Pages = pages, Seed = seed, Name = "bench" }).Corpus;
            generate = sw.Elapsed.TotalSeconds;
        }
        else
        {
            corpus = CorpusStore.Load(corpusName);
            generate = 0;
        }
        var tmp = Path.Combine(Path.GetTempPath(), "quest-bench-" + Guid.NewGuid().ToString("N"));
        try
        {
            _ = corpus.ContentHash; // hashing is part of the store, not of the index build
            sw.Restart();
            using var index = Bm25Index.OpenOrBuild(corpus, tmp);
            double build = sw.Elapsed.TotalSeconds;
            long indexBytes = Directory.GetFiles(tmp, "*", SearchOption.AllDirectories).Sum(f => new FileInfo(f).Length);

            var rng = new WorldRandom((ulong)seed * 7919 + 1);
            var qs = new (string Query, string Url)[queries];
            for (int i = 0; i < queries; i++)
            {
                var p = corpus[rng.Next(corpus.Count)];
                string q = p.Title;
                if (rng.Next(2) == 1)
                {
                    var words = Snippets.Clean(p.Text).Split(' ', StringSplitOptions.RemoveEmptyEntries).Where(w => w.Length > 4 && w.All(char.IsLetter)).ToArray();
                    if (words.Length > 0) q += " " + words[rng.Next(words.Length)];
                }
                qs[i] = (q, p.Url);
            }
            // Warm up (JIT tiers, Lucene caches), then time.
            for (int i = 0; i < Math.Min(1000, queries); i++) index.Search(qs[i].Query, k);
            var lat = new double[queries];
            int hit1 = 0;
            sw.Restart();
            for (int i = 0; i < queries; i++)
            {
                long t0 = Stopwatch.GetTimestamp();
                var r = index.Search(qs[i].Query, k);
                lat[i] = Stopwatch.GetElapsedTime(t0).TotalMilliseconds;
                if (r.Hits.Count > 0 && r.Hits[0].Url == qs[i].Url) hit1++;
            }
            double single = sw.Elapsed.TotalSeconds;
            sw.Restart();
            Parallel.For(0, queries, new ParallelOptions { MaxDegreeOfParallelism = threads }, i => index.Search(qs[i].Query, k));
            double parallel = sw.Elapsed.TotalSeconds;
            Array.Sort(lat);
            var result = new Dictionary<string, object>
            {
                ["bench"] = "search",
                ["corpus"] = corpusName ?? $"world:{pages}",
                ["pages"] = corpus.Count,
                ["text_mb"] = Math.Round(corpus.Sum(p => (long)p.Text.Length) / 1e6, 1),
                ["queries"] = queries,
                ["k"] = k,
                ["generate_s"] = Math.Round(generate, 2),
                ["build_s"] = Math.Round(build, 2),
                ["index_mb"] = Math.Round(indexBytes / 1e6, 1),
                ["qps"] = Math.Round(queries / single, 0),
                ["qps_parallel"] = Math.Round(queries / parallel, 0),
                ["threads"] = threads,
                ["mean_latency_ms"] = Math.Round(lat.Average(), 3),
                ["p50_ms"] = Math.Round(lat[lat.Length / 2], 3),
                ["p99_ms"] = Math.Round(lat[Math.Min(lat.Length - 1, (int)(lat.Length * 0.99))], 3),
                ["hit_at_1"] = Math.Round((double)hit1 / queries, 3),
                ["cores"] = Environment.ProcessorCount,
            };
            return JsonSerializer.Serialize(result);
        }
        finally
        {
            try { Directory.Delete(tmp, true); } catch (IOException) { }
        }
    }
}
