using Lucene.Net.Analysis;
using Lucene.Net.Analysis.En;
using Lucene.Net.Analysis.TokenAttributes;
using Lucene.Net.Documents;
using Lucene.Net.Index;
using Lucene.Net.Search;
using Lucene.Net.Search.Similarities;
using Lucene.Net.Store;
using Lucene.Net.Util;
using Quest.World.Corpus;
using LDirectory = Lucene.Net.Store.Directory;

namespace Quest.World.Search;

/// <summary>One search result.</summary>
/// <param name="Url">Page URL.</param>
/// <param name="Title">Page title.</param>
/// <param name="Snippet">Text around the query terms (may be empty).</param>
/// <param name="Score">Relevance score (BM25 for the offline index; rank-based for web results).</param>
/// <param name="Date">Date published, when known.</param>
/// <param name="Sitelinks">Optional (title, link) pairs under the result (web search only).</param>
public sealed record SearchHit(string Url, string Title, string Snippet, double Score, string? Date = null,
    IReadOnlyList<(string Title, string Link)>? Sitelinks = null);

/// <summary>The results of one query.</summary>
/// <param name="Query">The query as given.</param>
/// <param name="TotalHits">How many documents matched (at least <c>Hits.Count</c>).</param>
/// <param name="Hits">The top hits, best first.</param>
public sealed record SearchResults(string Query, long TotalHits, IReadOnlyList<SearchHit> Hits);

/// <summary>A search engine behind the agent's search tool: the offline BM25 index or a live web search API.</summary>
public interface ISearchProvider
{
    /// <summary>Runs one query and returns at most <paramref name="k"/> hits. Network failures may throw.</summary>
    Task<SearchResults> SearchAsync(string query, int k = 10, CancellationToken cancellationToken = default);
}

/// <summary>Options of the BM25 index.</summary>
public sealed record Bm25Options
{
    /// <summary>BM25 k1 (term-frequency saturation).</summary>
    public float K1 { get; init; } = 1.2f;
    /// <summary>BM25 b (length normalisation).</summary>
    public float B { get; init; } = 0.75f;
    /// <summary>How many times the title is indexed before the text (a cheap title boost).</summary>
    public int TitleRepeat { get; init; } = 2;
    /// <summary>Re-ranking weight of title coverage (score × (1 + bonus × fraction of title terms in the query)); 0 turns it off.</summary>
    public double TitleBonus { get; init; } = 1.0;
    /// <summary>How many BM25 candidates the title re-ranking looks at (at least 3·k).</summary>
    public int RerankPool { get; init; } = 30;
    /// <summary>Maximum snippet length in characters.</summary>
    public int SnippetChars { get; init; } = 240;
    /// <summary>Indexing buffer (MB); more means fewer flushes and a faster build.</summary>
    public double RamBufferMB { get; init; } = 256;
}

/// <summary>
/// BM25 search over a <see cref="PageCorpus"/> with Lucene.Net (English analyzer: lower case, stop words, Porter
/// stems). The index lives on disk next to the corpus and is reused as long as the corpus content hash matches;
/// it is rebuilt (atomically) when the corpus changes. Queries are analysed directly into term queries (no query
/// parser: every query string is valid), titles are boosted, and snippets are cut from the page text around the
/// query terms. One instance is safe to use from many threads.
/// </summary>
public sealed class Bm25Index : ISearchProvider, IDisposable
{
    private const string HashFile = "corpus.hash";
    private const string FBody = "text", FOrd = "ord";
    private readonly LDirectory _dir;
    private readonly DirectoryReader _reader;
    private readonly IndexSearcher _searcher;
    private readonly int[] _docToPage;
    private readonly Analyzer _analyzer;
    private readonly Lazy<Dictionary<string, int[]>> _titles;
    private readonly string[]?[] _titleTerms;

    private Bm25Index(PageCorpus corpus, LDirectory dir, Bm25Options options, bool built)
    {
        Corpus = corpus; Options = options; _dir = dir; WasBuilt = built;
        _analyzer = NewAnalyzer();
        _reader = DirectoryReader.Open(dir);
        _searcher = new IndexSearcher(_reader) { Similarity = new BM25Similarity(options.K1, options.B) };
        _docToPage = new int[_reader.MaxDoc];
        foreach (var leaf in _reader.Leaves)
        {
            var ords = leaf.AtomicReader.GetNumericDocValues(FOrd);
            for (int d = 0; d < leaf.AtomicReader.MaxDoc; d++) _docToPage[leaf.DocBase + d] = (int)ords.Get(d);
        }
        _titleTerms = new string[corpus.Count][];
        _titles = new Lazy<Dictionary<string, int[]>>(() =>
        {
            var map = new Dictionary<string, List<int>>(StringComparer.Ordinal);
            for (int i = 0; i < Corpus.Count; i++)
            {
                var terms = _titleTerms[i] ??= [.. Terms(Corpus[i].Title)];
                var key = string.Join(' ', terms);
                if (key.Length == 0) continue;
                if (!map.TryGetValue(key, out var l)) map[key] = l = [];
                l.Add(i);
            }
            return map.ToDictionary(kv => kv.Key, kv => kv.Value.ToArray(), StringComparer.Ordinal);
        });
        if (_reader.NumDocs != corpus.Count)
            throw new InvalidOperationException($"index holds {_reader.NumDocs} documents but the corpus has {corpus.Count} pages");
    }

