using System.Buffers;
using System.Text;
using System.Text.Unicode;

namespace Quest.Core;

/// <summary>
/// The one rule for reading the kit's input text files (rubric trees, task files, corpora, JSONL): they are UTF-8; a
/// leading byte-order mark is accepted and dropped; invalid UTF-8 is an error naming the file, line, column and byte
/// offset, never silently replaced.
/// </summary>
public static class Utf8Text
{
    private static readonly byte[] Bom = [0xEF, 0xBB, 0xBF];

    /// <summary>Reads a whole file as strict UTF-8 (see the type's rule). A missing file throws <see cref="QuestInputException"/>.</summary>
    public static string ReadFile(string path, string? expected = null)
    {
        if (!File.Exists(path)) throw new QuestInputException(path, null, null, "file not found", expected);
        return Decode(File.ReadAllBytes(path), path);
    }

    /// <summary>Reads a file's lines (split on <c>\n</c>, a trailing <c>\r</c> dropped) as strict UTF-8.</summary>
    public static string[] ReadLines(string path, string? expected = null)
    {
        var text = ReadFile(path, expected);
        if (text.Length == 0) return [];
        var lines = text.Split('\n');
        if (lines[^1].Length == 0) Array.Resize(ref lines, lines.Length - 1);
        for (int i = 0; i < lines.Length; i++) if (lines[i].EndsWith('\r')) lines[i] = lines[i][..^1];
        return lines;
    }

    /// <summary>
    /// Decodes <paramref name="bytes"/>: drops a leading BOM when <paramref name="allowBom"/> (the start of a file), and
    /// throws <see cref="QuestInputException"/> at the first invalid sequence. <paramref name="line"/> and
    /// <paramref name="fileOffset"/> place a slice of a file (one line of a streamed JSONL file) in the error.
    /// </summary>
    public static string Decode(ReadOnlySpan<byte> bytes, string? source, long? line = null, long fileOffset = 0, bool allowBom = true)
    {
        int skip = allowBom && bytes.StartsWith(Bom) ? Bom.Length : 0;
        var body = bytes[skip..];
        var chars = new char[body.Length];
        var status = Utf8.ToUtf16(body, chars, out int read, out int written, replaceInvalidSequences: false);
        if (status == OperationStatus.Done) return new string(chars, 0, written);
        long at = fileOffset + skip + read;
        // Line and column of the bad byte when the caller did not give a line: count newlines before it.
        long l = line ?? 1, col;
        if (line is null)
        {
            var before = body[..read];
            l = 1 + before.Count((byte)'\n');
            int lastNl = before.LastIndexOf((byte)'\n');
            col = read - lastNl;
        }
        else col = skip + read + 1;
        throw new QuestInputException(source, l, col, $"invalid UTF-8 at byte offset {at} (byte 0x{body[read]:X2})", "UTF-8 text");
    }
}
