using System.Globalization;
using System.Text.RegularExpressions;

using Quest.Core;

namespace Quest.Rubrics;

/// <summary><c>exact</c>: the normalized answer equals the normalized expected text or an alias (<c>match: whole</c>, default),
/// or contains one as a word sequence (<c>match: anywhere</c>). Args: <c>expected</c>, <c>aliases</c>, <c>match</c>.</summary>
internal sealed class ExactCheck : ILeafCheck
{
    private readonly (string Text, IReadOnlyList<string> Tokens)[] _candidates;
    private readonly bool _anywhere;

    public ExactCheck(CheckArgs a)
    {
        var expected = a.GetString("expected", required: true)!;
        _candidates = new[] { expected }.Concat(a.GetStrings("aliases"))
            .Select(c => (c, TextNormalizer.Tokens(c))).ToArray();
        if (_candidates.Any(c => c.Item2.Count == 0)) throw a.Error("expected", "expected text or an alias is empty after normalisation", "some letters or digits");
        _anywhere = a.GetChoice("match", "whole", "whole", "anywhere") == "anywhere";
    }

    public string Type => "exact";

    public ValueTask<LeafOutcome> EvaluateAsync(LeafInput input, CancellationToken cancellationToken)
    {
        var tokens = input.View.Tokens;
        foreach (var (text, t) in _candidates)
        {
            bool ok = _anywhere ? TextNormalizer.ContainsSequence(tokens, t) : tokens.SequenceEqual(t);
            if (ok) return ValueTask.FromResult(LeafOutcome.Pass($"matched '{text}'"));
        }
        var shown = input.View.Normalized.Length > 80 ? input.View.Normalized[..80] + "…" : input.View.Normalized;
        return ValueTask.FromResult(LeafOutcome.Fail($"'{shown}' does not {(_anywhere ? "contain" : "equal")} {string.Join(" / ", _candidates.Select(c => $"'{c.Text}'"))}"));
    }
}

/// <summary><c>number</c>: some number in the answer, converted to the expected unit, is within tolerance.
/// Args: <c>expected</c> (number or text like "3.5 million km"), <c>unit</c>, <c>abs</c>, <c>rel</c>.</summary>
internal sealed class NumberCheck : ILeafCheck
{
    private readonly double _expected;
    private readonly string? _unit;
    private readonly double _abs, _rel;

    public NumberCheck(CheckArgs a)
    {
        var raw = a.GetString("expected", required: true)!;
        var q = Quantity.Parse(raw) ?? throw a.Error("expected", $"'{raw}' holds no number", "a number, optionally with a scale word and a unit");
        var unitArg = a.GetString("unit");
        if (unitArg is not null)
        {
            var canon = Quantity.CanonicalUnit(unitArg) ?? throw a.Error("unit", $"unknown unit '{unitArg}'", "a unit such as km, kg, s, %, usd");
            _expected = q.Unit is null ? q.Value : q.In(canon) ?? throw a.Error("unit", $"'{raw}' cannot be expressed in {canon}", "units of one dimension");
            _unit = canon;
        }
        else { _expected = q.Value; _unit = q.Unit; }
        _abs = a.GetDouble("abs") ?? 0;
        _rel = a.GetDouble("rel") ?? 1e-9;
        if (_abs < 0 || _rel < 0) throw a.Error(_abs < 0 ? "abs" : "rel", "negative tolerance", "a tolerance ≥ 0");
    }

    public string Type => "number";

    public ValueTask<LeafOutcome> EvaluateAsync(LeafInput input, CancellationToken cancellationToken)
    {
        var seen = new List<string>();
        foreach (var q in input.View.Numbers)
        {
            var v = q.In(_unit);
            if (v is null) continue;
            seen.Add(q.Text);
            var diff = Math.Abs(v.Value - _expected);
            if (diff <= _abs || diff <= _rel * Math.Abs(_expected))
                return ValueTask.FromResult(new LeafOutcome(true, $"'{q.Text}' = {Fmt(v.Value)}{U} matches {Fmt(_expected)}{U}",
                    Data: new Dictionary<string, object?> { ["found"] = v.Value, ["expected"] = _expected }));
        }
        return ValueTask.FromResult(LeafOutcome.Fail(seen.Count == 0
            ? $"no number{(_unit is null ? "" : " in " + _unit)} in the answer (expected {Fmt(_expected)}{U})"
            : $"expected {Fmt(_expected)}{U}; found {string.Join(", ", seen.Take(8).Select(s => $"'{s}'"))}"));
    }

    private string U => _unit is null ? "" : " " + _unit;
    private static string Fmt(double v) => v.ToString("G6", CultureInfo.InvariantCulture);
}

/// <summary><c>contains</c>: the normalized answer contains the text(s) as word sequences. Args: <c>expected</c> (text or list),
/// <c>mode</c> (all | any, default all), <c>case_sensitive</c> (raw substring match when true).</summary>
internal sealed class ContainsCheck : ILeafCheck
{
    private readonly IReadOnlyList<string> _texts;
    private readonly IReadOnlyList<IReadOnlyList<string>> _tokens;
    private readonly bool _any, _raw;

    public ContainsCheck(CheckArgs a)
    {
        _texts = a.GetStrings("expected", required: true);
        if (_texts.Count == 0) throw a.Error("expected", "empty list", "at least one text");
        _tokens = _texts.Select(t => TextNormalizer.Tokens(t)).ToList();
        _any = a.GetChoice("mode", "all", "all", "any") == "any";
        _raw = a.GetBool("case_sensitive") ?? false;
    }

