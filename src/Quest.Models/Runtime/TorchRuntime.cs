using System.Reflection;
using System.Runtime.InteropServices;
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
/// (<c>std::ios_base_library_init()</c>) is referenced but never called, so marking that version-needed entry weak
/// (<c>VER_FLG_WEAK</c>) in the copy of the library in a project's output makes the loader accept it. That is an
/// explicit build step (<c>Directory.Build.targets</c>, logged as "quest: patched …"); at run time nothing is written:
/// <see cref="Prepare"/> only checks the library and, when it would not load, says which file and how to fix it.
/// </para>
/// </summary>
public static class TorchRuntime
{
    private static readonly object Gate = new();
    private static bool _prepared;
    private static Device? _device;
    private static IReadOnlyList<string> _changes = [];

    /// <summary>
    /// Problems that stop TorchSharp loading here: for each copy of <c>libLibTorchSharp.so</c> next to this assembly or
    /// TorchSharp that still needs libstdc++ versions this machine lacks, the file and the versions. Empty when it loads.
    /// </summary>
    public static IReadOnlyList<string> LoadProblems()
    {
        var problems = new List<string>();
        if (!OperatingSystem.IsLinux()) return problems;
        HashSet<string>? provided = null;
        foreach (var dir in NativeDirs())
        {
            var lib = Path.Combine(dir, ElfVersionPatcher.TorchSharpLibrary);
            if (!File.Exists(lib)) continue;
            provided ??= ElfVersionPatcher.SystemGlibcxxVersions();
            var missing = ElfVersionPatcher.MissingStrongVersions(lib, "libstdc++.so.6", provided);
            if (missing.Count > 0)
                problems.Add($"{lib} needs {string.Join(", ", missing)} from libstdc++, which this machine lacks: build the project that copied it "
                    + "(dotnet build / dotnet publish run the 'quest: patched' step of Directory.Build.targets), or use a newer libstdc++");
        }
        return problems;
    }

    /// <summary>
    /// Readies this process for libtorch, once, and returns what it changed, a sentence each (the same list on every later call): checks the TorchSharp
    /// natives (a library that would not load is reported on stderr with the fix), preloads them for hosts that cannot
    /// resolve them by name, keeps freed memory for reuse (<see cref="MallocTuned"/>), gives threads other than the
    /// <see cref="TorchThread"/> one OpenMP thread each, and lets MKL use the CPU's vector units on a non-Intel CPU
    /// (<see cref="MklIntelPath"/>). Nothing happens when the assembly loads: the entry points call this first (the CLI's
    /// model commands, the recipe, notebook 05–08's first cell) and show what it changed; every Quest.Models path that
    /// reaches torch (device resolution, the torch thread, model construction, checkpoint loading) calls it too, so code
    /// that forgets still gets it before the kit's first torch call. Code that calls <c>torch.*</c> first should call it
    /// before (the OpenMP setting only takes before libgomp loads).
    /// </summary>
    public static IReadOnlyList<string> Prepare()
    {
        lock (Gate)
        {
            if (_prepared) return _changes;
            _prepared = true;
            if (!OperatingSystem.IsLinux()) return _changes;
            var changes = new List<string>();
            MallocTuned = TuneMalloc();
            if (MallocTuned) changes.Add("glibc malloc keeps freed blocks up to 32 MB, 256 MB free, 4 arenas (QUEST_MALLOC=default: off)");
            if (OneOmpThreadElsewhere()) changes.Add("OMP_NUM_THREADS=1 for threads other than the torch thread (set OMP_NUM_THREADS to choose)");
            foreach (var p in LoadProblems()) Console.Error.WriteLine($"quest: TorchSharp will not load: {p}");
            if (PreloadNatives(Path.GetDirectoryName(typeof(TorchRuntime).Assembly.Location)) is > 0 and var n) changes.Add($"preloaded {n} libtorch natives by full path");
            MklIntelPath = UseMklIntelPath();
            if (MklIntelPath) changes.Add($"MKL's Intel-CPU check answers yes in this process on this {CpuVendor()} CPU, so MKL picks kernels by CPU flags (QUEST_MKL=default: off)");
            _changes = changes;
            return _changes;
        }
    }

