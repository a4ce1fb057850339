using System.Globalization;
using System.Text;
using System.Text.Json;
using Quest.Core;
using YamlDotNet.Core;
using YamlDotNet.Core.Events;
using YamlDotNet.RepresentationModel;

namespace Quest.Rubrics;

/// <summary>A parsed document with a position on every value, shared by the YAML and JSON readers so that every
/// error can name the file, line and column.</summary>
internal abstract class Doc
{
    public long Line { get; init; }
    public long Col { get; init; }
    public string? File { get; init; }
    public SourceLocation Loc => new(File, Line, Col);
    public abstract string Kind { get; }

    public QuestInputException Error(string problem, string? expected = null) => new(File, Line > 0 ? Line : null, Line > 0 ? Col : null, problem, expected);
}

internal enum ScalarKind { Text, Plain, Number, Bool, Null }

internal sealed class DScalar : Doc
{
    public string? Value { get; init; }
    public ScalarKind ScalarKind { get; init; }
    public override string Kind => ScalarKind switch { ScalarKind.Number => "number", ScalarKind.Bool => "boolean", ScalarKind.Null => "null", _ => "text" };
    public bool IsNull => ScalarKind == ScalarKind.Null || (ScalarKind == ScalarKind.Plain && (Value is null or "" or "~" or "null" or "Null" or "NULL"));

    /// <summary>Plain value: string, bool, double or null.</summary>
    public object? ToObject() => ScalarKind switch
    {
        ScalarKind.Null => null,
        ScalarKind.Bool => Value == "true",
        ScalarKind.Number => double.Parse(Value!, CultureInfo.InvariantCulture),
        ScalarKind.Plain when IsNull => null,
        ScalarKind.Plain when Value is "true" or "True" or "TRUE" => true,
        ScalarKind.Plain when Value is "false" or "False" or "FALSE" => false,
        _ => Value,
    };
}

internal sealed class DMap : Doc
{
    public List<(DScalar Key, Doc Value)> Entries { get; } = [];
    public override string Kind => "map";
    public Doc? Get(string key) => Entries.FirstOrDefault(e => e.Key.Value == key).Value;
    public bool Has(string key) => Entries.Any(e => e.Key.Value == key);
}

internal sealed class DSeq : Doc
{
    public List<Doc> Items { get; } = [];
    public override string Kind => "list";
}

internal static class DocReader
{
    // ---------------------------------------------------------------- YAML

    public static Doc? ParseYaml(string text, string? file)
    {
        CheckYamlDepth(text, file);   // YamlStream.Load recurses: a 10,000-deep file would overflow the stack (uncatchable)
        var stream = new YamlStream();
        try { stream.Load(new StringReader(text)); }
        catch (YamlException e)
        {
            var msg = e.InnerException is not null && e.Message.Contains("See inner", StringComparison.Ordinal) ? e.InnerException.Message : e.Message;
            // Scanner errors ("While scanning …, found …") start at the construct and end at the offending character.
            long line = e.Start.Line, col = e.Start.Column;
            bool tab = msg.Contains("tab", StringComparison.OrdinalIgnoreCase);
            if (tab)
            {
                // YamlDotNet marks the enclosing mapping; point at the first line indented with a tab instead.
                var lines = text.Split('\n');
                int i = Array.FindIndex(lines, l => l.Length > l.TrimStart().Length && l[..(l.Length - l.TrimStart().Length)].Contains('\t'));
                if (i >= 0) { line = i + 1; col = lines[i].IndexOf('\t') + 1; }
            }
            throw new QuestInputException(file, line, col, "malformed YAML: " + StripMark(msg), tab ? "valid YAML, indented with spaces" : "valid YAML");
        }
        catch (Exception e) when (e is InvalidOperationException or ArgumentException)
        {
            // Some scanner errors surface as bare InvalidOperationExceptions: re-scan the tokens to find the position.
            var scanner = new Scanner(new StringReader(text));
            Mark last = Mark.Empty;
            try { while (scanner.MoveNext()) last = scanner.Current?.End ?? last; }
            catch (YamlException ye) { throw new QuestInputException(file, ye.Start.Line, ye.Start.Column, "malformed YAML: " + StripMark(ye.Message), "valid YAML"); }
            catch (Exception) { last = scanner.CurrentPosition; }
            throw new QuestInputException(file, last.Line > 0 ? last.Line : null, last.Line > 0 ? last.Column : null,
                "malformed YAML: the scanner stopped here (an unclosed bracket or quote?)", "valid YAML");
        }
        if (stream.Documents.Count == 0) return null;
        if (stream.Documents.Count > 1)
            throw new QuestInputException(file, stream.Documents[1].RootNode.Start.Line, stream.Documents[1].RootNode.Start.Column,
                "more than one YAML document", "one tree per file");
        return FromYaml(stream.Documents[0].RootNode, file, new HashSet<YamlNode>(ReferenceEqualityComparer.Instance));
    }

