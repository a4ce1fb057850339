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
    public void PatchedLibraryNoLongerRequiresMissingVersionsStrongly()
    {
        var lib = Path.Combine(AppContext.BaseDirectory, "runtimes", "linux-x64", "native", "libLibTorchSharp.so");
        Assert.True(File.Exists(lib));
        TorchRuntime.Prepare();
        // After Prepare, running it again on the same file changes nothing (idempotent, no-op when satisfied).
        Assert.False(ElfVersionPatcher.WeakenMissing(lib, "libstdc++.so.6", TorchRuntime.SystemGlibcxxVersions()));
        Assert.Contains("GLIBCXX_3.4.30", TorchRuntime.SystemGlibcxxVersions());
    }
}
