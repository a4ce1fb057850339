using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Quest.Core;
using Ml = Microsoft.ML.Tokenizers;

namespace Quest.Models.Tokenization;

/// <summary>Options of <see cref="BpeTrainer"/>.</summary>
public sealed record BpeTrainerOptions
{
    /// <summary>Total vocabulary size, including the 256 byte tokens and the special tokens (2k–8k is typical here).</summary>
    public int VocabSize { get; init; } = 4096;
    /// <summary>A pair must occur at least this often to be merged; training stops early when no pair does.</summary>
    public int MinPairFrequency { get; init; } = 2;
    /// <summary>Special tokens kept whole (never split, never merged across). Defaults to the agent protocol's markers.</summary>
    public IReadOnlyList<string> SpecialTokens { get; init; } = Protocol.SpecialTokens;
    /// <summary>Pre-tokenizer regex (GPT-2 style; merges never cross its pieces). Saved with the tokenizer.</summary>
    public string PreTokenizerPattern { get; init; } = QuestTokenizer.DefaultPattern;
}

/// <summary>
/// Byte-level BPE trainer (Microsoft.ML.Tokenizers has none). Text is split by the pre-tokenizer regex, each piece is
/// taken as UTF-8 bytes, and the most frequent adjacent pair is merged until the vocabulary is full. Any text
/// round-trips because all 256 bytes are in the vocabulary.
/// </summary>
public static class BpeTrainer
{
    /// <summary>Learns a tokenizer from <paramref name="texts"/>.</summary>
    public static QuestTokenizer Train(IEnumerable<string> texts, BpeTrainerOptions? options = null)
    {
        options ??= new BpeTrainerOptions();
        int specials = options.SpecialTokens.Count;
        if (options.VocabSize < 256 + specials)
            throw new ArgumentOutOfRangeException(nameof(options), $"VocabSize {options.VocabSize} must be at least {256 + specials} (256 bytes + {specials} special tokens)");
        var regex = new Regex(options.PreTokenizerPattern, RegexOptions.Compiled);
        var splitter = QuestTokenizer.SpecialSplitter(options.SpecialTokens);

        // 1. word (byte string) frequencies
        var freq = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var text in texts)
        {
            foreach (var (piece, isSpecial) in QuestTokenizer.SplitSpecial(text, splitter))
            {
                if (isSpecial) continue;
                foreach (Match m in regex.Matches(piece))
                    freq[m.Value] = freq.GetValueOrDefault(m.Value) + 1;
            }
        }

        // 2. words as symbol-id lists
        var words = new List<List<int>>(freq.Count);
        var counts = new List<int>(freq.Count);
        foreach (var (w, c) in freq.OrderBy(kv => kv.Key, StringComparer.Ordinal))
        {
            words.Add(Encoding.UTF8.GetBytes(w).Select(b => (int)b).ToList());
            counts.Add(c);
        }
        var pairCounts = new Dictionary<(int, int), long>();
        var where = new Dictionary<(int, int), HashSet<int>>();
        for (int wi = 0; wi < words.Count; wi++) AddWord(wi, +1);

        var merges = new List<(int A, int B)>();
        int target = options.VocabSize - specials - 256;
        // A max-heap over pair counts with lazy invalidation.
        var heap = new PriorityQueue<(int, int), (long, int, int)>(Comparer<(long, int, int)>.Create((x, y) =>
        {
            int c = y.Item1.CompareTo(x.Item1);
            if (c != 0) return c;
            c = x.Item2.CompareTo(y.Item2);
            return c != 0 ? c : x.Item3.CompareTo(y.Item3);
        }));
        foreach (var (p, c) in pairCounts) heap.Enqueue(p, (c, p.Item1, p.Item2));
        while (merges.Count < target && heap.TryDequeue(out var pair, out var pri))
        {
            long current = pairCounts.GetValueOrDefault(pair);
            if (current != pri.Item1) { if (current > 0) heap.Enqueue(pair, (current, pair.Item1, pair.Item2)); continue; }
            if (current < options.MinPairFrequency) break;
            int newId = 256 + merges.Count;
            merges.Add(pair);
            var touched = new HashSet<(int, int)>();
            foreach (var wi in where[pair].ToArray())
            {
                AddWord(wi, -1, touched);
                var w = words[wi];
                for (int i = 0; i < w.Count - 1; i++)
                    if (w[i] == pair.Item1 && w[i + 1] == pair.Item2) { w[i] = newId; w.RemoveAt(i + 1); }
                AddWord(wi, +1, touched);
            }
            foreach (var p in touched)
            {
                var c = pairCounts.GetValueOrDefault(p);
                if (c > 0) heap.Enqueue(p, (c, p.Item1, p.Item2));
            }
        }
        return QuestTokenizer.FromMerges(merges, options.SpecialTokens, options.PreTokenizerPattern);

