using System.Globalization;
using System.Text.RegularExpressions;

namespace Quest.Rubrics;

/// <summary>
/// A number found in text with its scale word and unit: "3.5 million km" → value 3.5e6, unit "km".
/// Scale words: hundred, thousand/k, million/mn/M, billion/bn/B, trillion/tn/T. Units: length, mass, time, area, speed,
/// percent and currency symbols; conversions between units of one dimension are exact factors.
/// </summary>
/// <param name="Value">The number with its scale applied, in <paramref name="Unit"/>.</param>
/// <param name="Unit">Canonical unit name (e.g. "km", "%", "usd"), or null when unitless.</param>
/// <param name="Text">The matched text.</param>
/// <param name="Index">Position in the source text.</param>
public sealed partial record Quantity(double Value, string? Unit, string Text, int Index)
{
    private static readonly Dictionary<string, (string Dim, double Factor, string Canon)> Units = BuildUnits();
    private static readonly Dictionary<string, double> Scales = new(StringComparer.Ordinal)
    {
        ["hundred"] = 1e2, ["thousand"] = 1e3, ["k"] = 1e3, ["K"] = 1e3, ["million"] = 1e6, ["millions"] = 1e6, ["mn"] = 1e6,
        ["mln"] = 1e6, ["M"] = 1e6, ["billion"] = 1e9, ["billions"] = 1e9, ["bn"] = 1e9, ["B"] = 1e9, ["trillion"] = 1e12,
        ["tn"] = 1e12, ["T"] = 1e12, ["thousands"] = 1e3,
    };

    private static Dictionary<string, (string, double, string)> BuildUnits()
    {
        var d = new Dictionary<string, (string, double, string)>(StringComparer.OrdinalIgnoreCase);
        void Add(string dim, double f, string canon, params string[] names) { foreach (var n in names) d[n] = (dim, f, canon); d[canon] = (dim, f, canon); }
        Add("length", 1e-3, "mm", "millimeter", "millimeters", "millimetre", "millimetres");
        Add("length", 1e-2, "cm", "centimeter", "centimeters", "centimetre", "centimetres");
        Add("length", 1, "m", "meter", "meters", "metre", "metres");
        Add("length", 1e3, "km", "kilometer", "kilometers", "kilometre", "kilometres", "kms");
        Add("length", 0.0254, "in", "inch", "inches");
        Add("length", 0.3048, "ft", "foot", "feet");
        Add("length", 0.9144, "yd", "yard", "yards");
        Add("length", 1609.344, "mi", "mile", "miles");
        Add("mass", 1e-6, "mg", "milligram", "milligrams");
        Add("mass", 1e-3, "g", "gram", "grams");
        Add("mass", 1, "kg", "kilogram", "kilograms", "kilo", "kilos");
        Add("mass", 1e3, "t", "tonne", "tonnes", "ton", "tons");
        Add("mass", 0.45359237, "lb", "lbs", "pound", "pounds");
        Add("mass", 0.028349523125, "oz", "ounce", "ounces");
        Add("time", 1e-3, "ms", "millisecond", "milliseconds");
        Add("time", 1, "s", "sec", "secs", "second", "seconds");
        Add("time", 60, "min", "mins", "minute", "minutes");
        Add("time", 3600, "h", "hr", "hrs", "hour", "hours");
        Add("time", 86400, "day", "days");
        Add("time", 604800, "week", "weeks");
        Add("time", 31557600, "year", "years", "yr", "yrs");
        Add("area", 1, "m2", "m²", "sqm");
        Add("area", 1e6, "km2", "km²", "sqkm");
        Add("area", 1e4, "ha", "hectare", "hectares");
        Add("area", 4046.8564224, "acre", "acres");
        Add("area", 2589988.110336, "mi2", "mi²", "sqmi");
        Add("speed", 1, "m/s", "mps");
        Add("speed", 1 / 3.6, "km/h", "kph", "kmh");
        Add("speed", 0.44704, "mph");
        Add("ratio", 1e-2, "%", "percent", "pct", "per cent");
        Add("usd", 1, "usd", "$", "dollars", "dollar");
        Add("eur", 1, "eur", "€", "euros", "euro");
        Add("gbp", 1, "gbp", "£", "pounds sterling");
        return d;
    }

