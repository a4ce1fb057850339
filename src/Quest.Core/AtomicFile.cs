using System.Runtime.InteropServices;
using System.Text;

namespace Quest.Core;

/// <summary>
/// Writes files so that a reader never sees half a file: write to a temporary sibling, flush to disk, then rename
/// over the target. Interrupted runs leave either the old file or the new one. A symbolic link is written through
/// (the file it points at is replaced, the link stays); a path that is a device, a pipe or a directory is refused
/// (renaming over <c>/dev/full</c> would replace the device); a path that cannot be created is a
/// <see cref="QuestInputException"/> ("cannot create …"); a full disk is an <see cref="IOException"/> naming the path,
/// and the previous file is left as it was.
/// </summary>
public static class AtomicFile
{
    /// <summary>Writes <paramref name="content"/> (UTF-8, no BOM) atomically.</summary>
    public static void WriteAllText(string path, string content) =>
        Write(path, s => { var b = new UTF8Encoding(false).GetBytes(content); s.Write(b); });

    /// <summary>Writes bytes atomically.</summary>
    public static void WriteAllBytes(string path, ReadOnlySpan<byte> bytes)
    {
        var copy = bytes.ToArray();
        Write(path, s => s.Write(copy));
    }

    /// <summary>Lets <paramref name="write"/> fill a temporary stream, then moves it over <paramref name="path"/>.</summary>
    public static void Write(string path, Action<Stream> write)
    {
        var full = Target(path);
        var dir = Path.GetDirectoryName(full)!;
        var tmp = Path.Combine(dir, $".{Path.GetFileName(full)}.{Environment.ProcessId}.{Guid.NewGuid():N}.tmp");
        try
        {
            try { Directory.CreateDirectory(dir); }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            { throw new QuestInputException(path, null, null, $"cannot create {dir}: {e.Message}", "an output path in a writable directory", e); }
            FileStream fs;
            try { fs = new FileStream(tmp, FileMode.CreateNew, FileAccess.Write, FileShare.None); }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            { throw new QuestInputException(path, null, null, $"cannot create {path}: {e.Message}", "an output path in a writable directory", e); }
            using (fs)
            {
                try
                {
                    write(fs);
                    fs.Flush(flushToDisk: true);
                }
                catch (IOException e) { throw new IOException($"cannot write {path}: {e.Message} (the previous file, if any, is unchanged)", e); }
            }
            File.Move(tmp, full, overwrite: true);
        }
        finally
        {
            try { if (File.Exists(tmp)) File.Delete(tmp); } catch (IOException) { }
        }
    }

    /// <summary>
    /// The file an atomic write replaces: <paramref name="path"/> itself, or the file its symbolic link(s) point at.
    /// Throws <see cref="QuestInputException"/> when it exists and is not a regular file.
    /// </summary>
    public static string Target(string path)
    {
        var full = Path.GetFullPath(path);
        try
        {
            if (new FileInfo(full).LinkTarget is not null && File.ResolveLinkTarget(full, returnFinalTarget: true) is { } target)
                full = Path.GetFullPath(target.FullName);
        }
        catch (Exception e) when (e is DirectoryNotFoundException or FileNotFoundException or UnauthorizedAccessException) { /* no link there; creating it reports the problem */ }
        catch (IOException e) { throw new QuestInputException(path, null, null, $"cannot follow the link: {e.Message}", "a link that resolves to a file path", e); }
        if (Directory.Exists(full))
            throw new QuestInputException(path, null, null, "is a directory", "a file path to write");
        if (File.Exists(full) && !IsRegularFile(full))
            throw new QuestInputException(path, null, null, "is not a regular file (a device or a pipe); refusing to replace it", "a path to a regular file, or one that does not exist yet");
        return full;
    }

    /// <summary>Whether <paramref name="path"/> is a regular file (statx on Linux; elsewhere, any existing non-directory).</summary>
    public static bool IsRegularFile(string path)
    {
        if (!OperatingSystem.IsLinux()) return File.Exists(path);
        var buf = new byte[256];   // struct statx; stx_mode is the u16 at offset 28 on every Linux architecture
        try
        {
            if (Statx(-100 /* AT_FDCWD */, path, 0, 0x1 /* STATX_TYPE */, buf) != 0) return File.Exists(path);
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException) { return File.Exists(path); }
        int mode = BitConverter.ToUInt16(buf, 28);
        return (mode & 0xF000) == 0x8000;   // S_IFMT == S_IFREG
    }

