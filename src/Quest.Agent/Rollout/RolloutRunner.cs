using System.Diagnostics;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;
using Quest.Core;

namespace Quest.Agent.Rollout;

/// <summary>Rollout settings.</summary>
public sealed record RolloutOptions
{
    /// <summary>Output directory; episodes go to <c>trajectories.jsonl</c> in it, the summary to <c>summary.json</c>.</summary>
    public required string OutDir { get; init; }
    /// <summary>Episodes per task (k).</summary>
    public int Samples { get; init; } = 1;
    /// <summary>Episodes running at once.</summary>
    public int Parallelism { get; init; } = 1;
    /// <summary>Continue an earlier run in <see cref="OutDir"/>, skipping finished (task, sample) pairs. Without it an existing non-empty output is an error.</summary>
    public bool Resume { get; init; }
    /// <summary>
    /// Called as each episode starts; what it returns is disposed once the episode asks the policy for no more turns
    /// (before scoring). A local policy's batcher joins episodes this way (<c>GenerationBatcher.Join</c>), so their
    /// turns are decoded together. Null: nothing.
    /// </summary>
    public Func<IDisposable>? EpisodeScope { get; init; }
    /// <summary>On resume, episodes that ended this way are dropped from the file and run again (default: policy_error).</summary>
    public IReadOnlyCollection<string> RetryOnResume { get; init; } = [Termination.PolicyError];
}

/// <summary>Progress after each episode.</summary>
/// <param name="Done">Episodes finished in this run (written).</param>
/// <param name="Skipped">Episodes skipped because an earlier run finished them.</param>
/// <param name="Total">Episodes to run in this run (excluding skipped).</param>
/// <param name="Last">The episode that just finished.</param>
public sealed record RolloutProgress(int Done, int Skipped, int Total, Trajectory Last);

/// <summary>What a rollout did.</summary>
public sealed record RolloutSummary
{
    /// <summary>The JSONL file.</summary>
    public required string OutFile { get; init; }
    /// <summary>Pairs planned (tasks × samples).</summary>
    public int Planned { get; init; }
    /// <summary>Pairs skipped (finished before).</summary>
    public int Skipped { get; init; }
    /// <summary>Episodes written by this run.</summary>
    public int Written { get; init; }
    /// <summary>Whether the run was cancelled before finishing.</summary>
    public bool Cancelled { get; init; }
    /// <summary>Episodes in the file now, by termination.</summary>
    public IReadOnlyDictionary<string, int> ByTermination { get; init; } = new Dictionary<string, int>();
    /// <summary>Mean reward over scored episodes in the file (policy errors left out: they measured nothing), or null.</summary>
    public double? MeanReward { get; init; }
    /// <summary>Episodes in the file now.</summary>
    public int InFile { get; init; }
    /// <summary>Wall time of this run in seconds.</summary>
    public double ElapsedSeconds { get; init; }
}

/// <summary>
/// Runs many episodes with bounded parallelism and writes each finished one as a single JSONL line (appended and
/// flushed, so a crash loses at most the episodes in flight). Cancellation stops new episodes and keeps every finished
/// one; resume skips finished (task, sample) pairs, repairs a torn last line, and never duplicates an episode.
/// </summary>
public sealed class RolloutRunner
{
    /// <summary>Serializer for trajectory lines: explicit snake_case names, readable (unescaped) protocol tags.</summary>
    public static JsonSerializerOptions JsonOptions => JsonFiles.Compact;

    /// <summary>The file name inside the output directory.</summary>
    public const string TrajectoriesFile = "trajectories.jsonl";

    private readonly Func<RolloutTask, ResearchAgent> _agentFor;
    private readonly IEpisodeScorer? _scorer;

    /// <summary>Creates a runner over one agent (agents are safe to share across parallel episodes).</summary>
    public RolloutRunner(ResearchAgent agent, IEpisodeScorer? scorer = null) : this(_ => agent, scorer) { }

    /// <summary>Creates a runner that picks an agent per task (e.g. per-task tools).</summary>
    public RolloutRunner(Func<RolloutTask, ResearchAgent> agentFor, IEpisodeScorer? scorer = null)
    {
        _agentFor = agentFor ?? throw new ArgumentNullException(nameof(agentFor));
        _scorer = scorer;
    }

    /// <summary>Reads the trajectories of a rollout file (a torn last line is ignored).</summary>
    public static IReadOnlyList<Trajectory> ReadTrajectories(string path) =>
        File.Exists(path) ? Jsonl.Read<Trajectory>(path, tolerateTornTail: true, JsonOptions).ToList() : [];

