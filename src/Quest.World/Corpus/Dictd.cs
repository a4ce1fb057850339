using System.IO.Compression;
using System.Text;
using Quest.Core;

namespace Quest.World.Corpus;

/// <summary>One line of a dictd <c>.index</c> file.</summary>
/// <param name="Headword">The headword (first field).</param>
/// <param name="Offset">Byte offset of the entry in the uncompressed <c>.dict</c> data.</param>
/// <param name="Length">Byte length of the entry.</param>
/// <param name="Line">1-based line in the index file.</param>
public sealed record DictdIndexEntry(string Headword, long Offset, long Length, long Line);

/// <summary>
/// Reads dictd dictionaries (the format of Debian's dict-* packages): <c>NAME.index</c> has lines
/// <c>headword TAB offset TAB length</c> with numbers in dictd's base 64 (alphabet <c>A–Za–z0–9+/</c>);
/// <c>NAME.dict.dz</c> is gzip-compatible (dictzip) and <c>NAME.dict</c> plain. Bad lines and entries that point
/// outside the data are reported with file and line (or offset), per <see cref="ImportOptions.OnError"/>.
/// </summary>
public sealed class DictdReader
{
    private readonly byte[] _data;
    private readonly ImportErrors _errors;

    private DictdReader(string indexPath, string dictPath, byte[] data, List<DictdIndexEntry> entries, ImportErrors errors)
    {
        IndexPath = indexPath; DictPath = dictPath; _data = data; Entries = entries; _errors = errors;
    }

    /// <summary>The index file.</summary>
    public string IndexPath { get; }
    /// <summary>The data file.</summary>
    public string DictPath { get; }
    /// <summary>Valid index entries, in file order.</summary>
    public IReadOnlyList<DictdIndexEntry> Entries { get; }
    /// <summary>Problems met so far (skipped records).</summary>
    public IReadOnlyList<string> Warnings => _errors.Warnings;
    /// <summary>Size of the uncompressed data in bytes.</summary>
    public long DataLength => _data.Length;

    /// <summary>Opens <c>BASE.index</c> with <c>BASE.dict.dz</c> (or <c>BASE.dict</c>); <paramref name="basePath"/> has no extension.</summary>
    public static DictdReader Open(string basePath, ImportOptions? options = null)
    {
        var index = basePath + ".index";
        var dict = File.Exists(basePath + ".dict.dz") ? basePath + ".dict.dz" : basePath + ".dict";
        return Open(index, dict, options);
    }

    /// <summary>Opens an index and a data file.</summary>
    public static DictdReader Open(string indexPath, string dictPath, ImportOptions? options = null)
    {
        options ??= new();
        var errors = new ImportErrors(options);
        if (!File.Exists(indexPath)) throw new QuestInputException(indexPath, null, null, "index file not found", "a dictd .index file");
        if (!File.Exists(dictPath)) throw new QuestInputException(dictPath, null, null, "dictionary data file not found", "a dictd .dict or .dict.dz file");
        byte[] data = ReadData(dictPath);
        var entries = new List<DictdIndexEntry>();
        long lineNo = 0;
        var bytes = File.ReadAllBytes(indexPath);
        foreach (var (start, len) in Lines(bytes))
        {
            lineNo++;
            if (len == 0) continue;
            string line;
            try { line = StrictUtf8.GetString(bytes, start, len); }
            catch (DecoderFallbackException ex)
            {
                errors.Bad(indexPath, lineNo, ex.Index + 1, "index line is not valid UTF-8", "UTF-8 text", ex);
                continue;
            }
            var f = line.TrimEnd('\r').Split('\t');
            if (f.Length < 3)
            {
                errors.Bad(indexPath, lineNo, null, $"index line has {f.Length} field(s)", "headword<TAB>offset<TAB>length");
                continue;
            }
            if (!TryDecode(f[1], out long off) || !TryDecode(f[2], out long size))
            {
                errors.Bad(indexPath, lineNo, f[0].Length + 2, $"bad base-64 number in '{f[1]}\\t{f[2]}'", "dictd base-64 numbers (A-Z a-z 0-9 + /)");
                continue;
            }
            if (off + size > data.Length)
            {
                errors.Bad(indexPath, lineNo, null, $"entry '{f[0]}' (offset {off}, length {size}) points past the end of the data ({data.Length} bytes): truncated {Path.GetFileName(dictPath)}?", "offset+length within the .dict data");
                continue;
            }
            entries.Add(new DictdIndexEntry(f[0], off, size, lineNo));
        }
        if (entries.Count == 0) throw new QuestInputException(indexPath, null, null, "no usable entries", "a dictd index with at least one entry");
        return new DictdReader(indexPath, dictPath, data, entries, errors);
    }

