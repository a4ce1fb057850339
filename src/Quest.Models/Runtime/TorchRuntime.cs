using System.Runtime.CompilerServices;
using System.Text;
using TorchSharp;
using static TorchSharp.torch;

namespace Quest.Models.Runtime;

/// <summary>
/// Makes TorchSharp load on the machine it runs on and picks the device.
/// <para>
/// TorchSharp 0.107's <c>libLibTorchSharp.so</c> was linked against GCC 13 and asks for the symbol version
/// <c>GLIBCXX_3.4.32</c>, which Debian 12's libstdc++ (3.4.30) lacks, so the first <c>torch.*</c> call fails with a
/// misleading "doesn't contain a reference to libtorch-cpu-linux-x64". The only symbol carrying that version
/// (<c>std::ios_base_library_init()</c>) is referenced but never called, so marking that one version-needed entry
/// weak (<c>VER_FLG_WEAK</c>) in the copy of the library in the application's output makes the loader accept it.
/// A module initializer does this before any torch call in this assembly; it is a no-op when the system libstdc++
/// already provides every version the library asks for, or when the entry is already weak. The NuGet cache is
/// never touched: only copies under <see cref="AppContext.BaseDirectory"/> or next to <c>TorchSharp.dll</c>.
/// </para>
/// </summary>
public static class TorchRuntime
{
    private static readonly object Gate = new();
    private static bool _prepared;
    private static Device? _device;

    /// <summary>Files patched by this process (for diagnostics).</summary>
    public static IReadOnlyList<string> PatchedFiles => _patched;
    private static readonly List<string> _patched = [];

#pragma warning disable CA2255 // a library module initializer is the point: it must run before TorchSharp loads
    [ModuleInitializer]
    internal static void Init()
    {
        try { Prepare(); }
        catch { /* never fail module load; the first torch call reports the real problem */ }
    }
#pragma warning restore CA2255

    /// <summary>
    /// Applies the Debian loading fix once (idempotent) and honours <c>QUEST_TORCH_THREADS</c>. Call it before the first <c>torch.*</c> call in code that
    /// does not go through Quest.Models types first; every Quest.Models entry point already does.
    /// </summary>
    public static void Prepare()
    {
        lock (Gate)
        {
            if (_prepared) return;
            _prepared = true;
            if (!OperatingSystem.IsLinux()) return;
            var dirs = new List<string>();
            void AddDir(string? d)
            {
                if (string.IsNullOrEmpty(d)) return;
                foreach (var c in new[] { d, Path.Combine(d, "runtimes", "linux-x64", "native"), Path.Combine(d, "runtimes", "linux-arm64", "native") })
                    if (Directory.Exists(c) && !dirs.Contains(c)) dirs.Add(c);
            }
            AddDir(AppContext.BaseDirectory);
            AddDir(Path.GetDirectoryName(typeof(torch).Assembly.Location));
            AddDir(Path.GetDirectoryName(typeof(TorchRuntime).Assembly.Location));
            HashSet<string>? provided = null;
            foreach (var dir in dirs)
            {
                var lib = Path.Combine(dir, "libLibTorchSharp.so");
                if (!File.Exists(lib)) continue;
                provided ??= SystemGlibcxxVersions();
                if (ElfVersionPatcher.WeakenMissing(lib, "libstdc++.so.6", provided)) _patched.Add(lib);
            }
            PreloadNatives(Path.GetDirectoryName(typeof(TorchRuntime).Assembly.Location));
        }
        // QUEST_TORCH_THREADS=N pins libtorch's intra-op threads (on an oversubscribed shared machine, 1 thread is
        // often several times faster than spin-waiting for a second one).
        if (int.TryParse(Environment.GetEnvironmentVariable("QUEST_TORCH_THREADS"), out var threads) && threads > 0)
            torch.set_num_threads(threads);
    }

    /// <summary>
    /// A host that does not know this assembly's native assets (the Jupyter .NET kernel loading
    /// <c>artifacts/lib/Quest.Models.dll</c> with <c>#r</c>) cannot resolve libtorch by name; loading the two libraries by
    /// full path first makes TorchSharp's own look-up find them already in the process.
    /// </summary>
    private static void PreloadNatives(string? assemblyDir)
    {
        if (string.IsNullOrEmpty(assemblyDir)) return;
        var native = Path.Combine(assemblyDir, "runtimes", "linux-x64", "native");
        foreach (var name in new[] { "libtorch_cpu.so", "libLibTorchSharp.so" })
        {
            var path = Path.Combine(native, name);
            if (File.Exists(path)) System.Runtime.InteropServices.NativeLibrary.TryLoad(path, out _);
        }
    }

