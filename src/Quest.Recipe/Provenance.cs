using System.Text.Json;
using Quest.Core;
using Quest.Models.Runtime;

namespace Quest.Recipe;

/// <summary>
/// Where and with what one invocation of a recipe run ran: the commit the kit was built from, the machine, the .NET,
/// TorchSharp and libtorch versions, the torch threads and the command line. Every start and every resume appends one
/// line to the run's <c>provenance.jsonl</c> (<see cref="RecipePaths.Provenance"/>), so a stage's wall time in a report
/// can be read against the machine and build that produced it (a stage belongs to the last invocation that started
/// before it completed: <see cref="Of"/>).
/// </summary>
public sealed record Provenance
{
    /// <summary>When the invocation started (UTC).</summary>
    public DateTimeOffset StartedAt { get; init; }
    /// <summary>The git commit the kit was built from (null when the build was not from a git checkout).</summary>
    public string? Commit { get; init; }
    /// <summary>The machine (CPU, cores, notable flags, OS, .NET).</summary>
    public Machine Machine { get; init; } = Machine.FromCpuInfo("");
    /// <summary>TorchSharp version.</summary>
    public string TorchSharp { get; init; } = "";
    /// <summary>libtorch package and version the kit was built against.</summary>
    public string Libtorch { get; init; } = "";
    /// <summary>Intra-op threads of the torch thread.</summary>
    public int TorchThreads { get; init; }
    /// <summary>What readying libtorch changed in the process (<see cref="TorchRuntime.Prepare"/>: allocator, OpenMP, MKL).</summary>
    public IReadOnlyList<string> Runtime { get; init; } = [];
    /// <summary>The stages asked for (null: all).</summary>
    public IReadOnlyList<string>? Stages { get; init; }
    /// <summary>The process's command line.</summary>
    public string Command { get; init; } = "";

    /// <summary>This process, now (readies libtorch first, so what that changed is recorded).</summary>
    public static Provenance Capture(IReadOnlyCollection<string>? stages) => new()
    {
        Runtime = TorchRuntime.Prepare(),
        StartedAt = DateTimeOffset.UtcNow, Commit = Machine.BuildCommit(typeof(Provenance).Assembly), Machine = Machine.Current,
        TorchSharp = TorchRuntime.TorchSharpVersion, Libtorch = TorchRuntime.Libtorch, TorchThreads = TorchThread.Threads,
        Stages = stages?.ToList(), Command = string.Join(' ', Environment.GetCommandLineArgs()),
    };

    /// <summary>Appends <paramref name="entry"/> to the run's provenance file (rewritten atomically; a torn last line is dropped).</summary>
    public static void Append(RecipePaths paths, Provenance entry)
    {
        var old = File.Exists(paths.Provenance) ? File.ReadAllText(paths.Provenance) : "";
        if (!old.EndsWith('\n')) old = old[..(old.LastIndexOf('\n') + 1)];
        AtomicFile.WriteAllText(paths.Provenance, old + JsonSerializer.Serialize(entry, JsonFiles.Compact) + "\n");
    }

    /// <summary>Every invocation recorded for a run, oldest first (none when the run predates the file; a torn last line is skipped).</summary>
    public static IReadOnlyList<Provenance> Read(RecipePaths paths) =>
        File.Exists(paths.Provenance) ? [.. Jsonl.Read<Provenance>(paths.Provenance, tolerateTornTail: true, JsonFiles.Compact)] : [];

    /// <summary>The invocation that completed a stage: the last one started before <paramref name="stage"/> completed.</summary>
    public static Provenance? Of(IReadOnlyList<Provenance> invocations, StageRecord stage) =>
        invocations.LastOrDefault(p => p.StartedAt <= stage.CompletedAt);
}
