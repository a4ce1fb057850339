using System.Collections;
using System.Globalization;
using Quest.Core;

namespace Quest.Rubrics;

/// <summary>
/// The declarative description of a leaf check: a type name (<c>exact</c>, <c>number</c>, <c>contains</c>, <c>regex</c>,
/// <c>list</c>, <c>cites</c>, <c>judge</c> or a custom name registered in a <see cref="CheckRegistry"/>) and its
/// arguments as plain values (string, number, bool, lists and maps of those).
/// </summary>
/// <remarks>This is what YAML's <c>check: {type: …, …}</c> maps to; <see cref="CheckRegistry"/> compiles it into an <see cref="ILeafCheck"/>.</remarks>
public sealed class CheckSpec
{
    /// <summary>The check type name (case-insensitive lookup in the registry).</summary>
    public string Type { get; }
    /// <summary>Arguments by name, in the order written.</summary>
    public IReadOnlyDictionary<string, object?> Args { get; }
    /// <summary>Where the <c>check:</c> map was written, when loaded from a file.</summary>
    public SourceLocation? Location { get; init; }
    internal IReadOnlyDictionary<string, SourceLocation> KeyLocations { get; init; } = new Dictionary<string, SourceLocation>();

    /// <summary>Creates a spec.</summary>
    /// <param name="type">Type name.</param>
    /// <param name="args">Arguments (null for none). Order is kept for export.</param>
    public CheckSpec(string type, IEnumerable<KeyValuePair<string, object?>>? args = null)
    {
        Type = type;
        var d = new OrderedDictionary<string, object?>(StringComparer.Ordinal);
        if (args is not null) foreach (var (k, v) in args) d[k] = v;
        Args = d;
    }

    private static CheckSpec Make(string type, params (string Key, object? Value)[] args) =>
        new(type, args.Where(a => a.Value is not null).Select(a => new KeyValuePair<string, object?>(a.Key, a.Value)));

    /// <summary>Normalized exact match of the whole answer (or anywhere, as a word sequence) against an expected text or an alias.</summary>
    public static CheckSpec Exact(string expected, params string[] aliases) =>
        Make("exact", ("expected", expected), ("aliases", aliases.Length == 0 ? null : aliases));
    /// <summary>Like <see cref="Exact"/> but the expected text may appear anywhere in the answer as a word sequence.</summary>
    public static CheckSpec ExactAnywhere(string expected, params string[] aliases) =>
        Make("exact", ("expected", expected), ("aliases", aliases.Length == 0 ? null : aliases), ("match", "anywhere"));
    /// <summary>A number in the answer within tolerance of <paramref name="expected"/> (a number or a text like "3.5 million km").</summary>
    public static CheckSpec Number(object expected, string? unit = null, double? abs = null, double? rel = null) =>
        Make("number", ("expected", expected), ("unit", unit), ("abs", abs), ("rel", rel));
    /// <summary>Every one of the texts appears in the normalized answer.</summary>
    public static CheckSpec Contains(params string[] expected) =>
        Make("contains", ("expected", expected.Length == 1 ? expected[0] : expected));
    /// <summary>The answer matches a regular expression (case-insensitive by default).</summary>
    public static CheckSpec Regex(string pattern, bool ignoreCase = true) =>
        Make("regex", ("pattern", pattern), ("ignore_case", ignoreCase ? null : (object)false));
    /// <summary>At least <paramref name="min"/> of the items (each a text or a list of aliases) appear in the answer.</summary>
    public static CheckSpec List(IEnumerable<object> items, int? min = null) =>
        Make("list", ("items", items.ToList()), ("min", min));
    /// <summary>The answer cites a source whose text supports <paramref name="evidence"/> (token overlap ≥ threshold).</summary>
    public static CheckSpec Cites(string? evidence = null, double? threshold = null) =>
        Make("cites", ("evidence", evidence), ("threshold", threshold));
    /// <summary>An LLM judge checks the claim (the node description when null), optionally against source URLs.</summary>
    public static CheckSpec Judge(string? claim = null, IEnumerable<string>? sources = null, string? instructions = null) =>
        Make("judge", ("claim", claim), ("sources", sources?.ToList()), ("instructions", instructions));
    /// <summary>A check registered under a custom name, with optional arguments.</summary>
    public static CheckSpec Custom(string type, params (string Key, object? Value)[] args) => Make(type, args);