        void AddWord(int wi, int sign, HashSet<(int, int)>? touched = null)
        {
            var w = words[wi];
            for (int i = 0; i < w.Count - 1; i++)
            {
                var p = (w[i], w[i + 1]);
                long n = pairCounts.GetValueOrDefault(p) + sign * (long)counts[wi];
                if (n <= 0) pairCounts.Remove(p); else pairCounts[p] = n;
                if (sign > 0)
                {
                    if (!where.TryGetValue(p, out var set)) where[p] = set = [];
                    set.Add(wi);
                }
                else if (where.TryGetValue(p, out var set)) set.Remove(wi);
                touched?.Add(p);
            }
        }
    }
}

/// <summary>
/// A byte-level BPE tokenizer with the protocol's markers as single special tokens. Ids: 0–255 are the bytes,
/// then one id per merge (in merge order), then the special tokens. Saved as <c>vocab.json</c> + <c>merges.txt</c>
/// (GPT-2 / Hugging Face format, byte-to-unicode mapped) plus <c>tokenizer_config.json</c>, which
/// Microsoft.ML.Tokenizers loads (<see cref="LoadMlTokenizer"/>).
/// </summary>
public sealed class QuestTokenizer : ITokenCounter
{
    /// <summary>GPT-2's pre-tokenizer pattern.</summary>
    public const string DefaultPattern = @"'(?:[sdmt]|ll|ve|re)| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+";

    private static readonly char[] ByteToChar = BuildByteToChar();
    private static readonly Dictionary<char, byte> CharToByte = Enumerable.Range(0, 256).ToDictionary(i => ByteToChar[i], i => (byte)i);

    private readonly Dictionary<(int, int), int> _rank = [];   // pair -> merged id (lower id = earlier merge = higher priority)
    private readonly byte[][] _bytes;                            // id -> bytes (specials: their UTF-8)
    private readonly Dictionary<string, int> _special;
    private readonly Regex _regex, _splitter;
    private readonly Dictionary<string, int[]> _cache = new(StringComparer.Ordinal);

    /// <summary>The learned merges (pairs of ids) in order.</summary>
    public IReadOnlyList<(int A, int B)> Merges { get; }
    /// <summary>Special tokens and their ids.</summary>
    public IReadOnlyDictionary<string, int> SpecialTokens => _special;
    /// <summary>The pre-tokenizer regex pattern.</summary>
    public string Pattern { get; }
    /// <summary>Vocabulary size (bytes + merges + special tokens): the model's embedding rows.</summary>
    public int VocabSize => _bytes.Length;
    /// <summary>Id of <c>&lt;|endoftext|&gt;</c> (document separator and padding).</summary>
    public int EndOfTextId => _special.GetValueOrDefault(Protocol.EndOfText, -1);
    /// <summary>Id of <c>&lt;|im_end|&gt;</c> (end of a chat turn).</summary>
    public int ImEndId => _special.GetValueOrDefault(Protocol.ImEnd, -1);

