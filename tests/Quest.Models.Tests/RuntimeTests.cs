using Quest.Models.Runtime;
using TorchSharp;
using Xunit;

namespace Quest.Models.Tests;

public class RuntimeTests
{
    [Fact]
    public void TorchLoadsAndComputes()
    {
        TorchRuntime.Prepare();
        using var a = torch.ones(2, 3);
        using var b = torch.ones(3, 4);
        using var c = a.matmul(b);
        Assert.Equal(new long[] { 2, 4 }, c.shape);
        Assert.Equal(3f, c[1, 2].item<float>());
        Assert.Equal(DeviceType.CPU, TorchRuntime.ResolveDevice("cpu").type);
    }

    [Fact]
    public void OnGlibcLinuxTheAllocatorKeepsFreedMemory()
    {
        Assert.SkipUnless(OperatingSystem.IsLinux() && (File.Exists("/lib/x86_64-linux-gnu/libc.so.6") || File.Exists("/lib/aarch64-linux-gnu/libc.so.6")), "not glibc Linux");
        Assert.SkipWhen(string.Equals(Environment.GetEnvironmentVariable("QUEST_MALLOC"), "default", StringComparison.OrdinalIgnoreCase), "QUEST_MALLOC=default");
        TorchRuntime.Prepare();
        Assert.True(TorchRuntime.MallocTuned);   // mallopt was found in libc.so.6 and accepted all four settings
    }

    [Fact]
    public void On_a_non_Intel_x64_cpu_MKL_picks_kernels_by_features_and_products_stay_right()
    {
        TorchRuntime.Prepare();
        bool expected = OperatingSystem.IsLinux() && System.Runtime.InteropServices.RuntimeInformation.ProcessArchitecture == System.Runtime.InteropServices.Architecture.X64
            && TorchRuntime.CpuVendor() is { } v && v != "GenuineIntel"
            && !string.Equals(Environment.GetEnvironmentVariable("QUEST_MKL"), "default", StringComparison.OrdinalIgnoreCase);
        Assert.Equal(expected, TorchRuntime.MklIntelPath);
        // whichever kernels MKL chose, a float32 product (large enough to go to sgemm, odd sizes for the edge kernels) matches one summed in double
        var rng = new Random(7);
        const int m = 67, k = 129, n = 93;
        float[] a = [.. Enumerable.Range(0, m * k).Select(_ => (float)(rng.NextDouble() * 2 - 1))];
        float[] b = [.. Enumerable.Range(0, k * n).Select(_ => (float)(rng.NextDouble() * 2 - 1))];
        using var ta = torch.tensor(a, [m, k]);
        using var tb = torch.tensor(b, [k, n]);
        using var tc = ta.matmul(tb);
        float[] c = tc.data<float>().ToArray();
        double worst = 0;
        for (int i = 0; i < m; i++)
            for (int j = 0; j < n; j++)
            {
                double s = 0;
                for (int p = 0; p < k; p++) s += (double)a[i * k + p] * b[p * n + j];
                worst = Math.Max(worst, Math.Abs(s - c[i * n + j]));
            }
        Assert.True(worst < 1e-4, $"largest error {worst}");
    }

