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

    /// <summary>
    /// Checks an output directory named by <paramref name="option"/> (e.g. <c>--out</c>) before anything is written, and
    /// returns its full path. Rejected, naming the option and the path: an empty value; a path under /proc, /sys or /dev
    /// (kernel file systems); an existing file; a symbolic link (outputs are swapped in atomically, which would replace
    /// the link, not write where it points); a place whose parent cannot be created.
    /// </summary>
    public static string OutputDirectory(string? value, string option) => CheckOutput(value, option, directory: true);

    /// <summary>As <see cref="OutputDirectory"/>, for an output file: an existing directory or link there is rejected.</summary>
    public static string OutputFile(string? value, string option) => CheckOutput(value, option, directory: false);

    private static string CheckOutput(string? value, string option, bool directory)
    {
        string what = directory ? "an output directory" : "an output file";
        if (string.IsNullOrWhiteSpace(value)) throw new QuestInputException(null, null, null, $"{option} is empty", $"{option} PATH: {what}");
        string full;
        try { full = Path.GetFullPath(value); }
        catch (Exception ex) when (ex is ArgumentException or NotSupportedException or PathTooLongException)
        { throw new QuestInputException(value, null, null, $"{option} is not a usable path: {ex.Message}", what, ex); }
        foreach (var kernel in new[] { "/proc", "/sys", "/dev" })
            if (full == kernel || full.StartsWith(kernel + "/", StringComparison.Ordinal))
                throw new QuestInputException(full, null, null, $"{option} is under {kernel}, a kernel file system", $"{what} on a real disk");
        var info = new FileInfo(full);
        if (info.LinkTarget is { } target)
            throw new QuestInputException(full, null, null, $"{option} is a symbolic link (to {target}); outputs are swapped in whole, which would replace the link",
                $"{what} that is not a link (give the link's target instead)");
        if (directory && File.Exists(full)) throw new QuestInputException(full, null, null, $"{option} is an existing file", what);
        if (!directory && Directory.Exists(full)) throw new QuestInputException(full, null, null, $"{option} is an existing directory", what);
        var parent = Path.GetDirectoryName(full);
        if (parent is not null)
        {
            if (File.Exists(parent)) throw new QuestInputException(full, null, null, $"{option}: {parent} is a file, not a directory", $"{what} inside a directory");
            try { Directory.CreateDirectory(parent); }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            { throw new QuestInputException(full, null, null, $"{option}: cannot create {parent}: {ex.Message}", $"{what} in a writable place", ex); }
        }
        return full;
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