    /// <summary>The corpus this index searches.</summary>
    public PageCorpus Corpus { get; }

    /// <summary>The options in use.</summary>
    public Bm25Options Options { get; }

    /// <summary>Whether this instance built the index (false: an up-to-date index was reused).</summary>
    public bool WasBuilt { get; }

    /// <summary>Number of indexed documents.</summary>
    public int Count => _reader.NumDocs;

    /// <summary>Builds an index in memory (tests, notebooks, small corpora).</summary>
    public static Bm25Index BuildInMemory(PageCorpus corpus, Bm25Options? options = null, IProgress<double>? progress = null)
    {
        options ??= new();
#pragma warning disable CS0618 // RAMDirectory is fine for small in-memory indexes.
        var dir = new RAMDirectory();
#pragma warning restore CS0618
        Write(corpus, dir, options, progress);
        return new Bm25Index(corpus, dir, options, built: true);
    }

    /// <summary>
    /// Opens the index in <paramref name="indexDir"/> if it was built from this exact corpus content, otherwise
    /// builds it there (into a temporary directory that is then swapped in).
    /// </summary>
    public static Bm25Index OpenOrBuild(PageCorpus corpus, string indexDir, Bm25Options? options = null, IProgress<double>? progress = null)
    {
        options ??= new();
        bool built = false;
        if (!IsCurrent(indexDir, corpus.ContentHash))
        {
            Quest.Core.AtomicFile.WriteDirectory(indexDir, tmp =>
            {
                using (var d = FSDirectory.Open(tmp)) Write(corpus, d, options, progress);
                File.WriteAllText(Path.Combine(tmp, HashFile), corpus.ContentHash);
            });
            built = true;
        }
        else progress?.Report(1.0);
        return new Bm25Index(corpus, FSDirectory.Open(indexDir), options, built);
    }

    /// <summary>Opens (or builds) the index of a stored corpus (<c>corpora/NAME/index</c>).</summary>
    public static Bm25Index ForStoredCorpus(string nameOrDir, Bm25Options? options = null, IProgress<double>? progress = null)
    {
        var corpus = CorpusStore.Load(nameOrDir);
        var dir = CorpusStore.IsCorpusDirectory(nameOrDir) ? nameOrDir : CorpusStore.DirectoryFor(nameOrDir);
        return OpenOrBuild(corpus, Path.Combine(dir, "index"), options, progress);
    }

    /// <summary>Whether <paramref name="indexDir"/> holds an index built from content with this hash.</summary>
    public static bool IsCurrent(string indexDir, string contentHash)
    {
        var f = Path.Combine(indexDir, HashFile);
        return File.Exists(f) && File.ReadAllText(f).Trim() == contentHash;
    }

    private static Analyzer NewAnalyzer() => new EnglishAnalyzer(LuceneVersion.LUCENE_48);

    private static void Write(PageCorpus corpus, LDirectory dir, Bm25Options options, IProgress<double>? progress)
    {
        var cfg = new IndexWriterConfig(LuceneVersion.LUCENE_48, NewAnalyzer())
        {
            OpenMode = OpenMode.CREATE,
            Similarity = new BM25Similarity(options.K1, options.B),
            RAMBufferSizeMB = options.RamBufferMB,
            MaxBufferedDocs = IndexWriterConfig.DISABLE_AUTO_FLUSH,
        };
        using var writer = new IndexWriter(dir, cfg);
        var body = new TextField(FBody, "", Field.Store.NO);
        var ord = new NumericDocValuesField(FOrd, 0);
        var doc = new Document { body, ord };
        var sb = new System.Text.StringBuilder();
        int n = corpus.Count, step = Math.Max(1, n / 200);
        for (int i = 0; i < n; i++)
        {
            var p = corpus[i];
            // One field: the title repeated (TitleRepeat times) as a boost, then the text. A single field halves the
            // number of term queries per search compared with a separate title field.
            sb.Clear();
            for (int r = 0; r < options.TitleRepeat; r++) sb.Append(p.Title).Append(" .\n");
            sb.Append(p.PlainText);
            body.SetStringValue(sb.ToString());
            ord.SetInt64Value(i);
            writer.AddDocument(doc);
            if (i % step == 0) progress?.Report(0.9 * i / n);
        }
        writer.ForceMerge(1);
        writer.Commit();
        progress?.Report(1.0);
    }