    /// <inheritdoc />
    public override string ToString() =>
        Type + (Args.Count == 0 ? "" : " " + string.Join(", ", Args.Select(a => $"{a.Key}={CheckArgs.Show(a.Value)}")));
}

/// <summary>
/// Typed access to a check's arguments. Every getter throws <see cref="QuestInputException"/> naming the file, line and
/// column of the bad value and what was expected.
/// </summary>
public sealed class CheckArgs
{
    private readonly CheckSpec _spec;
    private readonly HashSet<string> _read = new(StringComparer.Ordinal);

    internal CheckArgs(CheckSpec spec, RubricNode node) { _spec = spec; Node = node; }

    /// <summary>The leaf this check belongs to.</summary>
    public RubricNode Node { get; }
    /// <summary>The raw spec.</summary>
    public CheckSpec Spec => _spec;

    /// <summary>True when the argument is present and not null.</summary>
    public bool Has(string key) => _spec.Args.TryGetValue(key, out var v) && v is not null;

    /// <summary>Raw value or null.</summary>
    public object? Raw(string key) { _read.Add(key); return _spec.Args.TryGetValue(key, out var v) ? v : null; }

    /// <summary>An error at the argument (or the check when the argument is absent).</summary>
    public QuestInputException Error(string? key, string problem, string? expected = null)
    {
        SourceLocation? at = null;
        if (key is not null) _spec.KeyLocations.TryGetValue(key, out at);
        at ??= _spec.Location ?? Node.Location;
        return new QuestInputException(at?.File, at?.Line, at?.Column, $"leaf '{Node.Id}', check '{_spec.Type}': {problem}", expected);
    }

    /// <summary>A text argument; numbers and booleans are read as their text.</summary>
    public string? GetString(string key, bool required = false)
    {
        var v = Raw(key);
        if (v is null) return required ? throw Error(key, $"missing argument '{key}'", $"'{key}: <text>'") : null;
        return v switch
        {
            string s => s,
            bool b => b ? "true" : "false",
            IFormattable f => f.ToString(null, CultureInfo.InvariantCulture),
            _ => throw Error(key, $"argument '{key}' is a {Kind(v)}", "a text"),
        };
    }

    /// <summary>A list of texts; a single text counts as a list of one.</summary>
    public IReadOnlyList<string> GetStrings(string key, bool required = false)
    {
        var v = Raw(key);
        if (v is null) return required ? throw Error(key, $"missing argument '{key}'", $"'{key}: [<text>, …]'") : [];
        if (v is string or IFormattable or bool) return [GetString(key)!];
        if (v is IEnumerable e and not IDictionary)
            return e.Cast<object?>().Select(x => x switch
            {
                string s => s,
                IFormattable f => f.ToString(null, CultureInfo.InvariantCulture),
                bool b => b ? "true" : "false",
                _ => throw Error(key, $"argument '{key}' holds a {Kind(x)}", "a list of texts"),
            }).ToList();
        throw Error(key, $"argument '{key}' is a {Kind(v)}", "a text or a list of texts");
    }