    /// <summary>The deepest nesting of maps and lists accepted in YAML and JSON tree files.</summary>
    public const int MaxDepth = 256;

    private static void CheckYamlDepth(string text, string? file)
    {
        var parser = new Parser(new StringReader(text));
        int depth = 0;
        try
        {
            while (parser.MoveNext())
            {
                switch (parser.Current)
                {
                    case MappingStart or SequenceStart when ++depth > MaxDepth:
                        throw new QuestInputException(file, parser.Current.Start.Line, parser.Current.Start.Column,
                            $"maps and lists nested more than {MaxDepth} levels deep", $"a tree at most {MaxDepth} levels deep");
                    case MappingEnd or SequenceEnd:
                        depth--;
                        break;
                }
            }
        }
        catch (Exception e) when (e is YamlException or InvalidOperationException or ArgumentException) { /* malformed YAML: YamlStream.Load reports it with its position */ }
    }

    private static string StripMark(string m)
    {
        // "(Line: 3, Col: 5, Idx: 20) - (Line: …): message" → "message"
        int i = m.LastIndexOf("): ", StringComparison.Ordinal);
        return i >= 0 && m.StartsWith("(Line", StringComparison.Ordinal) ? m[(i + 3)..] : m;
    }

    private static Doc FromYaml(YamlNode node, string? file, HashSet<YamlNode> open)
    {
        long line = node.Start.Line, col = node.Start.Column;
        if (node is not YamlScalarNode && !open.Add(node))
            throw new QuestInputException(file, line, col, "an alias refers to a node that contains it (a cycle)", "aliases (*name) only to finished nodes");
        try { return FromYamlNode(node, file, open, line, col); }
        finally { open.Remove(node); }
    }

    private static Doc FromYamlNode(YamlNode node, string? file, HashSet<YamlNode> open, long line, long col)
    {
        switch (node)
        {
            case YamlScalarNode s:
                return new DScalar
                {
                    Value = s.Value, Line = line, Col = col, File = file,
                    ScalarKind = s.Style is YamlDotNet.Core.ScalarStyle.Plain or YamlDotNet.Core.ScalarStyle.Any ? ScalarKind.Plain : ScalarKind.Text,
                };
            case YamlSequenceNode q:
                var seq = new DSeq { Line = line, Col = col, File = file };
                foreach (var item in q.Children) seq.Items.Add(FromYaml(item, file, open));
                return seq;
            case YamlMappingNode m:
                var map = new DMap { Line = line, Col = col, File = file };
                foreach (var (k, v) in m.Children)
                {
                    if (FromYaml(k, file, open) is not DScalar key) throw new QuestInputException(file, k.Start.Line, k.Start.Column, "a map key is not a plain value", "text keys");
                    map.Entries.Add((key, FromYaml(v, file, open)));
                }
                return map;
            default:
                throw new QuestInputException(file, line, col, $"unsupported YAML node {node.NodeType}", "maps, lists and scalars");
        }
    }

    // ---------------------------------------------------------------- JSON

