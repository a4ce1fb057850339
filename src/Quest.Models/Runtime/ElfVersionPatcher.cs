using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text;

#nullable enable

namespace Quest.Models.Runtime;

// One file, two uses: compiled into Quest.Models (QUEST_MODELS_ASSEMBLY defined) for the run-time check, and compiled
// by MSBuild's RoslynCodeTaskFactory (Directory.Build.targets) into the build step that patches the copy of
// libLibTorchSharp.so in a project's output, logging what it did. See TorchRuntime for why the patch is needed.
// MSBuild compiles it against .NET Standard, so it keeps to that API (no spans, records or init accessors).

/// <summary>Minimal ELF64 reader/patcher for the GNU symbol-version sections.</summary>
public static class ElfVersionPatcher
{
    /// <summary>The TorchSharp native library the patch applies to.</summary>
    public const string TorchSharpLibrary = "libLibTorchSharp.so";

    /// <summary>
    /// Symbol versions (<c>GLIBCXX_*</c>, <c>CXXABI_*</c>) this machine's libstdc++ defines (the one loaded in this
    /// process, else the usual install paths); empty when it cannot be found.
    /// </summary>
    public static HashSet<string> SystemGlibcxxVersions()
    {
        var set = new HashSet<string>(StringComparer.Ordinal);
        string? path = null;
        try
        {
            foreach (var line in File.ReadLines("/proc/self/maps"))
            {
                int i = line.IndexOf('/');
                if (i >= 0 && line.IndexOf("libstdc++.so", StringComparison.Ordinal) >= 0) { path = line.Substring(i).Trim(); break; }
            }
        }
        catch { /* no procfs */ }
        path ??= new[]
        {
            "/usr/lib/x86_64-linux-gnu/libstdc++.so.6", "/lib/x86_64-linux-gnu/libstdc++.so.6", "/usr/lib64/libstdc++.so.6",
            "/usr/lib/aarch64-linux-gnu/libstdc++.so.6", "/usr/lib/libstdc++.so.6",
        }.FirstOrDefault(File.Exists);
        if (path is null || !File.Exists(path)) return set;
        foreach (var v in DefinedVersions(path)) set.Add(v);
        return set;
    }

    /// <summary>
    /// Versions <paramref name="path"/> still needs strongly from <paramref name="fromLib"/> that <paramref name="provided"/>
    /// lacks (what would make the loader refuse it); empty when it loads here.
    /// </summary>
    public static IReadOnlyList<string> MissingStrongVersions(string path, string fromLib, ICollection<string> provided)
    {
        var missing = new List<string>();
        if (provided.Count == 0) return missing;
        Walk(File.ReadAllBytes(path), fromLib, (name, flags) =>
        {
            if (!provided.Contains(name) && (flags & VerFlgWeak) == 0) missing.Add(name);
            return flags;
        });
        return missing;
    }
    private const uint ShtGnuVerdef = 0x6ffffffd, ShtGnuVerneed = 0x6ffffffe;
    private const ushort VerFlgWeak = 2;

    private struct Section
    {
        public uint Type; public long Offset; public long Size; public uint Link; public uint Info;
    }

    private static List<Section>? Sections(byte[] b)
    {
        if (b.Length < 64 || b[0] != 0x7f || b[1] != (byte)'E' || b[2] != (byte)'L' || b[3] != (byte)'F' || b[4] != 2 || b[5] != 1) return null;
        long shoff = BitConverter.ToInt64(b, 0x28);
        int shentsize = BitConverter.ToUInt16(b, 0x3A), shnum = BitConverter.ToUInt16(b, 0x3C);
        var list = new List<Section>();
        for (int i = 0; i < shnum; i++)
        {
            long o = shoff + (long)i * shentsize;
            if (o + 64 > b.Length) return null;
            list.Add(new Section
            {
                Type = BitConverter.ToUInt32(b, (int)o + 4), Offset = BitConverter.ToInt64(b, (int)o + 0x18),
                Size = BitConverter.ToInt64(b, (int)o + 0x20), Link = BitConverter.ToUInt32(b, (int)o + 0x28), Info = BitConverter.ToUInt32(b, (int)o + 0x2C),
            });
        }
        return list;
    }

    private static string Str(byte[] b, long at)
    {
        int end = (int)at;
        while (end < b.Length && b[end] != 0) end++;
        return Encoding.ASCII.GetString(b, (int)at, end - (int)at);
    }