    [DllImport("libc", EntryPoint = "statx", SetLastError = true)]
    private static extern int Statx(int dirfd, [MarshalAs(UnmanagedType.LPUTF8Str)] string path, int flags, uint mask, [Out] byte[] buf);

    /// <summary>
    /// Writes a whole directory atomically: fill a temporary sibling directory, then swap it in. On Linux the swap is
    /// one <c>renameat2</c> call (<c>RENAME_NOREPLACE</c> when the target is absent, <c>RENAME_EXCHANGE</c> when it
    /// exists), so a reader sees the old directory or the new one and never neither. Concurrent writers of one
    /// directory (two processes building the same corpus index) each swap in a whole directory; the last one wins and
    /// none fails. Elsewhere (or on a file system without <c>renameat2</c>) the old directory is moved aside first.
    /// </summary>
    public static void WriteDirectory(string path, Action<string> fill) => WriteDirectory(path, fill, exchange: true);

    /// <summary>As the public overload; <paramref name="exchange"/> false forces the portable swap (tests run both).</summary>
    internal static void WriteDirectory(string path, Action<string> fill, bool exchange)
    {
        var full = Path.GetFullPath(path).TrimEnd(Path.DirectorySeparatorChar);
        var parent = Path.GetDirectoryName(full)!;
        try { Directory.CreateDirectory(parent); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        { throw new QuestInputException(path, null, null, $"cannot create {parent}: {e.Message}", "an output directory in a writable place", e); }
        var tmp = Path.Combine(parent, $".{Path.GetFileName(full)}.{Guid.NewGuid():N}.tmp");
        try { Directory.CreateDirectory(tmp); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        { throw new QuestInputException(path, null, null, $"cannot create {path}: {e.Message}", "an output directory in a writable place", e); }
        var olds = new List<string>();
        try
        {
            fill(tmp);
            if (!exchange || !SwapInLinux(tmp, full)) SwapInPortable(tmp, full, olds);
        }
        finally
        {
            // after an exchange the temporary path holds the previous directory
            if (Directory.Exists(tmp)) Directory.Delete(tmp, recursive: true);
            foreach (var o in olds)
                try { if (Directory.Exists(o)) Directory.Delete(o, recursive: true); }
                catch (IOException) { }   // best effort: a leftover .old directory is harmless
        }
    }

    private const uint RenameNoReplace = 1, RenameExchange = 2;
    private const int EEXIST = 17, ENOENT = 2;

    /// <summary>The atomic swap; false when this platform or file system cannot do it (then nothing was moved).</summary>
    private static bool SwapInLinux(string tmp, string full)
    {
        if (!OperatingSystem.IsLinux()) return false;
        for (int attempt = 0; attempt < 10_000; attempt++)
        {
            try
            {
                if (RenameAt2(-100, tmp, -100, full, RenameNoReplace) == 0) return true;       // target was absent
                int err = Marshal.GetLastPInvokeError();
                if (err != EEXIST) return err == ENOENT ? throw new DirectoryNotFoundException(tmp) : false;
                if (RenameAt2(-100, tmp, -100, full, RenameExchange) == 0) return true;        // swapped with the old one
                if (Marshal.GetLastPInvokeError() != ENOENT) return false;
                // another writer moved the target away between our two calls: try again
            }
            catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException) { return false; }
        }
        throw new IOException($"could not swap in {full}: other writers kept replacing it");
    }

    private static void SwapInPortable(string tmp, string full, List<string> olds)
    {
        for (int attempt = 0; ; attempt++)
        {
            if (Directory.Exists(full))
            {
                var o = $"{tmp}.old{attempt}";
                try { Directory.Move(full, o); olds.Add(o); }
                catch (DirectoryNotFoundException) { }   // another writer moved it away first
            }
            try { Directory.Move(tmp, full); return; }
            catch (IOException) when (attempt < 1_000) { Thread.Sleep(Random.Shared.Next(0, 3)); }   // another writer swapped its own in: again
        }
    }

    [DllImport("libc", EntryPoint = "renameat2", SetLastError = true)]
    private static extern int RenameAt2(int olddirfd, [MarshalAs(UnmanagedType.LPUTF8Str)] string oldpath,
                                        int newdirfd, [MarshalAs(UnmanagedType.LPUTF8Str)] string newpath, uint flags);
}
