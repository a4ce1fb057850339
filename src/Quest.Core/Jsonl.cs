using System.Text;
using System.Text.Json;

namespace Quest.Core;

/// <summary>
/// JSON-lines files: one record per line. Appends are whole lines written with one call and flushed, so a crash
/// can at worst leave a torn last line, which <see cref="Read{T}"/> reports or (for resume) ignores.
/// </summary>
public static class Jsonl
{
    /// <summary>Default serializer settings: the kit's one JSON convention, one record per line (<see cref="JsonFiles.Compact"/>).</summary>
    public static JsonSerializerOptions Options => JsonFiles.Compact;

    private static readonly object AppendLock = new();

    /// <summary>Appends one record as a single line and flushes it to disk. Safe across threads of one process.</summary>
    public static void Append<T>(string path, T record, JsonSerializerOptions? options = null)
    {
        var line = JsonSerializer.Serialize(record, options ?? Options) + "\n";
        var bytes = Encoding.UTF8.GetBytes(line);
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
        lock (AppendLock)
        {
            using var fs = new FileStream(path, FileMode.Append, FileAccess.Write, FileShare.Read);
            fs.Write(bytes);
            fs.Flush(flushToDisk: true);
        }
    }

    /// <summary>
    /// Reads every record. A line that does not parse throws <see cref="QuestInputException"/> naming the file and
    /// line, unless it is the last line and <paramref name="tolerateTornTail"/> is set (an interrupted append).
    /// </summary>
    /// <param name="path">The file.</param>
    /// <param name="tolerateTornTail">Ignore an unparsable last line (an interrupted append).</param>
    /// <param name="options">Serializer settings (default <see cref="Options"/>).</param>
    /// <param name="legacyKeys">Also accept records written with camelCase keys before the kit settled on snake_case (<see cref="JsonFiles.DeserializeLegacy{T}"/>).</param>
    public static IEnumerable<T> Read<T>(string path, bool tolerateTornTail = false, JsonSerializerOptions? options = null, bool legacyKeys = false)
    {
        var lines = Utf8Text.ReadLines(path);
        for (int i = 0; i < lines.Length; i++)
        {
            var line = lines[i];
            if (string.IsNullOrWhiteSpace(line)) continue;
            T? value;
            try
            {
                value = legacyKeys ? JsonFiles.DeserializeLegacy<T>(line, options ?? Options) : JsonSerializer.Deserialize<T>(line, options ?? Options);
            }
            catch (JsonException ex)
            {
                bool last = lines.Skip(i + 1).All(string.IsNullOrWhiteSpace);
                if (last && tolerateTornTail) yield break;
                throw new QuestInputException(path, i + 1, ex.BytePositionInLine + 1, $"invalid JSON line: {ex.Message}", "one JSON object per line", ex);
            }
            if (value is null)
                throw new QuestInputException(path, i + 1, null, "null record", "a JSON object");
            yield return value;
        }
    }
}