    /// <summary>A list whose items are texts or lists of texts (aliases), e.g. list-coverage items.</summary>
    public IReadOnlyList<IReadOnlyList<string>> GetAliasLists(string key, bool required = false)
    {
        var v = Raw(key);
        if (v is null) return required ? throw Error(key, $"missing argument '{key}'", $"'{key}: [<text> | [<alias>, …], …]'") : [];
        if (v is not IEnumerable e || v is string || v is IDictionary) throw Error(key, $"argument '{key}' is a {Kind(v)}", "a list");
        var result = new List<IReadOnlyList<string>>();
        foreach (var item in e)
        {
            switch (item)
            {
                case string s: result.Add([s]); break;
                case IFormattable f: result.Add([f.ToString(null, CultureInfo.InvariantCulture)]); break;
                case IEnumerable inner when item is not IDictionary:
                    var l = inner.Cast<object?>().Select(x => x is IFormattable ff ? ff.ToString(null, CultureInfo.InvariantCulture) : x as string
                        ?? throw Error(key, $"an item of '{key}' holds a {Kind(x)}", "texts")).ToList();
                    if (l.Count == 0) throw Error(key, $"an item of '{key}' is an empty list", "at least one alias");
                    result.Add(l);
                    break;
                default: throw Error(key, $"an item of '{key}' is a {Kind(item)}", "a text or a list of aliases");
            }
        }
        return result;
    }

    /// <summary>A number argument.</summary>
    public double? GetDouble(string key, bool required = false)
    {
        var v = Raw(key);
        switch (v)
        {
            case null: return required ? throw Error(key, $"missing argument '{key}'", $"'{key}: <number>'") : null;
            case double d: return d;
            case float f: return f;
            case int i: return i;
            case long l: return l;
            case decimal m: return (double)m;
            case string s when double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out var p): return p;
            default: throw Error(key, $"argument '{key}' is '{Show(v)}'", "a number");
        }
    }

    /// <summary>An integer argument.</summary>
    public int? GetInt(string key, bool required = false)
    {
        var d = GetDouble(key, required);
        if (d is null) return null;
        if (d != Math.Floor(d.Value) || d > int.MaxValue || d < int.MinValue) throw Error(key, $"argument '{key}' is {d}", "an integer");
        return (int)d.Value;
    }

    /// <summary>A boolean argument (true/false/yes/no).</summary>
    public bool? GetBool(string key)
    {
        var v = Raw(key);
        return v switch
        {
            null => null,
            bool b => b,
            string s when s.Equals("true", StringComparison.OrdinalIgnoreCase) || s.Equals("yes", StringComparison.OrdinalIgnoreCase) => true,
            string s when s.Equals("false", StringComparison.OrdinalIgnoreCase) || s.Equals("no", StringComparison.OrdinalIgnoreCase) => false,
            _ => throw Error(key, $"argument '{key}' is '{Show(v)}'", "true or false"),
        };
    }

    /// <summary>One of a fixed set of words (case-insensitive); returns the lower-case choice or the default.</summary>
    public string GetChoice(string key, string defaultValue, params string[] choices)
    {
        var s = GetString(key);
        if (s is null) return defaultValue;
        var c = choices.FirstOrDefault(x => x.Equals(s, StringComparison.OrdinalIgnoreCase));
        return c ?? throw Error(key, $"argument '{key}' is '{s}'", "one of " + string.Join(", ", choices));
    }

    /// <summary>Rejects arguments that no getter read (typos such as <c>expeted:</c>). Called after a factory ran.</summary>
    internal void RejectUnread()
    {
        foreach (var k in _spec.Args.Keys)
            if (!_read.Contains(k))
                throw Error(k, $"unknown argument '{k}'", _read.Count == 0 ? "no arguments" : "one of " + string.Join(", ", _read.Order()));
    }

    private static string Kind(object? v) => v switch
    {
        null => "null",
        string => "text",
        bool => "boolean",
        IDictionary => "map",
        IEnumerable => "list",
        IFormattable => "number",
        _ => v.GetType().Name,
    };

    internal static string Show(object? v) => v switch
    {
        null => "null",
        string s => s,
        IFormattable f => f.ToString(null, CultureInfo.InvariantCulture),
        bool b => b ? "true" : "false",
        IDictionary d => "{" + string.Join(", ", d.Keys.Cast<object>().Select(k => $"{k}: {Show(d[k])}")) + "}",
        IEnumerable e => "[" + string.Join(", ", e.Cast<object?>().Select(Show)) + "]",
        _ => v.ToString() ?? "",
    };
}
