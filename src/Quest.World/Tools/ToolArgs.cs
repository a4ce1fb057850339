using System.Text.Json;

namespace Quest.World.Tools;

/// <summary>Lenient readers for tool arguments (a model may send a string where a list is expected, or vice versa).</summary>
public static class ToolArgs
{
    /// <summary>A string or list-of-strings property as a list of non-blank strings; null when absent or of the wrong type.</summary>
    public static List<string>? StringList(JsonElement args, string name)
    {
        if (args.ValueKind != JsonValueKind.Object || !args.TryGetProperty(name, out var v)) return null;
        switch (v.ValueKind)
        {
            case JsonValueKind.String:
                return [v.GetString()!];
            case JsonValueKind.Array:
                var list = new List<string>();
                foreach (var item in v.EnumerateArray())
                {
                    if (item.ValueKind == JsonValueKind.String) list.Add(item.GetString()!);
                    else if (item.ValueKind is JsonValueKind.Number or JsonValueKind.True or JsonValueKind.False) list.Add(item.GetRawText());
                }
                return list;
            case JsonValueKind.Number:
                return [v.GetRawText()];
            default:
                return null;
        }
    }

    /// <summary>A string property, or null.</summary>
    public static string? String(JsonElement args, string name)
    {
        if (args.ValueKind != JsonValueKind.Object || !args.TryGetProperty(name, out var v)) return null;
        return v.ValueKind switch
        {
            JsonValueKind.String => v.GetString(),
            JsonValueKind.Array => string.Join(" ", v.EnumerateArray().Where(x => x.ValueKind == JsonValueKind.String).Select(x => x.GetString())),
            JsonValueKind.Null or JsonValueKind.Undefined => null,
            _ => v.GetRawText(),
        };
    }
}
