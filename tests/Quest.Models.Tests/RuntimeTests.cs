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