    /// <summary>The analysed terms of a query (lower-cased, stop words removed, stemmed), without duplicates.</summary>
    public IReadOnlyList<string> Terms(string query)
    {
        var terms = new List<string>();
        if (string.IsNullOrWhiteSpace(query)) return terms;
        using var ts = _analyzer.GetTokenStream(FBody, query);
        var attr = ts.AddAttribute<ICharTermAttribute>();
        ts.Reset();
        while (ts.IncrementToken())
        {
            var t = attr.ToString();
            if (!terms.Contains(t)) terms.Add(t);
        }
        ts.End();
        return terms;
    }

    /// <summary>Runs one query (synchronously). An empty or stop-word-only query returns no hits.</summary>
    public SearchResults Search(string query, int k = 10)
    {
        ArgumentNullException.ThrowIfNull(query);
        k = Math.Clamp(k, 1, 1000);
        var terms = Terms(query);
        if (terms.Count == 0) return new SearchResults(query, 0, []);
        var q = new BooleanQuery(disableCoord: true);
        foreach (var t in terms) q.Add(new TermQuery(new Term(FBody, t)), Occur.SHOULD);
        // Take a few more candidates than asked and re-rank them by how much of each title the query covers, so
        // that the page *named* by the query beats pages that merely mention its words often.
        int pool = Options.TitleBonus > 0 ? Math.Max(k * 3, Options.RerankPool) : k;
        var top = _searcher.Search(q, pool);
        var ranked = new (int Page, double Score)[top.ScoreDocs.Length];
        for (int i = 0; i < ranked.Length; i++)
        {
            var sd = top.ScoreDocs[i];
            int page = _docToPage[sd.Doc];
            double score = sd.Score;
            if (Options.TitleBonus > 0) score *= 1 + Options.TitleBonus * TitleCoverage(page, terms);
            ranked[i] = (page, score);
        }
        // A query that is exactly a page title (after analysis) puts that page first: "Lisp" → the Lisp page,
        // even when shorter pages mention "Lisp" more densely.
        if (Options.TitleBonus > 0 && _titles.Value.TryGetValue(string.Join(' ', terms), out var exact))
        {
            double best = ranked.Length == 0 ? 1 : ranked.Max(r => r.Score);
            var list = ranked.ToList();
            foreach (var page in exact)
            {
                double bump = best * (1 + Options.TitleBonus) * (string.Equals(Corpus[page].Title.Trim(), query.Trim(), StringComparison.OrdinalIgnoreCase) ? 2 : 1);
                int at = list.FindIndex(r => r.Page == page);
                if (at >= 0) list[at] = (page, bump + list[at].Score);
                else list.Add((page, bump));
            }
            ranked = [.. list];
        }
        if (Options.TitleBonus > 0) Array.Sort(ranked, (a, b) => b.Score.CompareTo(a.Score) is var c && c != 0 ? c : a.Page.CompareTo(b.Page));
        var hits = new SearchHit[Math.Min(k, ranked.Length)];
        for (int i = 0; i < hits.Length; i++)
        {
            var page = Corpus[ranked[i].Page];
            hits[i] = new SearchHit(page.Url, page.Title, Snippets.Make(page.Text, terms, Options.SnippetChars), ranked[i].Score, page.Date);
        }
        return new SearchResults(query, top.TotalHits, hits);
    }

    // How well the query names this title (0..1): title terms found in the query, weighted by query terms in the title.
    // Analysed title terms are cached per page (the same candidates come back query after query).
    private double TitleCoverage(int page, IReadOnlyList<string> queryTerms)
    {
        var titleTerms = _titleTerms[page] ??= [.. Terms(Corpus[page].Title)];
        int n = titleTerms.Length, hit = 0;
        foreach (var t in titleTerms)
            for (int i = 0; i < queryTerms.Count; i++) if (queryTerms[i] == t) { hit++; break; }
        if (n == 0 || queryTerms.Count == 0) return 0;
        // Title fully named by the query matters most; a query that is all title (nothing else) a little more.
        return (double)hit / n * (0.5 + 0.5 * hit / queryTerms.Count);
    }

    /// <inheritdoc />
    public Task<SearchResults> SearchAsync(string query, int k = 10, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        return Task.FromResult(Search(query, k));
    }

    /// <inheritdoc />
    public void Dispose()
    {
        _reader.Dispose();
        _dir.Dispose();
        _analyzer.Dispose();
    }
}
