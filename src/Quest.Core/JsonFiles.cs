using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;

namespace Quest.Core;

/// <summary>
/// The one JSON convention of every file the kit writes (JSONL records, summaries, configs, checkpoints' state):
/// snake_case property names and enum values (as QUEST's and verl's files), readable text (protocol tags and non-ASCII
/// unescaped), NaN and infinities allowed (a diverged loss is still written), names read case-insensitively, nulls
/// written. Types with explicit <c>[JsonPropertyName]</c> names keep them (they are snake_case too).
/// </summary>
public static class JsonFiles
{
    /// <summary>One record per line (<see cref="Jsonl"/>).</summary>
    public static readonly JsonSerializerOptions Compact = Make(indented: false);

    /// <summary>Whole-file documents (summaries, configs, trainer state).</summary>
    public static readonly JsonSerializerOptions Indented = Make(indented: true);

    /// <summary><see cref="Compact"/>, leaving out null properties (task files, where an absent field reads as null).</summary>
    public static readonly JsonSerializerOptions CompactOmitNulls = new(Compact) { DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull };

    private static JsonSerializerOptions Make(bool indented)
    {
        var o = new JsonSerializerOptions
        {
            PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
            PropertyNameCaseInsensitive = true,
            WriteIndented = indented,
            Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
            NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals | JsonNumberHandling.AllowReadingFromString,
            Converters = { new JsonStringEnumConverter(JsonNamingPolicy.SnakeCaseLower) },
        };
        o.MakeReadOnly(populateMissingResolver: true);
        return o;
    }

    /// <summary>
    /// Reads a record written before the kit settled on snake_case (e.g. a <c>metrics.jsonl</c> line with camelCase keys
    /// such as <c>evalLoss</c>): its top-level camelCase or PascalCase keys are renamed to snake_case (nested objects,
    /// such as dictionaries of user keys, are left as they are), then it is read with <paramref name="options"/>
    /// (default <see cref="Compact"/>). A snake_case record reads unchanged.
    /// </summary>
    public static T? DeserializeLegacy<T>(string json, JsonSerializerOptions? options = null)
    {
        if (JsonNode.Parse(json) is not JsonObject o) return JsonSerializer.Deserialize<T>(json, options ?? Compact);
        var copy = new JsonObject();
        foreach (var (k, v) in o) copy[SnakeName(k)] = v?.DeepClone();
        return copy.Deserialize<T>(options ?? Compact);
    }

    /// <summary>
    /// What a <see cref="JsonException"/> from reading a file says, for a person: System.Text.Json names the CLR type it
    /// was filling ("could not be converted to Quest.Models.Transformer.ModelConfig"); this says which value (its JSON
    /// path) has the wrong type instead, or the parser's own words for broken JSON.
    /// </summary>
    public static string Describe(JsonException ex)
    {
        var path = string.IsNullOrEmpty(ex.Path) || ex.Path == "$" ? "the document" : ex.Path.StartsWith("$.", StringComparison.Ordinal) ? $"\"{ex.Path[2..]}\"" : ex.Path;
        if (ex.Message.Contains("could not be converted", StringComparison.Ordinal))
            return $"{path} has the wrong type (or is null where a value is required)";
        var msg = ex.Message;
        int cut = msg.IndexOf(" Path: ", StringComparison.Ordinal);
        return cut > 0 ? msg[..cut].TrimEnd('.', ' ') : msg.TrimEnd('.', ' ');
    }

    /// <summary>snake_case of a camelCase or PascalCase name (<c>evalLoss</c> → <c>eval_loss</c>), as the naming policy writes it.</summary>
    public static string SnakeName(string name) => JsonNamingPolicy.SnakeCaseLower.ConvertName(name);
}
