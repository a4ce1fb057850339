using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;

using Quest.Core;

namespace Quest.Rubrics;

/// <summary>An answer with lazily computed, cached views (normalized tokens, numbers, citations), shared by all leaves of a scoring run.</summary>
public sealed class AnswerView
{
    private IReadOnlyList<string>? _tokens;
    private string? _normalized;
    private IReadOnlyList<Quantity>? _numbers;
    private CitationSet? _citations;

    /// <summary>Wraps an answer.</summary>
    public AnswerView(string text) => Text = text ?? "";
    /// <summary>The raw answer.</summary>
    public string Text { get; }
    /// <summary>Normalized tokens.</summary>
    public IReadOnlyList<string> Tokens => _tokens ??= TextNormalizer.Tokens(Text);
    /// <summary>Normalized text.</summary>
    public string Normalized => _normalized ??= string.Join(' ', Tokens);
    /// <summary>Numbers with their scale words and units, in order of appearance.</summary>
    public IReadOnlyList<Quantity> Numbers => _numbers ??= Quantity.FindAll(Text);
    /// <summary>What the answer cites (the kit's one citation grammar, <see cref="Quest.Core.Citations"/>).</summary>
    public CitationSet Citations => _citations ??= Quest.Core.Citations.Parse(Text);
}
