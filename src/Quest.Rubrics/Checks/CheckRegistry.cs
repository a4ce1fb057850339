using System.Collections.Concurrent;
using Quest.Core;

namespace Quest.Rubrics;

/// <summary>
/// Maps check type names to factories that compile a <see cref="CheckSpec"/> into an <see cref="ILeafCheck"/>.
/// Built in: <c>exact</c>, <c>number</c>, <c>contains</c>, <c>regex</c>, <c>list</c>, <c>cites</c>, <c>judge</c>.
/// Register custom checks (a C# delegate by name) before loading the trees that use them.
/// </summary>
/// <example><code>
/// var checks = new CheckRegistry();
/// checks.Register("mentions-year", leaf => leaf.Answer.Contains(leaf.Args.GetString("year", required: true)!));
/// var tree = RubricTree.FromYaml(yaml, checks);
/// </code></example>
public sealed class CheckRegistry
{
    private readonly ConcurrentDictionary<string, Entry> _entries = new(StringComparer.OrdinalIgnoreCase);

    private sealed record Entry(Func<CheckArgs, ILeafCheck> Factory, bool StrictArgs, string Description);

    /// <summary>
    /// The registry used when none is passed: the built-in checks, read-only (a check registered on a shared global
    /// would change how every later tree in the process scores). Register custom checks on a <c>new CheckRegistry()</c>
    /// and pass it where trees are loaded.
    /// </summary>
    public static CheckRegistry Default { get; } = new CheckRegistry().Freeze();

    private bool _frozen;

    /// <summary>Makes this registry read-only (registering then throws); returns it.</summary>
    public CheckRegistry Freeze() { _frozen = true; return this; }

    /// <summary>True when this registry is read-only (<see cref="Default"/> is).</summary>
    public bool IsReadOnly => _frozen;

    /// <summary>Creates a registry holding the built-in checks.</summary>
    public CheckRegistry()
    {
        RegisterFactory("exact", a => new ExactCheck(a), "normalized exact match with aliases (expected, aliases, match: whole|anywhere)");
        RegisterFactory("number", a => new NumberCheck(a), "a number within tolerance, units converted (expected, unit, abs, rel)");
        RegisterFactory("contains", a => new ContainsCheck(a), "normalized containment of texts (expected, mode: all|any, case_sensitive)");
        RegisterFactory("regex", a => new RegexCheck(a), "regular expression match (pattern, ignore_case, negate)");
        RegisterFactory("list", a => new ListCheck(a), "k of n items present (items, min | min_fraction)");
        RegisterFactory("cites", a => new CitesCheck(a), "a cited source supports the evidence (evidence, threshold, source)");
        RegisterFactory("judge", a => new JudgeCheck(a), "LLM judge, majority of 3 (claim, sources, sources_from_answer, instructions)");
    }

    /// <summary>Registered type names.</summary>
    public IReadOnlyCollection<string> Types => _entries.Keys.Order(StringComparer.Ordinal).ToList();

    /// <summary>One-line description of a registered type.</summary>
    public string Describe(string type) => _entries.TryGetValue(type, out var e) ? e.Description : "";

    /// <summary>True when <paramref name="type"/> is registered.</summary>
    public bool Contains(string type) => _entries.ContainsKey(type);

    /// <summary>Registers a factory. With <paramref name="strictArgs"/> arguments the factory never read are rejected as typos.</summary>
    public CheckRegistry RegisterFactory(string type, Func<CheckArgs, ILeafCheck> factory, string? description = null, bool strictArgs = true)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(type);
        if (_frozen) throw new InvalidOperationException($"cannot register '{type}': this check registry is read-only (CheckRegistry.Default is shared by every load); register on a new CheckRegistry() and pass it to the loader");
        if (type.Equals("type", StringComparison.OrdinalIgnoreCase)) throw new ArgumentException("'type' is reserved", nameof(type));
        _entries[type] = new Entry(factory, strictArgs, description ?? "custom check");
        return this;
    }

    /// <summary>Registers a synchronous predicate: true passes the leaf.</summary>
    public CheckRegistry Register(string type, Func<LeafInput, bool> predicate, string? description = null) =>
        Register(type, leaf => predicate(leaf) ? LeafOutcome.Pass($"{type}: true") : LeafOutcome.Fail($"{type}: false"), description);

    /// <summary>Registers a synchronous check returning a full outcome (evidence included).</summary>
    public CheckRegistry Register(string type, Func<LeafInput, LeafOutcome> check, string? description = null) =>
        RegisterFactory(type, _ => new DelegateCheck(type, (i, _) => ValueTask.FromResult(check(i)), false), description, strictArgs: false);

    /// <summary>Registers an asynchronous check. Set <paramref name="needsJudge"/> when it calls <see cref="RubricContext.Judge"/>.</summary>
    public CheckRegistry RegisterAsync(string type, Func<LeafInput, CancellationToken, Task<LeafOutcome>> check, string? description = null, bool needsJudge = false) =>
        RegisterFactory(type, _ => new DelegateCheck(type, async (i, ct) => await check(i, ct).ConfigureAwait(false), needsJudge), description, strictArgs: false);

    /// <summary>Removes a registration; returns false when absent.</summary>
    public bool Unregister(string type) => _entries.TryRemove(type, out _);

    /// <summary>Compiles the check of <paramref name="leaf"/>; bad types or arguments throw <see cref="QuestInputException"/>.</summary>
    public ILeafCheck Create(RubricNode leaf)
    {
        var spec = leaf.Check ?? throw Err(leaf.Location, $"leaf '{leaf.Id}' has no check", "'check: {type: …}' or children");
        if (!_entries.TryGetValue(spec.Type, out var entry))
        {
            var at = spec.KeyLocations.GetValueOrDefault("type") ?? spec.Location ?? leaf.Location;
            throw Err(at, $"leaf '{leaf.Id}': unknown check type '{spec.Type}'", "one of " + string.Join(", ", Types));
        }
        var args = new CheckArgs(spec, leaf);
        var check = entry.Factory(args);
        if (entry.StrictArgs) args.RejectUnread();
        return check;
    }

    private static QuestInputException Err(SourceLocation? at, string problem, string expected) =>
        new(at?.File, at?.Line, at?.Column, problem, expected);
}