    public static Doc? ParseJson(string text, string? file)
    {
        if (string.IsNullOrWhiteSpace(text)) return null;
        var bytes = Encoding.UTF8.GetBytes(text);
        var lineStarts = new List<int> { 0 };
        for (int i = 0; i < bytes.Length; i++) if (bytes[i] == (byte)'\n') lineStarts.Add(i + 1);
        (long, long) Pos(long offset)
        {
            int idx = lineStarts.BinarySearch((int)offset);
            if (idx < 0) idx = ~idx - 1;
            int start = lineStarts[idx];
            return (idx + 1, Encoding.UTF8.GetCharCount(bytes, start, (int)offset - start) + 1);
        }
        var reader = new Utf8JsonReader(bytes, new JsonReaderOptions { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true, MaxDepth = MaxDepth });
        try
        {
            if (!reader.Read()) return null;
            var doc = ReadValue(ref reader, file, Pos);
            if (reader.Read()) { var (l, c) = Pos(reader.TokenStartIndex); throw new QuestInputException(file, l, c, "malformed JSON: content after the top-level value", "one JSON value"); }
            return doc;
        }
        catch (JsonException e)
        {
            var msg = e.Message;
            int cut = msg.IndexOf(" LineNumber:", StringComparison.Ordinal);
            if (cut > 0) msg = msg[..cut];
            throw new QuestInputException(file, (e.LineNumber ?? 0) + 1, (e.BytePositionInLine ?? 0) + 1, "malformed JSON: " + msg.TrimEnd('.', ' '), "valid JSON");
        }
    }

    private static Doc ReadValue(ref Utf8JsonReader r, string? file, Func<long, (long, long)> pos)
    {
        var (line, col) = pos(r.TokenStartIndex);
        switch (r.TokenType)
        {
            case JsonTokenType.StartObject:
                var map = new DMap { Line = line, Col = col, File = file };
                var seen = new HashSet<string>(StringComparer.Ordinal);
                while (r.Read() && r.TokenType != JsonTokenType.EndObject)
                {
                    var (kl, kc) = pos(r.TokenStartIndex);
                    var key = new DScalar { Value = r.GetString(), ScalarKind = ScalarKind.Text, Line = kl, Col = kc, File = file };
                    if (!seen.Add(key.Value!)) throw new QuestInputException(file, kl, kc, $"duplicate key '{key.Value}'", "each key once per object");
                    r.Read();
                    map.Entries.Add((key, ReadValue(ref r, file, pos)));
                }
                return map;
            case JsonTokenType.StartArray:
                var seq = new DSeq { Line = line, Col = col, File = file };
                while (r.Read() && r.TokenType != JsonTokenType.EndArray) seq.Items.Add(ReadValue(ref r, file, pos));
                return seq;
            case JsonTokenType.String:
                return new DScalar { Value = r.GetString(), ScalarKind = ScalarKind.Text, Line = line, Col = col, File = file };
            case JsonTokenType.Number:
                return new DScalar { Value = r.GetDouble().ToString("R", CultureInfo.InvariantCulture), ScalarKind = ScalarKind.Number, Line = line, Col = col, File = file };
            case JsonTokenType.True:
            case JsonTokenType.False:
                return new DScalar { Value = r.GetBoolean() ? "true" : "false", ScalarKind = ScalarKind.Bool, Line = line, Col = col, File = file };
            case JsonTokenType.Null:
                return new DScalar { Value = null, ScalarKind = ScalarKind.Null, Line = line, Col = col, File = file };
            default:
                throw new QuestInputException(file, line, col, $"unexpected JSON token {r.TokenType}", "a value");
        }
    }

    // ---------------------------------------------------------------- helpers shared by the schema readers

    /// <summary>A Doc value as a plain object tree: string, bool, double, null, List&lt;object?&gt;, OrderedDictionary&lt;string, object?&gt;.</summary>
    public static object? ToPlain(Doc d) => d switch
    {
        DScalar s => s.ToObject(),
        DSeq q => q.Items.Select(ToPlain).ToList(),
        DMap m => m.Entries.Aggregate(new OrderedDictionary<string, object?>(), (acc, e) => { acc[e.Key.Value ?? ""] = ToPlain(e.Value); return acc; }),
        _ => null,
    };

    public static string? Text(DMap m, string key, bool required, string expected)
    {
        var v = m.Get(key);
        if (v is null || v is DScalar { IsNull: true })
            return required ? throw m.Error($"missing required field '{key}'", expected) : null;
        if (v is not DScalar s) throw v.Error($"'{key}' is a {v.Kind}", expected);
        return s.Value;
    }

    public static bool? Bool(DMap m, string key)
    {
        var v = m.Get(key);
        if (v is null || v is DScalar { IsNull: true }) return null;
        if (v is DScalar s && s.ToObject() is bool b) return b;
        throw v.Error($"'{key}' is '{(v as DScalar)?.Value ?? v.Kind}'", "true or false");
    }
}