    /// <summary>
    /// The device to compute on: <c>QUEST_DEVICE</c> when set (<c>cpu</c>, <c>cuda</c>, <c>cuda:1</c>), else
    /// <c>cuda</c> when a CUDA backend and GPU are available, else <c>cpu</c>.
    /// </summary>
    public static Device DefaultDevice
    {
        get
        {
            Prepare();
            if (_device is not null) return _device;
            var env = Environment.GetEnvironmentVariable("QUEST_DEVICE");
            _device = !string.IsNullOrWhiteSpace(env) ? new Device(env)
                : torch.cuda.is_available() ? torch.CUDA : torch.CPU;
            return _device;
        }
    }

    /// <summary>Parses a device name (<c>auto</c>, <c>cpu</c>, <c>cuda</c>, <c>cuda:0</c>); null or <c>auto</c> gives <see cref="DefaultDevice"/>.</summary>
    public static Device ResolveDevice(string? name)
    {
        Prepare();
        if (string.IsNullOrWhiteSpace(name) || name.Equals("auto", StringComparison.OrdinalIgnoreCase)) return DefaultDevice;
        if (name.StartsWith("cuda", StringComparison.OrdinalIgnoreCase) && !torch.cuda.is_available())
            throw new InvalidOperationException($"device '{name}' was requested but CUDA is not available (build with -p:TorchBackend=cuda and a CUDA libtorch package)");
        return new Device(name);
    }

    /// <summary>Symbol versions (<c>GLIBCXX_*</c>, <c>CXXABI_*</c>) the process's libstdc++ defines; empty when it cannot be found.</summary>
    internal static HashSet<string> SystemGlibcxxVersions()
    {
        var set = new HashSet<string>(StringComparer.Ordinal);
        string? path = null;
        try
        {
            foreach (var line in File.ReadLines("/proc/self/maps"))
            {
                int i = line.IndexOf('/');
                if (i >= 0 && line.Contains("libstdc++.so", StringComparison.Ordinal)) { path = line[i..].Trim(); break; }
            }
        }
        catch { /* no procfs */ }
        path ??= new[]
        {
            "/usr/lib/x86_64-linux-gnu/libstdc++.so.6", "/lib/x86_64-linux-gnu/libstdc++.so.6", "/usr/lib64/libstdc++.so.6",
            "/usr/lib/aarch64-linux-gnu/libstdc++.so.6", "/usr/lib/libstdc++.so.6",
        }.FirstOrDefault(File.Exists);
        if (path is null || !File.Exists(path)) return set;
        foreach (var v in ElfVersionPatcher.DefinedVersions(path)) set.Add(v);
        return set;
    }
}

/// <summary>Minimal ELF64 reader/patcher for the GNU symbol-version sections.</summary>
internal static class ElfVersionPatcher
{
    private const uint ShtGnuVerdef = 0x6ffffffd, ShtGnuVerneed = 0x6ffffffe;
    private const ushort VerFlgWeak = 2;

    private readonly record struct Section(uint Type, long Offset, long Size, uint Link, uint Info);

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
            list.Add(new Section(BitConverter.ToUInt32(b, (int)o + 4), BitConverter.ToInt64(b, (int)o + 0x18),
                BitConverter.ToInt64(b, (int)o + 0x20), BitConverter.ToUInt32(b, (int)o + 0x28), BitConverter.ToUInt32(b, (int)o + 0x2C)));
        }
        return list;
    }

    private static string Str(byte[] b, long at)
    {
        int end = (int)at;
        while (end < b.Length && b[end] != 0) end++;
        return Encoding.ASCII.GetString(b, (int)at, end - (int)at);
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
    public static bool WeakenMissing(string path, string fromLib, IReadOnlySet<string> provided)
    {
        var b = File.ReadAllBytes(path);
        var secs = Sections(b);
        if (secs is null) return false;
        bool changed = false;
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
                    bool missing = provided.Count > 0 ? !provided.Contains(name) : name == "GLIBCXX_3.4.32";
                    if (file == fromLib && missing && (flags & VerFlgWeak) == 0)
                    {
                        BitConverter.TryWriteBytes(b.AsSpan((int)a + 4, 2), (ushort)(flags | VerFlgWeak));
                        changed = true;
                    }
                    uint anext = BitConverter.ToUInt32(b, (int)a + 12);
                    if (anext == 0) break;
                    a += anext;
                }
                if (next == 0) break;
                p += next;
            }
        }
        if (changed)
        {
            // Same directory, then rename: a concurrent reader sees the old or the new file, never half of one.
            var tmp = Path.Combine(Path.GetDirectoryName(path)!, $".{Path.GetFileName(path)}.{Environment.ProcessId}.{Guid.NewGuid():N}.tmp");
            File.WriteAllBytes(tmp, b);
            File.Move(tmp, path, overwrite: true);
        }
        return changed;
    }
}
