using System.Collections;
using System.Globalization;
using System.Reflection;
using System.Text;

namespace Quest.Interactive;

/// <summary>
/// Rows as an HTML table, for the table a notebook stage ends with. Columns are the public properties (then fields)
/// of the row type in declaration order; a row that is a dictionary (string keys) uses its keys.
/// Numbers are formatted invariantly (doubles with 4 significant digits), HTML values (<see cref="HtmlFragment"/>,
/// e.g. <see cref="Html.Badge"/>) are inserted as they are, everything else is escaped.
/// </summary>
public static class Tables
{
    /// <summary>Renders <paramref name="rows"/> as a table; at most <paramref name="maxRows"/> rows are shown (a footer says how many were left out).</summary>
    /// <param name="rows">The rows.</param>
    /// <param name="columns">Column subset and order (names of properties/fields/keys); null for all.</param>
    /// <param name="maxRows">Row limit.</param>
    /// <param name="caption">Optional caption above the table.</param>
    public static HtmlFragment ToHtml<T>(IEnumerable<T> rows, IEnumerable<string>? columns = null, int maxRows = 200, string? caption = null)
    {
        ArgumentNullException.ThrowIfNull(rows);
        var list = rows.ToList();
        var getters = new List<(string Name, Func<object?, object?> Get)>();
        if (list.FirstOrDefault() is IEnumerable<KeyValuePair<string, object?>> or IDictionary)
        {
            var keys = new List<string>();
            foreach (var r in list)
                foreach (var k in KeysOf(r))
                    if (!keys.Contains(k)) keys.Add(k);
            getters.AddRange(keys.Select(k => (k, (Func<object?, object?>)(r => Lookup(r, k)))));
        }
        else if (IsScalar(typeof(T)))
        {
            getters.Add(("value", r => r));
        }
        else
        {
            var t = typeof(T);
            foreach (var p in t.GetProperties(BindingFlags.Public | BindingFlags.Instance).Where(p => p.GetIndexParameters().Length == 0 && p.Name != "EqualityContract"))
                getters.Add((p.Name, r => r is null ? null : p.GetValue(r)));
            foreach (var f in t.GetFields(BindingFlags.Public | BindingFlags.Instance))
                getters.Add((f.Name, r => r is null ? null : f.GetValue(r)));
        }
        if (columns is not null)
        {
            var wanted = columns.ToList();
            var unknown = wanted.Where(c => getters.All(g => g.Name != c)).ToList();
            if (unknown.Count > 0)
                throw new ArgumentException($"Unknown column(s) {string.Join(", ", unknown)}; the rows have: {string.Join(", ", getters.Select(g => g.Name))}.");
            getters = wanted.Select(c => getters.First(g => g.Name == c)).ToList();
        }

        var sb = new StringBuilder("<table class=\"quest-table\" style=\"border-collapse:collapse;font-size:90%\">");
        if (caption is not null) sb.Append("<caption style=\"caption-side:top;text-align:left;font-weight:bold\">").Append(Html.Escape(caption)).Append("</caption>");
        sb.Append("<thead><tr>");
        foreach (var g in getters) sb.Append("<th style=\"text-align:left;border-bottom:1px solid #999;padding:2px 8px\">").Append(Html.Escape(g.Name)).Append("</th>");
        sb.Append("</tr></thead><tbody>");
        foreach (var r in list.Take(maxRows))
        {
            sb.Append("<tr>");
            foreach (var g in getters)
            {
                var v = g.Get(r);
                var align = IsNumber(v) ? "right" : "left";
                sb.Append("<td style=\"text-align:").Append(align).Append(";padding:2px 8px;border-bottom:1px solid #eee;vertical-align:top\">").Append(Cell(v)).Append("</td>");
            }
            sb.Append("</tr>");
        }
        sb.Append("</tbody></table>");
        if (list.Count > maxRows)
            sb.Append("<div style=\"font-size:85%;color:#666\">… ").Append(list.Count - maxRows).Append(" more row(s) not shown (").Append(list.Count).Append(" in all)</div>");
        return new HtmlFragment(sb.ToString());
    }

    /// <summary>One value as table-cell markup (the formatting rules of <see cref="ToHtml{T}"/>).</summary>
    public static string Cell(object? value) => value switch
    {
        null => "",
        HtmlFragment h => h.Html,
        Microsoft.AspNetCore.Html.IHtmlContent h => Markup(h), // e.g. the kernel's HTML(...)
        double d => Html.Escape(FormatDouble(d)),
        float f => Html.Escape(FormatDouble(f)),
        IFormattable fm and not Enum => Html.Escape(fm.ToString(null, CultureInfo.InvariantCulture)),
        string s => Html.Escape(s),
        IEnumerable e => Html.Escape(string.Join(", ", e.Cast<object?>().Take(20).Select(x => x is IFormattable xf ? xf.ToString(null, CultureInfo.InvariantCulture) : x?.ToString()))),
        _ => Html.Escape(value.ToString()),
    };

    /// <summary>A double with 4 significant digits ("0.1235", "1234.5", "1.2e-05"); NaN as "NaN".</summary>
    public static string FormatDouble(double d)
    {
        if (double.IsNaN(d) || double.IsInfinity(d)) return d.ToString(CultureInfo.InvariantCulture);
        if (d == Math.Floor(d) && Math.Abs(d) < 1e15) return d.ToString("0", CultureInfo.InvariantCulture);
        var a = Math.Abs(d);
        if (a >= 1e-4 && a < 1000) return d.ToString("G4", CultureInfo.InvariantCulture);
        if (a >= 1000 && a < 1e6) return d.ToString("0.#", CultureInfo.InvariantCulture);
        return d.ToString("0.###e+00", CultureInfo.InvariantCulture);
    }

    private static string Markup(Microsoft.AspNetCore.Html.IHtmlContent content)
    {
        using var writer = new StringWriter(CultureInfo.InvariantCulture);
        content.WriteTo(writer, System.Text.Encodings.Web.HtmlEncoder.Default);
        return writer.ToString();
    }

    private static bool IsScalar(Type t) => t.IsPrimitive || t == typeof(string) || t == typeof(decimal) || t.IsEnum || t == typeof(HtmlFragment);

    private static bool IsNumber(object? v) => v is double or float or int or long or decimal or short or byte or uint or ulong;

    private static IEnumerable<string> KeysOf(object? row) => row switch
    {
        IEnumerable<KeyValuePair<string, object?>> kv => kv.Select(p => p.Key),
        IDictionary d => d.Keys.Cast<object>().Select(k => k.ToString() ?? ""),
        _ => [],
    };

    private static object? Lookup(object? row, string key) => row switch
    {
        IReadOnlyDictionary<string, object?> rd => rd.TryGetValue(key, out var v) ? v : null,
        IDictionary<string, object?> d => d.TryGetValue(key, out var v) ? v : null,
        IDictionary d => d.Contains(key) ? d[key] : null,
        IEnumerable<KeyValuePair<string, object?>> kv => kv.FirstOrDefault(p => p.Key == key).Value,
        _ => null,
    };
}