    /// <summary>
    /// The text of an entry: strict UTF-8, or — for old Latin-1 dictionaries — decoded as Latin-1 with a warning.
    /// </summary>
    public string Text(DictdIndexEntry e)
    {
        try { return StrictUtf8.GetString(_data, (int)e.Offset, (int)e.Length); }
        catch (DecoderFallbackException)
        {
            _errors.Warnings.Add($"{DictPath}: entry '{e.Headword}' at offset {e.Offset} is not valid UTF-8; read as Latin-1");
            return Encoding.Latin1.GetString(_data, (int)e.Offset, (int)e.Length);
        }
    }

    /// <summary>Reports a bad entry found while converting (stop or skip per the options).</summary>
    internal void Bad(long line, string problem, string expected) => _errors.Bad(IndexPath, line, null, problem, expected);

    /// <summary>Decodes a dictd base-64 number.</summary>
    public static bool TryDecode(string s, out long value)
    {
        value = 0;
        if (s.Length == 0 || s.Length > 10) return false;
        foreach (var c in s)
        {
            int d = c switch
            {
                >= 'A' and <= 'Z' => c - 'A',
                >= 'a' and <= 'z' => c - 'a' + 26,
                >= '0' and <= '9' => c - '0' + 52,
                '+' => 62,
                '/' => 63,
                _ => -1,
            };
            if (d < 0) return false;
            value = value * 64 + d;
        }
        return true;
    }

    /// <summary>Encodes a number in dictd base 64 (for writing test dictionaries).</summary>
    public static string Encode(long value)
    {
        const string a = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        if (value == 0) return "A";
        var sb = new StringBuilder();
        while (value > 0) { sb.Insert(0, a[(int)(value % 64)]); value /= 64; }
        return sb.ToString();
    }

    private static readonly UTF8Encoding StrictUtf8 = new(false, throwOnInvalidBytes: true);

    private static byte[] ReadData(string path)
    {
        if (!path.EndsWith(".dz", StringComparison.OrdinalIgnoreCase) && !path.EndsWith(".gz", StringComparison.OrdinalIgnoreCase))
            return File.ReadAllBytes(path);
        using var fs = File.OpenRead(path);
        using var gz = new GZipStream(fs, CompressionMode.Decompress);
        using var ms = new MemoryStream();
        try
        {
            gz.CopyTo(ms);
        }
        catch (Exception ex) when (ex is InvalidDataException or EndOfStreamException or IOException)
        {
            throw new QuestInputException(path, null, null,
                $"corrupt or truncated compressed data (failed after {ms.Length} uncompressed bytes, at compressed offset ~{fs.Position}): {ex.Message}",
                "a complete gzip/dictzip file", ex);
        }
        if (ms.Length == 0 && fs.Length > 0)
            throw new QuestInputException(path, null, null, "compressed data decompressed to nothing (truncated?)", "a complete gzip/dictzip file");
        return ms.ToArray();
    }

    internal static IEnumerable<(int Start, int Length)> Lines(byte[] bytes)
    {
        int start = 0;
        for (int i = 0; i < bytes.Length; i++)
        {
            if (bytes[i] == (byte)'\n') { yield return (start, i - start); start = i + 1; }
        }
        if (start < bytes.Length) yield return (start, bytes.Length - start);
    }
}