    private QuestTokenizer(IReadOnlyList<(int, int)> merges, IReadOnlyList<string> specials, string pattern)
    {
        Merges = merges;
        Pattern = pattern;
        var bytes = new List<byte[]>(256 + merges.Count + specials.Count);
        for (int i = 0; i < 256; i++) bytes.Add([(byte)i]);
        foreach (var (a, b) in merges)
        {
            if (a >= bytes.Count || b >= bytes.Count) throw new ArgumentException($"merge ({a},{b}) refers to an id not yet defined");
            _rank[(a, b)] = bytes.Count;
            bytes.Add([.. bytes[a], .. bytes[b]]);
        }
        _special = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var s in specials.Distinct())
        {
            _special[s] = bytes.Count;
            bytes.Add(Encoding.UTF8.GetBytes(s));
        }
        _bytes = [.. bytes];
        _regex = new Regex(pattern, RegexOptions.Compiled);
        _splitter = SpecialSplitter(specials);
    }

    /// <summary>Builds a tokenizer from merges (as produced by <see cref="BpeTrainer"/>).</summary>
    public static QuestTokenizer FromMerges(IReadOnlyList<(int, int)> merges, IReadOnlyList<string> specialTokens, string? pattern = null) =>
        new(merges, specialTokens, pattern ?? DefaultPattern);

    /// <summary>Encodes text; special-token strings in the text become their single ids.</summary>
    public int[] Encode(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var ids = new List<int>(text.Length / 3 + 4);
        foreach (var (piece, isSpecial) in SplitSpecial(text, _splitter))
        {
            if (isSpecial) { ids.Add(_special[piece]); continue; }
            foreach (Match m in _regex.Matches(piece)) ids.AddRange(EncodeWord(m.Value));
        }
        return [.. ids];
    }

    /// <summary>Encodes text treating special-token strings as plain text (for untrusted content).</summary>
    public int[] EncodeOrdinary(string text)
    {
        var ids = new List<int>();
        foreach (Match m in _regex.Matches(text)) ids.AddRange(EncodeWord(m.Value));
        return [.. ids];
    }

    /// <summary>Decodes ids to text (invalid UTF-8 from a cut-off multi-byte character becomes U+FFFD).</summary>
    public string Decode(IEnumerable<int> ids) => Encoding.UTF8.GetString(DecodeBytes(ids));

    /// <summary>The raw bytes of <paramref name="ids"/>.</summary>
    public byte[] DecodeBytes(IEnumerable<int> ids)
    {
        var ms = new MemoryStream();
        foreach (var id in ids)
        {
            if ((uint)id >= (uint)_bytes.Length) throw new ArgumentOutOfRangeException(nameof(ids), $"token id {id} is outside the vocabulary (0..{_bytes.Length - 1})");
            ms.Write(_bytes[id]);
        }
        return ms.ToArray();
    }

    /// <summary>
    /// <paramref name="ids"/> as readable text pieces, one per token, for showing tokens to people: each piece is the
    /// token's decoded text (a space is a space, a newline a newline), and tokens that only together make a character
    /// (a multi-byte UTF-8 character split by byte-level BPE) form one piece. Concatenated, the pieces are
    /// <see cref="Decode"/>'s text.
    /// </summary>
    public IReadOnlyList<(int Start, int Count, string Text)> DecodePieces(IReadOnlyList<int> ids)
    {
        var strict = new UTF8Encoding(false, throwOnInvalidBytes: true);
        var pieces = new List<(int, int, string)>();
        int start = 0;
        var pending = new List<byte>();
        for (int i = 0; i < ids.Count; i++)
        {
            pending.AddRange(DecodeBytes([ids[i]]));
            bool last = i == ids.Count - 1;
            try { pieces.Add((start, i - start + 1, strict.GetString(pending.ToArray()))); }
            catch (DecoderFallbackException) when (!last && i - start < 3) { continue; }   // a character continues in the next token
            catch (DecoderFallbackException) { pieces.Add((start, i - start + 1, Encoding.UTF8.GetString(pending.ToArray()))); }
            pending.Clear();
            start = i + 1;
        }
        return pieces;
    }

    /// <summary>The text of one token, with bytes shown GPT-2 style (space as Ġ), for display.</summary>
    public string TokenText(int id) => _special.ContainsValue(id) ? Encoding.UTF8.GetString(_bytes[id]) : new string(_bytes[id].Select(b => ByteToChar[b]).ToArray());

    /// <inheritdoc/>
    public int CountTokens(string text) => Encode(text).Length;

    private int[] EncodeWord(string word)
    {
        lock (_cache)
            if (_cache.TryGetValue(word, out var hit)) return hit;
        var ids = Encoding.UTF8.GetBytes(word).Select(b => (int)b).ToList();
        while (ids.Count > 1)
        {
            int best = -1, bestId = int.MaxValue;
            for (int i = 0; i < ids.Count - 1; i++)
                if (_rank.TryGetValue((ids[i], ids[i + 1]), out var r) && r < bestId) { bestId = r; best = i; }
            if (best < 0) break;
            // merge every occurrence of this pair (left to right), like the reference implementation
            var pair = (ids[best], ids[best + 1]);
            var next = new List<int>(ids.Count);
            for (int i = 0; i < ids.Count; i++)
            {
                if (i < ids.Count - 1 && (ids[i], ids[i + 1]) == pair) { next.Add(bestId); i++; }
                else next.Add(ids[i]);
            }
            ids = next;
        }
        var result = ids.ToArray();
        lock (_cache) if (_cache.Count < 200_000) _cache[word] = result;
        return result;
    }

    // ---------------------------------------------------------------- files

    /// <summary>File names of a saved tokenizer.</summary>
    public const string VocabFile = "vocab.json", MergesFile = "merges.txt", ConfigFile = "tokenizer_config.json";

    /// <summary>Writes <c>vocab.json</c>, <c>merges.txt</c> and <c>tokenizer_config.json</c> into <paramref name="dir"/> (each atomically).</summary>
    public void Save(string dir)
    {
        Directory.CreateDirectory(dir);
        var vocab = new JsonObject();
        for (int id = 0; id < _bytes.Length; id++) vocab[TokenText(id)] = id;
        AtomicFile.WriteAllText(Path.Combine(dir, VocabFile), vocab.ToJsonString(JsonFiles.Compact));
        var sb = new StringBuilder("#version: 0.2\n");
        foreach (var (a, b) in Merges) sb.Append(TokenText(a)).Append(' ').Append(TokenText(b)).Append('\n');
        AtomicFile.WriteAllText(Path.Combine(dir, MergesFile), sb.ToString());
        var cfg = new JsonObject
        {
            ["type"] = "byte_level_bpe",
            ["pre_tokenizer_pattern"] = Pattern,
            ["special_tokens"] = new JsonObject(_special.OrderBy(kv => kv.Value).Select(kv => KeyValuePair.Create(kv.Key, (JsonNode?)kv.Value))),
            ["vocab_size"] = VocabSize,
            ["chat_template"] = "qwen",
        };
        AtomicFile.WriteAllText(Path.Combine(dir, ConfigFile), cfg.ToJsonString(JsonFiles.Indented));
    }

    /// <summary>Loads a tokenizer saved by <see cref="Save"/>; bad or missing files throw <see cref="QuestInputException"/>.</summary>
    public static QuestTokenizer Load(string dir)
    {
        var cfgPath = Path.Combine(dir, ConfigFile);
        var vocabPath = Path.Combine(dir, VocabFile);
        var mergesPath = Path.Combine(dir, MergesFile);
        foreach (var p in new[] { cfgPath, vocabPath, mergesPath })
            if (!File.Exists(p)) throw new QuestInputException(p, null, null, "tokenizer file is missing", $"{VocabFile}, {MergesFile} and {ConfigFile} in {dir}");
        JsonNode cfg;
        try { cfg = JsonNode.Parse(File.ReadAllText(cfgPath)) ?? throw new JsonException("empty"); }
        catch (JsonException ex) { throw new QuestInputException(cfgPath, null, null, $"invalid JSON: {Quest.Core.JsonFiles.Describe(ex)}", "a tokenizer config object", ex); }
        var pattern = cfg["pre_tokenizer_pattern"]?.GetValue<string>() ?? DefaultPattern;
        var specials = (cfg["special_tokens"] as JsonObject)?.OrderBy(kv => kv.Value!.GetValue<int>()).Select(kv => kv.Key).ToList() ?? [];
        Dictionary<string, int> vocab;
        try { vocab = JsonSerializer.Deserialize<Dictionary<string, int>>(File.ReadAllText(vocabPath)) ?? []; }
        catch (JsonException ex) { throw new QuestInputException(vocabPath, null, null, $"invalid JSON: {Quest.Core.JsonFiles.Describe(ex)}", "an object of token -> id", ex); }
        var merges = new List<(int, int)>();
        var lines = File.ReadAllLines(mergesPath);
        for (int i = 0; i < lines.Length; i++)
        {
            var line = lines[i];
            if (line.StartsWith("#version", StringComparison.Ordinal) || line.Length == 0) continue;
            var parts = line.Split(' ');
            if (parts.Length != 2 || !vocab.TryGetValue(parts[0], out var a) || !vocab.TryGetValue(parts[1], out var b))
                throw new QuestInputException(mergesPath, i + 1, null, $"bad merge line '{line}'", "two tokens from vocab.json separated by one space");
            merges.Add((a, b));
        }
        var tok = new QuestTokenizer(merges, specials, pattern);
        if (tok.VocabSize != vocab.Count)
            throw new QuestInputException(vocabPath, null, null, $"vocab has {vocab.Count} entries but merges + specials give {tok.VocabSize}", "a vocab.json written with these merges");
        return tok;
    }

    /// <summary>
    /// Loads a saved tokenizer with Microsoft.ML.Tokenizers (byte-level BPE, same pre-tokenizer and special
    /// tokens), for interop with other .NET code. Produces the same ids as <see cref="Encode"/>.
    /// </summary>
    public static Ml.Tokenizer LoadMlTokenizer(string dir)
    {
        var cfg = JsonNode.Parse(File.ReadAllText(Path.Combine(dir, ConfigFile)))!;
        var pattern = cfg["pre_tokenizer_pattern"]?.GetValue<string>() ?? DefaultPattern;
        var specials = (cfg["special_tokens"] as JsonObject)?.ToDictionary(kv => kv.Key, kv => kv.Value!.GetValue<int>()) ?? [];
        var opts = new Ml.BpeOptions(Path.Combine(dir, VocabFile), Path.Combine(dir, MergesFile))
        {
            ByteLevel = true,
            SpecialTokens = specials,
            PreTokenizer = new Ml.RegexPreTokenizer(new Regex(pattern, RegexOptions.Compiled), specials),
        };
        return Ml.BpeTokenizer.Create(opts);
    }

    // ---------------------------------------------------------------- helpers

    internal static Regex SpecialSplitter(IEnumerable<string> specials)
    {
        var list = specials.Where(s => s.Length > 0).OrderByDescending(s => s.Length).Select(Regex.Escape).ToList();
        return new Regex(list.Count == 0 ? "(?!)" : "(" + string.Join("|", list) + ")", RegexOptions.Compiled);
    }

    internal static IEnumerable<(string Piece, bool IsSpecial)> SplitSpecial(string text, Regex splitter)
    {
        int at = 0;
        foreach (Match m in splitter.Matches(text))
        {
            if (m.Index > at) yield return (text[at..m.Index], false);
            yield return (m.Value, true);
            at = m.Index + m.Length;
        }
        if (at < text.Length) yield return (text[at..], false);
    }

    private static char[] BuildByteToChar()
    {
        // GPT-2's bytes_to_unicode: printable bytes map to themselves, the rest to 256+n.
        var map = new char[256];
        var printable = new HashSet<int>();
        for (int b = '!'; b <= '~'; b++) printable.Add(b);
        for (int b = 0xA1; b <= 0xAC; b++) printable.Add(b);
        for (int b = 0xAE; b <= 0xFF; b++) printable.Add(b);
        int n = 0;
        for (int b = 0; b < 256; b++) map[b] = printable.Contains(b) ? (char)b : (char)(256 + n++);
        return map;
    }
}