    /// <summary>
    /// Whether <see cref="Prepare"/> let the MKL inside libtorch pick its kernels by the CPU's features on a non-Intel
    /// x86-64 CPU (see <see cref="UseMklIntelPath"/>); false on Intel CPUs, elsewhere, and with <c>QUEST_MKL=default</c>.
    /// </summary>
    public static bool MklIntelPath { get; private set; }

    /// <summary>
    /// libtorch's CPU build links Intel oneMKL, whose dispatcher asks <c>mkl_serv_intel_cpu_true()</c> whether the CPU
    /// is an Intel one and, when it is not, runs its generic kernels whatever the CPU supports. On the 2-core AMD EPYC
    /// (AVX-512) machines this kit was measured on, that halved float32 matrix products: <c>quest bench train</c> on the
    /// tiny model gave 168 GFLOP/s and 442 ms a step as shipped, 386 GFLOP/s and 267 ms a step with that function
    /// answering yes (the known workaround, usually an LD_PRELOAD shim; MKL's old <c>MKL_DEBUG_CPU_TYPE</c> is gone and
    /// <c>MKL_CBWR</c> changes nothing). So on a non-Intel x86-64 CPU, before the first matrix product, this overwrites
    /// that function's first six bytes in this process's memory (never on disk) with <c>mov eax, 1; ret</c>; MKL then
    /// picks its kernels by the CPU's feature flags, as it does on Intel. <c>QUEST_MKL=default</c> turns it off.
    /// Returns whether it took (false when libtorch_cpu or the function is not found, or the page cannot be written).
    /// </summary>
    private static bool UseMklIntelPath()
    {
        if (RuntimeInformation.ProcessArchitecture != Architecture.X64) return false;
        if (string.Equals(Environment.GetEnvironmentVariable("QUEST_MKL"), "default", StringComparison.OrdinalIgnoreCase)) return false;
        if (CpuVendor() is null or "GenuineIntel") return false;
        string? lib = NativeDirs().Select(d => Path.Combine(d, "libtorch_cpu.so")).FirstOrDefault(File.Exists);
        if (lib is null || !NativeLibrary.TryLoad(lib, out var handle)
            || !NativeLibrary.TryGetExport(handle, "mkl_serv_intel_cpu_true", out var fn)) return false;
        byte[] code = [0xB8, 0x01, 0x00, 0x00, 0x00, 0xC3];   // mov eax, 1; ret
        long page = Environment.SystemPageSize;
        long start = fn.ToInt64() & ~(page - 1), length = fn.ToInt64() + code.Length - start;
        const int PROT_READ = 1, PROT_WRITE = 2, PROT_EXEC = 4;
        try
        {
            if (mprotect((nint)start, (nuint)length, PROT_READ | PROT_WRITE | PROT_EXEC) != 0) return false;
            Marshal.Copy(code, 0, fn, code.Length);
            mprotect((nint)start, (nuint)length, PROT_READ | PROT_EXEC);
            return true;
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException) { return false; }
    }

    /// <summary>The x86 CPU vendor string (<c>GenuineIntel</c>, <c>AuthenticAMD</c>, …); null when unknown.</summary>
    internal static string? CpuVendor() => Quest.Core.Machine.Current.Vendor;

    /// <summary>The TorchSharp assembly version this process runs (e.g. <c>0.107.0</c>).</summary>
    public static string TorchSharpVersion => typeof(torch).Assembly.GetName().Version?.ToString(3) ?? "unknown";

    /// <summary>The libtorch package this kit was built against (<c>libtorch-cpu-linux-x64 2.10.0</c>; set by the build's <c>TorchBackend</c>).</summary>
    public static string Libtorch => typeof(TorchRuntime).Assembly.GetCustomAttributes<System.Reflection.AssemblyMetadataAttribute>()
        .FirstOrDefault(a => a.Key == "libtorch")?.Value ?? "unknown";

    [DllImport("libc.so.6")]
    private static extern int mprotect(nint addr, nuint len, int prot);