    [GeneratedRegex(@"(?<cur>[$€£])?\s?(?<num>[-+−]?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?|[-+]?\.\d+)(?:\s?(?<scale>hundred|thousands?|millions?|billions?|trillion|mln|mn|bn|tn|k|K|M|B|T)(?![A-Za-z]))?(?:\s?(?<unit>%|per cent|(?:sq\s?)?[A-Za-z°][A-Za-z]*(?:/[A-Za-z]+|²|2)?))?")]
    private static partial Regex NumberRx();

    /// <summary>All numbers in <paramref name="text"/>.</summary>
    public static IReadOnlyList<Quantity> FindAll(string text)
    {
        var list = new List<Quantity>();
        foreach (Match m in NumberRx().Matches(text))
        {
            // Skip digits glued to letters on the left (e.g. "H2O", "COVID19").
            int at = m.Groups["num"].Index;
            if (at > 0 && (char.IsLetter(text[at - 1]) || text[at - 1] == '_')) continue;
            var q = FromMatch(m);
            if (q is not null) list.Add(q);
        }
        return list;
    }

    /// <summary>Parses a whole expected value such as "3.5 million km", "45%", "$12bn" or "1,234". Null when no number.</summary>
    public static Quantity? Parse(string text)
    {
        var m = NumberRx().Match(text.Trim());
        return m.Success ? FromMatch(m) : null;
    }

    private static Quantity? FromMatch(Match m)
    {
        var numText = m.Groups["num"].Value.Replace(",", "").Replace('−', '-');
        if (!double.TryParse(numText, NumberStyles.Float, CultureInfo.InvariantCulture, out var v)) return null;
        if (m.Groups["scale"].Success) v *= Scales[m.Groups["scale"].Value];
        string? unit = null;
        if (m.Groups["unit"].Success)
        {
            var u = m.Groups["unit"].Value.Replace(" ", "");
            if (u.StartsWith("sq", StringComparison.OrdinalIgnoreCase) && u.Length > 2 && Units.TryGetValue(u[2..] + "2", out var sq)) unit = sq.Canon;
            else if (Units.TryGetValue(m.Groups["unit"].Value, out var e) || Units.TryGetValue(u, out e)) unit = e.Canon;
        }
        if (unit is null && m.Groups["cur"].Success) unit = Units[m.Groups["cur"].Value].Canon;
        // The matched text, without a trailing word that turned out not to be a unit ("1928 Alexander" -> "1928").
        int end = unit is not null && m.Groups["unit"].Success ? m.Groups["unit"].Index + m.Groups["unit"].Length
            : m.Groups["scale"].Success ? m.Groups["scale"].Index + m.Groups["scale"].Length
            : m.Groups["num"].Index + m.Groups["num"].Length;
        return new Quantity(v, unit, m.Value[..(end - m.Index)].Trim(), m.Index);
    }

    /// <summary>Canonical name of a unit word ("kilometres" → "km"), or null when unknown.</summary>
    public static string? CanonicalUnit(string unit) => Units.TryGetValue(unit.Trim(), out var e) ? e.Canon : null;

    /// <summary>
    /// This quantity expressed in <paramref name="unit"/>: unitless quantities are taken to be in that unit already;
    /// returns null when the dimensions differ.
    /// </summary>
    public double? In(string? unit)
    {
        if (unit is null || Unit is null) return Value;
        var from = Units[Unit];
        var to = Units[unit];
        if (from.Dim != to.Dim) return null;
        return Value * from.Factor / to.Factor;
    }
}
