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
    private string? _prose;

    /// <summary>Wraps an answer.</summary>
    public AnswerView(string text) => Text = text ?? "";
    /// <summary>The raw answer.</summary>
    public string Text { get; }
    /// <summary>The answer's prose: link addresses removed (<see cref="Quest.Core.Citations.Prose"/>); what text and number checks read.</summary>
    public string Prose => _prose ??= Quest.Core.Citations.Prose(Text);
    /// <summary>Normalized tokens of the prose.</summary>
    public IReadOnlyList<string> Tokens => _tokens ??= TextNormalizer.Tokens(Prose);
    /// <summary>Normalized text.</summary>
    public string Normalized => _normalized ??= string.Join(' ', Tokens);
    /// <summary>Numbers with their scale words and units, in order of appearance.</summary>
    public IReadOnlyList<Quantity> Numbers => _numbers ??= Quantity.FindAll(Prose);
    /// <summary>What the answer cites (the kit's one citation grammar, <see cref="Quest.Core.Citations"/>).</summary>
    public CitationSet Citations => _citations ??= Quest.Core.Citations.Parse(Text);
}
