using System.Diagnostics;
using Quest.Core;

namespace Quest.World.Corpus;

/// <summary>
/// Finds and fetches the dictd files of FOLDOC and the Jargon File. Looked up in order: <c>$QUEST_DICTD_DIR</c>,
/// the artifacts copy (<c>corpora/_sources/dictd</c>, filled by <c>quest corpus fetch</c>), and
/// <c>/usr/share/dictd</c> (where <c>apt-get install dict-foldoc dict-jargon</c> puts them).
/// </summary>
public static class DictdSources
{
    /// <summary>The artifacts directory that <see cref="FetchAsync"/> fills.</summary>
    public static string FetchedDirectory => Path.Combine(QuestPaths.Artifacts, "corpora", "_sources", "dictd");

    /// <summary>Directories searched, in order.</summary>
    public static IEnumerable<string> SearchPath()
    {
        var env = Environment.GetEnvironmentVariable("QUEST_DICTD_DIR");
        if (!string.IsNullOrWhiteSpace(env)) yield return env;
        yield return FetchedDirectory;
        yield return "/usr/share/dictd";
    }

    /// <summary>The directory holding <c>NAME.index</c> and <c>NAME.dict(.dz)</c>, or null.</summary>
    public static string? Locate(DictdFlavor flavor)
    {
        var b = DictdImporter.BaseName(flavor);
        return SearchPath().FirstOrDefault(d => File.Exists(Path.Combine(d, b + ".index"))
            && (File.Exists(Path.Combine(d, b + ".dict.dz")) || File.Exists(Path.Combine(d, b + ".dict"))));
    }

    /// <summary>
    /// Makes the files available under <see cref="FetchedDirectory"/>: copied from an installed package, or
    /// downloaded with <c>apt-get download dict-NAME</c> and unpacked with <c>dpkg-deb -x</c> (no root needed, nothing
    /// installed). Returns the directory; throws with a clear message where neither works.
    /// </summary>
    public static async Task<string> FetchAsync(DictdFlavor flavor, Action<string>? log = null, CancellationToken ct = default)
    {
        var b = DictdImporter.BaseName(flavor);
        var pkg = DictdImporter.DebianPackage(flavor);
        var dest = FetchedDirectory;
        Directory.CreateDirectory(dest);
        if (File.Exists("/usr/share/dictd/" + b + ".index"))
        {
            log?.Invoke($"copying the installed {pkg} files from /usr/share/dictd");
            CopyFiles("/usr/share/dictd", "/usr/share/doc/" + pkg, b, dest);
            return dest;
        }
        var tmp = Path.Combine(Path.GetTempPath(), "quest-fetch-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(tmp);
        try
        {
            log?.Invoke($"apt-get download {pkg}");
            await Run("apt-get", ["download", pkg], tmp, ct).ConfigureAwait(false);
            var deb = Directory.GetFiles(tmp, pkg + "_*.deb").FirstOrDefault()
                ?? throw new InvalidOperationException($"apt-get download {pkg} produced no .deb file");
            log?.Invoke($"dpkg-deb -x {Path.GetFileName(deb)}");
            var x = Path.Combine(tmp, "x");
            await Run("dpkg-deb", ["-x", deb, x], tmp, ct).ConfigureAwait(false);
            CopyFiles(Path.Combine(x, "usr/share/dictd"), Path.Combine(x, "usr/share/doc", pkg), b, dest);
            return dest;
        }
        finally
        {
            try { Directory.Delete(tmp, true); } catch (IOException) { }
        }
    }

    private static void CopyFiles(string dictdDir, string docDir, string b, string dest)
    {
        foreach (var f in Directory.GetFiles(dictdDir, b + ".*"))
            AtomicFile.WriteAllBytes(Path.Combine(dest, Path.GetFileName(f)), File.ReadAllBytes(f));
        var copyright = Path.Combine(docDir, "copyright");
        if (File.Exists(copyright)) AtomicFile.WriteAllBytes(Path.Combine(dest, b + ".copyright"), File.ReadAllBytes(copyright));
    }

    private static async Task Run(string exe, string[] args, string cwd, CancellationToken ct)
    {
        var psi = new ProcessStartInfo(exe) { WorkingDirectory = cwd, RedirectStandardError = true, RedirectStandardOutput = true };
        foreach (var a in args) psi.ArgumentList.Add(a);
        Process p;
        try { p = Process.Start(psi) ?? throw new InvalidOperationException($"could not start {exe}"); }
        catch (System.ComponentModel.Win32Exception ex)
        {
            throw new InvalidOperationException($"{exe} is not available on this machine ({ex.Message}); install the package elsewhere and pass the directory holding the .index/.dict.dz files", ex);
        }
        using (p)
        {
            var err = p.StandardError.ReadToEndAsync(ct);
            await p.StandardOutput.ReadToEndAsync(ct).ConfigureAwait(false);
            await p.WaitForExitAsync(ct).ConfigureAwait(false);
            if (p.ExitCode != 0) throw new InvalidOperationException($"{exe} {string.Join(' ', args)} failed (exit {p.ExitCode}): {(await err.ConfigureAwait(false)).Trim()}");
        }
    }
}