    public string Type => "contains";

    public ValueTask<LeafOutcome> EvaluateAsync(LeafInput input, CancellationToken cancellationToken)
    {
        var found = new List<string>(); var missing = new List<string>();
        for (int i = 0; i < _texts.Count; i++)
        {
            bool ok = _raw ? input.Answer.Contains(_texts[i], StringComparison.Ordinal) : TextNormalizer.ContainsSequence(input.View.Tokens, _tokens[i]);
            (ok ? found : missing).Add(_texts[i]);
        }
        bool pass = _any ? found.Count > 0 : missing.Count == 0;
        return ValueTask.FromResult(new LeafOutcome(pass,
            (found.Count > 0 ? "found " + string.Join(", ", found.Select(f => $"'{f}'")) : "") +
            (missing.Count > 0 ? (found.Count > 0 ? "; " : "") + "missing " + string.Join(", ", missing.Select(f => $"'{f}'")) : "")));
    }
}

/// <summary><c>regex</c>: the answer matches. Args: <c>pattern</c>, <c>ignore_case</c> (default true), <c>negate</c>
/// (pass when there is no match, e.g. "does not mention Pluto").</summary>
internal sealed class RegexCheck : ILeafCheck
{
    private readonly Regex _rx;
    private readonly bool _negate;

    public RegexCheck(CheckArgs a)
    {
        var pattern = a.GetString("pattern", required: true)!;
        var opts = RegexOptions.Multiline | RegexOptions.CultureInvariant;
        if (a.GetBool("ignore_case") ?? true) opts |= RegexOptions.IgnoreCase;
        _negate = a.GetBool("negate") ?? false;
        try { _rx = new Regex(pattern, opts, TimeSpan.FromSeconds(1)); }
        catch (ArgumentException e) { throw a.Error("pattern", $"invalid regular expression: {e.Message}", "a .NET regular expression"); }
    }

    public string Type => "regex";

    public ValueTask<LeafOutcome> EvaluateAsync(LeafInput input, CancellationToken cancellationToken)
    {
        var m = _rx.Match(input.Answer);
        var evidence = m.Success ? $"matched '{m.Value}' at {m.Index}" : $"no match for /{_rx}/";
        return ValueTask.FromResult(new LeafOutcome(m.Success != _negate, _negate ? "negated: " + evidence : evidence));
    }
}

/// <summary><c>list</c>: coverage of a list of items, each a text or a list of aliases (word-sequence match in the normalized
/// answer). Passes when at least <c>min</c> items are present (default: all). Data: <c>coverage</c> = found / n.</summary>
internal sealed class ListCheck : ILeafCheck
{
    private readonly IReadOnlyList<IReadOnlyList<string>> _items;
    private readonly IReadOnlyList<IReadOnlyList<IReadOnlyList<string>>> _tokens;
    private readonly int _min;

    public ListCheck(CheckArgs a)
    {
        _items = a.GetAliasLists("items", required: true);
        if (_items.Count == 0) throw a.Error("items", "empty list", "at least one item");
        _tokens = _items.Select(i => (IReadOnlyList<IReadOnlyList<string>>)i.Select(x => TextNormalizer.Tokens(x)).ToList()).ToList();
        var min = a.GetInt("min");
        var frac = a.GetDouble("min_fraction");
        if (min is not null && frac is not null) throw a.Error("min_fraction", "both min and min_fraction given", "one of them");
        if (frac is not null && (frac < 0 || frac > 1)) throw a.Error("min_fraction", $"min_fraction is {frac}", "a fraction in [0, 1]");
        _min = min ?? (frac is null ? _items.Count : (int)Math.Ceiling(frac.Value * _items.Count - 1e-9));
        if (_min < 0 || _min > _items.Count) throw a.Error("min", $"min is {_min} with {_items.Count} items", $"0 … {_items.Count}");
    }

    public string Type => "list";

    public ValueTask<LeafOutcome> EvaluateAsync(LeafInput input, CancellationToken cancellationToken)
    {
        var found = new List<string>(); var missing = new List<string>();
        for (int i = 0; i < _items.Count; i++)
            (_tokens[i].Any(t => TextNormalizer.ContainsSequence(input.View.Tokens, t)) ? found : missing).Add(_items[i][0]);
        double coverage = (double)found.Count / _items.Count;
        var evidence = $"{found.Count}/{_items.Count} items (need {_min})" +
                       (found.Count > 0 ? "; found " + string.Join(", ", found) : "") +
                       (missing.Count > 0 ? "; missing " + string.Join(", ", missing) : "");
        return ValueTask.FromResult(new LeafOutcome(found.Count >= _min, evidence,
            Data: new Dictionary<string, object?> { ["coverage"] = coverage, ["found"] = found.Count, ["total"] = _items.Count, ["min"] = _min }));
    }
}

/// <summary>A check backed by a C# delegate, registered by name.</summary>
internal sealed class DelegateCheck(string type, Func<LeafInput, CancellationToken, ValueTask<LeafOutcome>> run, bool needsJudge) : ILeafCheck
{
    public string Type => type;
    public bool NeedsJudge => needsJudge;
    public ValueTask<LeafOutcome> EvaluateAsync(LeafInput input, CancellationToken cancellationToken) => run(input, cancellationToken);
}