    /// <summary>
    /// Sets <c>OMP_NUM_THREADS=1</c> in the native environment before libgomp loads (it reads it once), unless the user
    /// set it: a thread other than the <see cref="TorchThread"/> then runs libtorch ops on itself alone instead of
    /// creating an OpenMP team of its own, whose idle workers would make libgomp stop spinning the torch thread's team.
    /// The torch thread sets its own count (<see cref="TorchThread.Threads"/>).
    /// </summary>
    private static bool OneOmpThreadElsewhere()
    {
        if (Environment.GetEnvironmentVariable("OMP_NUM_THREADS") is not null) return false;
        try { return SetEnv("OMP_NUM_THREADS", "1", 0) == 0; }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException) { return false; }
    }

    /// <summary>
    /// Gives the calling thread <paramref name="threads"/> intra-op threads (OpenMP and MKL) without changing what other
    /// threads get. <c>torch.set_num_threads</c> would also store the count process-wide, and ATen hands that count to
    /// every thread on its first parallel op, so every thread would open a team of that size again. On Linux this sets
    /// the thread's own OpenMP and MKL counts through the libgomp and libtorch_cpu this process loaded; elsewhere it
    /// falls back to <c>torch.set_num_threads</c>.
    /// </summary>
    internal static void SetThreadIntraOpThreads(int threads)
    {
        torch.get_num_threads();   // ATen's per-thread lazy init runs first; run later, it would overwrite what follows
        if (ThreadLocalSetters.Value is { } s)
        {
            s.Omp(threads);
            s.MklLocal?.Invoke(threads);
            s.MklDynamic?.Invoke(0);   // as ATen does: keep MKL's OpenMP team across MKL / non-MKL regions
            return;
        }
        torch.set_num_threads(threads);
    }

    [UnmanagedFunctionPointer(CallingConvention.Cdecl)]
    private delegate void IntSetter(int n);
    [UnmanagedFunctionPointer(CallingConvention.Cdecl)]
    private delegate int IntSetterReturning(int n);
    private sealed record Setters(IntSetter Omp, IntSetterReturning? MklLocal, IntSetter? MklDynamic);

    /// <summary>omp_set_num_threads of the libgomp libtorch loaded, and MKL's thread-local count, found through /proc/self/maps.</summary>
    private static readonly Lazy<Setters?> ThreadLocalSetters = new(() =>
    {
        if (!OperatingSystem.IsLinux()) return null;
        try
        {
            var paths = File.ReadLines("/proc/self/maps").Select(l => l.IndexOf('/') is var i and >= 0 ? l[i..].Trim() : null)
                .Where(p => p is not null).Distinct().ToList();
            string? gomp = paths.FirstOrDefault(p => Path.GetFileName(p!).StartsWith("libgomp", StringComparison.Ordinal));
            string? torchCpu = paths.FirstOrDefault(p => Path.GetFileName(p!) == "libtorch_cpu.so");
            if (gomp is null || !NativeLibrary.TryLoad(gomp, out var g)
                || !NativeLibrary.TryGetExport(g, "omp_set_num_threads", out var omp)) return null;
            // MKL's C entry points (the lower-case names are the Fortran ones, which take pointers)
            IntSetterReturning? mkl = null; IntSetter? dyn = null;
            if (torchCpu is not null && NativeLibrary.TryLoad(torchCpu, out var t))
            {
                if (NativeLibrary.TryGetExport(t, "MKL_Set_Num_Threads_Local", out var m))
                    mkl = Marshal.GetDelegateForFunctionPointer<IntSetterReturning>(m);
                if (NativeLibrary.TryGetExport(t, "MKL_Set_Dynamic", out var d))
                    dyn = Marshal.GetDelegateForFunctionPointer<IntSetter>(d);
            }
            return new Setters(Marshal.GetDelegateForFunctionPointer<IntSetter>(omp), mkl, dyn);
        }
        catch (IOException) { return null; }
    });

    [DllImport("libc", EntryPoint = "setenv")]
    private static extern int SetEnv([MarshalAs(UnmanagedType.LPUTF8Str)] string name,
                                     [MarshalAs(UnmanagedType.LPUTF8Str)] string value, int overwrite);

    /// <summary>
    /// Whether <see cref="Prepare"/> set glibc's allocator to keep freed memory (see <see cref="TuneMalloc"/>); false
    /// off glibc Linux or with <c>QUEST_MALLOC=default</c>.
    /// </summary>
    public static bool MallocTuned { get; private set; }

    /// <summary>
    /// libtorch frees every activation at the end of a step and allocates it again in the next. glibc's defaults hand
    /// blocks above 128 KB straight back to the kernel (mmap and a heap top trimmed past 128 KB), so each step
    /// page-faults its activations in afresh: about a million minor faults per 35 training steps of the tiny model, a
    /// fifth of the time in the kernel. Serving blocks up to 32 MB (glibc's largest mmap threshold; the trainers cut
    /// activations to 8 MB chunks) from the heap and keeping up to 256 MB of it free removes most of them
    /// (<c>quest bench train</c> with <c>QUEST_MALLOC=default</c> and without shows the difference). At most four
    /// arenas, so at most about 1 GB is kept: batches are generated on whichever pool thread is free, and with glibc's
    /// default of one arena per thread (up to 8 per core) each arena kept its own free memory (a whole recipe peaked
    /// at 20.7 GB resident with a 1 GB allowance per arena). Returns whether the settings took.
    /// </summary>
    private static bool TuneMalloc()
    {
        if (string.Equals(Environment.GetEnvironmentVariable("QUEST_MALLOC"), "default", StringComparison.OrdinalIgnoreCase)) return false;
        try
        {
            const int M_TRIM_THRESHOLD = -1, M_TOP_PAD = -2, M_MMAP_THRESHOLD = -3, M_ARENA_MAX = -8;
            return mallopt(M_MMAP_THRESHOLD, 32 << 20) == 1 && mallopt(M_TRIM_THRESHOLD, 256 << 20) == 1 && mallopt(M_TOP_PAD, 64 << 20) == 1
                && mallopt(M_ARENA_MAX, 4) == 1;
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException) { return false; }   // not glibc (musl)
    }

    [DllImport("libc.so.6")]
    private static extern int mallopt(int param, int value);

    private static IEnumerable<string> NativeDirs()
    {
        var seen = new HashSet<string>();
        foreach (var d in new[] { AppContext.BaseDirectory, Path.GetDirectoryName(typeof(torch).Assembly.Location), Path.GetDirectoryName(typeof(TorchRuntime).Assembly.Location) })
        {
            if (string.IsNullOrEmpty(d)) continue;
            foreach (var c in new[] { d, Path.Combine(d, "runtimes", "linux-x64", "native"), Path.Combine(d, "runtimes", "linux-arm64", "native") })
                if (Directory.Exists(c) && seen.Add(Path.GetFullPath(c))) yield return c;
        }
    }

    /// <summary>
    /// A host that does not know this assembly's native assets (the Jupyter .NET kernel loading
    /// <c>artifacts/lib/Quest.Models.dll</c> with <c>#r</c>) cannot resolve libtorch by name; loading the two libraries by
    /// full path first makes TorchSharp's own look-up find them already in the process.
    /// </summary>
    private static int PreloadNatives(string? assemblyDir)
    {
        if (string.IsNullOrEmpty(assemblyDir)) return 0;
        var native = Path.Combine(assemblyDir, "runtimes", "linux-x64", "native");
        int loaded = 0;
        foreach (var name in new[] { "libtorch_cpu.so", "libLibTorchSharp.so" })
        {
            var path = Path.Combine(native, name);
            if (File.Exists(path) && NativeLibrary.TryLoad(path, out _)) loaded++;
        }
        return loaded;
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
        if (!System.Text.RegularExpressions.Regex.IsMatch(name, @"^(cpu|cuda(:\d+)?)$", System.Text.RegularExpressions.RegexOptions.IgnoreCase))
            throw new Quest.Core.QuestInputException(null, null, null, $"device '{name}'", "auto, cpu, cuda or cuda:N");
        name = name.ToLowerInvariant();
        if (name.StartsWith("cuda", StringComparison.OrdinalIgnoreCase) && !torch.cuda.is_available())
            throw new InvalidOperationException($"device '{name}' was requested but CUDA is not available (build with -p:TorchBackend=cuda and a CUDA libtorch package)");
        return new Device(name);
    }
}