    [Fact]
    public void TheBuildStepPatchedTheOutputsCopyAndThePatchFixesTheOriginal()
    {
        var lib = Path.Combine(AppContext.BaseDirectory, "runtimes", "linux-x64", "native", ElfVersionPatcher.TorchSharpLibrary);
        Assert.True(File.Exists(lib));
        var provided = ElfVersionPatcher.SystemGlibcxxVersions();
        Assert.Contains("GLIBCXX_3.4.30", provided);
        Assert.Empty(TorchRuntime.LoadProblems());                                       // Directory.Build.targets ran
        Assert.Empty(ElfVersionPatcher.MissingStrongVersions(lib, "libstdc++.so.6", provided));
        Assert.False(ElfVersionPatcher.WeakenMissing(lib, "libstdc++.so.6", provided));  // idempotent

        // the package's own copy (read, never written) needs what this machine lacks; a patched copy of it does not
        var nuget = Environment.GetEnvironmentVariable("NUGET_PACKAGES") ?? Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages");
        var original = Directory.Exists(Path.Combine(nuget, "torchsharp"))
            ? Directory.GetFiles(Path.Combine(nuget, "torchsharp"), ElfVersionPatcher.TorchSharpLibrary, SearchOption.AllDirectories).FirstOrDefault(f => f.Contains("linux-x64"))
            : null;
        Assert.SkipWhen(original is null, "TorchSharp's package is not in the NuGet cache");
        var missing = ElfVersionPatcher.MissingStrongVersions(original!, "libstdc++.so.6", provided);
        if (missing.Count == 0) return;                                                  // a machine whose libstdc++ has them all
        Assert.Contains("GLIBCXX_3.4.32", missing);
        var copy = Path.Combine(Path.GetTempPath(), $"quest-elf-{Guid.NewGuid():N}.so");
        try
        {
            File.Copy(original!, copy);
            Assert.True(ElfVersionPatcher.WeakenMissing(copy, "libstdc++.so.6", provided));
            Assert.Empty(ElfVersionPatcher.MissingStrongVersions(copy, "libstdc++.so.6", provided));
            Assert.Equal(new FileInfo(original!).Length, new FileInfo(copy).Length);      // flags flipped in place, nothing else
        }
        finally { File.Delete(copy); }
    }
}

public class TorchThreadTests
{
    [Fact]
    public async Task Work_from_many_threads_runs_on_one_thread_that_is_not_the_callers()
    {
        var callers = new System.Collections.Concurrent.ConcurrentBag<int>();
        var ran = new System.Collections.Concurrent.ConcurrentBag<(int Thread, bool IsCurrent)>();
        await Task.WhenAll(Enumerable.Range(0, 16).Select(_ => Task.Run(() =>
        {
            callers.Add(Environment.CurrentManagedThreadId);
            Assert.False(TorchThread.IsCurrent);
            TorchThread.Run(() => ran.Add((Environment.CurrentManagedThreadId, TorchThread.IsCurrent)));
        }, TestContext.Current.CancellationToken)));
        Assert.Equal(16, ran.Count);
        Assert.Single(ran.Select(r => r.Thread).Distinct());                 // one thread ran all of it
        Assert.All(ran, r => Assert.True(r.IsCurrent));
        Assert.DoesNotContain(ran.First().Thread, callers);                   // and it is none of the callers
    }

    [Fact]
    public async Task Nested_work_runs_inline_and_errors_reach_the_caller()
    {
        // work handed over from the torch thread itself would deadlock if it were queued behind the running item
        int result = await TorchThread.RunAsync(() => TorchThread.Run(() => TorchThread.RunAsync(() => 41).Result + 1));
        Assert.Equal(42, result);
        var e = Assert.Throws<InvalidOperationException>(() => TorchThread.Run(() => throw new InvalidOperationException("boom")));
        Assert.Equal("boom", e.Message);
        await Assert.ThrowsAsync<ArgumentException>(() => TorchThread.RunAsync<int>(() => throw new ArgumentException("bad")));
        Assert.Equal(7, TorchThread.Run(() => 7));                            // the thread survived both
    }

    [Fact]
    public void The_torch_thread_uses_its_intra_op_threads_and_others_one()
    {
        Assert.SkipUnless(OperatingSystem.IsLinux() && Environment.GetEnvironmentVariable("OMP_NUM_THREADS") is null, "Linux, OMP_NUM_THREADS not set by the user");
        TorchRuntime.Prepare();
        Assert.Equal(TorchThread.Threads, TorchThread.Run(torch.get_num_threads));
        // a fresh thread gets libgomp's default, which Prepare set to 1 before libtorch loaded
        int elsewhere = 0;
        var t = new Thread(() => elsewhere = torch.get_num_threads());
        t.Start(); t.Join();
        Assert.Equal(1, elsewhere);
    }
}