    /// <summary>Visits every version <paramref name="b"/> needs from <paramref name="fromLib"/>; <paramref name="visit"/> returns the entry's new flags.</summary>
    private static void Walk(byte[] b, string fromLib, Func<string, ushort, ushort> visit)
    {
        var secs = Sections(b);
        if (secs is null) return;
        foreach (var s in secs.Where(s => s.Type == ShtGnuVerneed))
        {
            long strOff = secs[(int)s.Link].Offset;
            long p = s.Offset;
            for (uint n = 0; n < s.Info; n++)
            {
                ushort cnt = BitConverter.ToUInt16(b, (int)p + 2);
                string file = Str(b, strOff + BitConverter.ToUInt32(b, (int)p + 4));
                uint aux = BitConverter.ToUInt32(b, (int)p + 8), next = BitConverter.ToUInt32(b, (int)p + 12);
                long a = p + aux;
                for (int k = 0; k < cnt; k++)
                {
                    ushort flags = BitConverter.ToUInt16(b, (int)a + 4);
                    string name = Str(b, strOff + BitConverter.ToUInt32(b, (int)a + 8));
                    if (file == fromLib)
                    {
                        var now = visit(name, flags);
                        if (now != flags) { b[(int)a + 4] = (byte)(now & 0xff); b[(int)a + 5] = (byte)(now >> 8); }
                    }
                    uint anext = BitConverter.ToUInt32(b, (int)a + 12);
                    if (anext == 0) break;
                    a += anext;
                }
                if (next == 0) break;
                p += next;
            }
        }
    }

    /// <summary>Version names a shared library defines (its <c>SHT_GNU_verdef</c> section).</summary>
    public static IEnumerable<string> DefinedVersions(string path)
    {
        var b = File.ReadAllBytes(path);
        var secs = Sections(b);
        if (secs is null) yield break;
        foreach (var s in secs.Where(s => s.Type == ShtGnuVerdef))
        {
            long strOff = secs[(int)s.Link].Offset;
            long p = s.Offset;
            for (uint n = 0; n < s.Info; n++)
            {
                ushort cnt = BitConverter.ToUInt16(b, (int)p + 6);
                uint aux = BitConverter.ToUInt32(b, (int)p + 12), next = BitConverter.ToUInt32(b, (int)p + 16);
                if (cnt > 0) yield return Str(b, strOff + BitConverter.ToUInt32(b, (int)(p + aux)));
                if (next == 0) break;
                p += next;
            }
        }
    }

    /// <summary>
    /// Marks weak every version that <paramref name="path"/> needs from <paramref name="fromLib"/> and that
    /// <paramref name="provided"/> lacks. When <paramref name="provided"/> is empty (the system library was not
    /// found) only <c>GLIBCXX_3.4.32</c> is weakened. Writes atomically; returns true when the file changed.
    /// </summary>
    public static bool WeakenMissing(string path, string fromLib, ICollection<string> provided)
    {
        var b = File.ReadAllBytes(path);
        bool changed = false;
        Walk(b, fromLib, (name, flags) =>
        {
            bool missing = provided.Count > 0 ? !provided.Contains(name) : name == "GLIBCXX_3.4.32";
            if (!missing || (flags & VerFlgWeak) != 0) return flags;
            changed = true;
            return (ushort)(flags | VerFlgWeak);
        });
        if (changed)
        {
            // Same directory, then rename: a concurrent reader sees the old or the new file, never half of one.
            var tmp = Path.Combine(Path.GetDirectoryName(path)!, $".{Path.GetFileName(path)}.{Guid.NewGuid():N}.tmp");
            File.WriteAllBytes(tmp, b);
            File.Replace(tmp, path, null);
        }
        return changed;
    }
}

#if !QUEST_MODELS_ASSEMBLY
/// <summary>
/// The build step (Directory.Build.targets, after a build or publish copies TorchSharp's natives): marks weak, in the
/// output's copy of libLibTorchSharp.so, every libstdc++ symbol version this machine lacks, and logs it. The NuGet
/// cache is never touched.
/// </summary>
public sealed class PatchTorchSharpNatives : Microsoft.Build.Utilities.Task
{
    /// <summary>Output directories to look in (the library sits in runtimes/linux-*/native below them).</summary>
    [Microsoft.Build.Framework.Required] public string[] Directories { get; set; } = Array.Empty<string>();

    /// <inheritdoc />
    public override bool Execute()
    {
        if (!System.Runtime.InteropServices.RuntimeInformation.IsOSPlatform(System.Runtime.InteropServices.OSPlatform.Linux)) return true;
        var provided = ElfVersionPatcher.SystemGlibcxxVersions();
        foreach (var dir in Directories.Distinct())
        foreach (var arch in new[] { "linux-x64", "linux-arm64" })
        {
            var lib = Path.Combine(dir, "runtimes", arch, "native", ElfVersionPatcher.TorchSharpLibrary);
            if (!File.Exists(lib)) continue;
            if (ElfVersionPatcher.WeakenMissing(lib, "libstdc++.so.6", provided))
                Log.LogMessage(Microsoft.Build.Framework.MessageImportance.High,
                    $"quest: patched {lib}: libstdc++ symbol versions this machine lacks are now weak (TorchSharp loads on Debian 12; see TorchRuntime)");
        }
        return !Log.HasLoggedErrors;
    }
}
#endif
