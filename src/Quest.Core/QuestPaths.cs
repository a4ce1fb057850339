namespace Quest.Core;

/// <summary>
/// Where the kit keeps what it builds (corpora, indexes, checkpoints, rollouts): <c>data/artifacts</c> in the
/// repository, or the directory named by the <c>QUEST_ARTIFACTS</c> environment variable.
/// </summary>
public static class QuestPaths
{
    /// <summary>The repository root: the nearest ancestor of the working directory (or of the app) holding Quest.Notebooks.sln; null outside a checkout.</summary>
    public static string? RepoRoot { get; } = FindRepoRoot();

    /// <summary>The artifacts root directory (created on demand).</summary>
    public static string Artifacts
    {
        get
        {
            var env = Environment.GetEnvironmentVariable("QUEST_ARTIFACTS");
            var dir = !string.IsNullOrWhiteSpace(env) ? env
                : RepoRoot is not null ? Path.Combine(RepoRoot, "data", "artifacts")
                : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".quest", "artifacts");
            Directory.CreateDirectory(dir);
            return dir;
        }
    }

    /// <summary>A sub-directory of <see cref="Artifacts"/>, created on demand.</summary>
    public static string ArtifactDir(params string[] parts)
    {
        var dir = Path.Combine([Artifacts, .. parts]);
        Directory.CreateDirectory(dir);
        return dir;
    }

    private static string? FindRepoRoot()
    {
        foreach (var start in new[] { Directory.GetCurrentDirectory(), AppContext.BaseDirectory })
        {
            for (var d = new DirectoryInfo(start); d is not null; d = d.Parent)
                if (File.Exists(Path.Combine(d.FullName, "Quest.Notebooks.sln"))) return d.FullName;
        }
        return null;
    }
}