    /// <summary>Runs every (task, sample) pair not finished yet.</summary>
    public async Task<RolloutSummary> RunAsync(IReadOnlyList<RolloutTask> tasks, RolloutOptions options, Action<RolloutProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(tasks);
        if (options.Samples < 1) throw new ArgumentOutOfRangeException(nameof(options), "Samples must be at least 1");
        if (options.Parallelism < 1) throw new ArgumentOutOfRangeException(nameof(options), "Parallelism must be at least 1");
        var sw = Stopwatch.StartNew();
        Directory.CreateDirectory(options.OutDir);
        var outFile = Path.Combine(options.OutDir, TrajectoriesFile);
        var done = PrepareOutput(outFile, options);

        var pending = new List<(RolloutTask Task, int Sample)>();
        int skipped = 0;
        foreach (var t in tasks)
            for (int k = 0; k < options.Samples; k++)
                if (done.Contains((t.Id, k))) skipped++;
                else pending.Add((t, k));

        int written = 0;
        bool cancelled = false;
        var writeLock = new object();
        try
        {
            await Parallel.ForEachAsync(pending, new ParallelOptions { MaxDegreeOfParallelism = options.Parallelism, CancellationToken = cancellationToken }, async (item, ct) =>
            {
                var agent = _agentFor(item.Task);
                Trajectory traj;
                using (options.EpisodeScope?.Invoke())
                    traj = await agent.RunAsync(item.Task.Question, new EpisodeInfo(item.Task.Id, item.Sample, item.Task.Answer), cancellationToken: ct).ConfigureAwait(false);
                if (traj.Termination == Termination.Cancelled) return; // never record an unfinished episode
                await ScoreAsync(item.Task, traj, ct).ConfigureAwait(false);
                int n;
                lock (writeLock)
                {
                    Jsonl.Append(outFile, traj, JsonOptions);
                    n = ++written;
                }
                progress?.Invoke(new RolloutProgress(n, skipped, pending.Count, traj));
            }).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested) { cancelled = true; }

        var all = ReadTrajectories(outFile);
        var scored = all.Where(t => t.Reward is not null && t.Termination != Termination.PolicyError).ToList();   // a policy error measured nothing
        var summary = new RolloutSummary
        {
            OutFile = outFile, Planned = tasks.Count * options.Samples, Skipped = skipped, Written = written, Cancelled = cancelled,
            ByTermination = all.GroupBy(t => t.Termination).OrderBy(g => g.Key, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.Count()),
            MeanReward = scored.Count > 0 ? scored.Average(t => t.Reward!.Value) : null,
            InFile = all.Count, ElapsedSeconds = sw.Elapsed.TotalSeconds,
        };
        AtomicFile.WriteAllText(Path.Combine(options.OutDir, "summary.json"), JsonSerializer.Serialize(summary, JsonFiles.Indented));
        return summary;
    }

    private async Task ScoreAsync(RolloutTask task, Trajectory traj, CancellationToken ct)
    {
        if (_scorer is null) return;
        try
        {
            var s = await _scorer.ScoreAsync(task, traj, ct).ConfigureAwait(false);
            if (s is null) return;
            traj.Reward = s.Reward;
            traj.Score = s.Report;
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested) { throw; }
        catch (Exception ex)
        {
            // A scorer fault never costs the episode: it is written unscored, with the error.
            traj.Score = new JsonObject { ["error"] = $"{ex.GetType().Name}: {ex.Message}" };
        }
    }

    /// <summary>Checks/repairs the output file and returns the finished (task, sample) pairs.</summary>
    private static HashSet<(string, int)> PrepareOutput(string outFile, RolloutOptions options)
    {
        var done = new HashSet<(string, int)>();
        if (!File.Exists(outFile) || new FileInfo(outFile).Length == 0) return done;
        if (!options.Resume)
            throw new QuestInputException(outFile, null, null, "the output already holds trajectories", "an empty output directory, or --resume to continue that run");
        var lines = File.ReadAllLines(outFile);
        var keep = new List<string>();
        bool changed = false;
        for (int i = 0; i < lines.Length; i++)
        {
            if (string.IsNullOrWhiteSpace(lines[i])) { changed = true; continue; }
            Trajectory? t;
            try { t = JsonSerializer.Deserialize<Trajectory>(lines[i], JsonOptions); }
            catch (JsonException ex)
            {
                bool last = lines.Skip(i + 1).All(string.IsNullOrWhiteSpace);
                if (last) { changed = true; continue; } // torn tail of an interrupted append
                throw new QuestInputException(outFile, i + 1, null, $"corrupt trajectory line: {ex.Message}", "one trajectory JSON object per line");
            }
            if (t is null) { changed = true; continue; }
            if (options.RetryOnResume.Contains(t.Termination) || !done.Add((t.TaskId, t.Sample))) { changed = true; continue; }
            keep.Add(lines[i]);
        }
        if (changed) AtomicFile.WriteAllText(outFile, keep.Count == 0 ? "" : string.Join("\n", keep) + "\n");
        return done;
    }
}
