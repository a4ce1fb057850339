using System.Reflection;
using System.Runtime.InteropServices;

namespace Quest.Core;

/// <summary>
/// The machine a run or a benchmark ran on, as read once from <c>/proc/cpuinfo</c> and the runtime: the one place the
/// kit reads the CPU (its vendor decides the MKL path, its flags the bf16 precision, and every run records it), so a
/// number in a report can be traced to the hardware and software that made it.
/// </summary>
/// <param name="Cpu">CPU model name (<c>model name</c> in cpuinfo, else the architecture).</param>
/// <param name="Vendor">x86 vendor string (<c>GenuineIntel</c>, <c>AuthenticAMD</c>); null when unknown.</param>
/// <param name="Cores">Logical processors this process may use.</param>
/// <param name="Flags">The CPU flags that change the kit's speed or numerics (<see cref="NotableFlags"/>) this CPU has.</param>
/// <param name="Os">Operating system description.</param>
/// <param name="Dotnet">.NET runtime description.</param>
public sealed record Machine(string Cpu, string? Vendor, int Cores, IReadOnlyList<string> Flags, string Os, string Dotnet)
{
    /// <summary>The flags reported (vector width, fused multiply-add, bfloat16 and AMX instructions).</summary>
    public static readonly IReadOnlyList<string> NotableFlags = ["avx2", "fma", "avx512f", "avx512_vnni", "avx512_bf16", "amx_bf16", "amx_tile", "neon", "asimd"];

    private static readonly Lazy<Machine> _current = new(() => FromCpuInfo(ReadCpuInfo()));

    /// <summary>This machine (read once).</summary>
    public static Machine Current => _current.Value;

    /// <summary>Whether the CPU has bfloat16 dot-product instructions (<c>avx512_bf16</c> or <c>amx_bf16</c>).</summary>
    public bool HasNativeBf16 => Flags.Contains("avx512_bf16") || Flags.Contains("amx_bf16");

    /// <summary>The machine described by a <c>/proc/cpuinfo</c> text (empty: only what the runtime knows).</summary>
    public static Machine FromCpuInfo(string cpuinfo)
    {
        string? model = null, vendor = null;
        var flags = new HashSet<string>(StringComparer.Ordinal);
        foreach (var line in cpuinfo.Split('\n'))
        {
            int colon = line.IndexOf(':');
            if (colon < 0) continue;
            string key = line[..colon].Trim(), value = line[(colon + 1)..].Trim();
            if (key == "model name" && model is null) model = value;
            else if (key == "vendor_id" && vendor is null) vendor = value;
            else if (key is "flags" or "Features") flags.UnionWith(value.Split([' ', '\t'], StringSplitOptions.RemoveEmptyEntries));
        }
        return new Machine(model ?? RuntimeInformation.ProcessArchitecture.ToString(), vendor, Environment.ProcessorCount,
            [.. NotableFlags.Where(flags.Contains)], RuntimeInformation.OSDescription, RuntimeInformation.FrameworkDescription);
    }

    /// <summary>One line for logs and report cards: <c>AMD EPYC, 2 cores (avx2 fma avx512f avx512_bf16), Linux …, .NET 10.0.1</c>.</summary>
    public override string ToString() =>
        $"{Cpu}, {Cores} cores ({(Flags.Count == 0 ? "no notable flags" : string.Join(' ', Flags))}), {Os}, {Dotnet}";

    /// <summary>
    /// The commit a kit assembly was built from (the SDK writes it after <c>+</c> in the informational version when the
    /// source is a git checkout); null when unknown.
    /// </summary>
    public static string? BuildCommit(Assembly? assembly = null)
    {
        var v = (assembly ?? typeof(Machine).Assembly).GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion;
        int plus = v?.IndexOf('+') ?? -1;
        return plus < 0 ? null : v![(plus + 1)..];
    }

    private static string ReadCpuInfo()
    {
        try { return File.Exists("/proc/cpuinfo") ? File.ReadAllText("/proc/cpuinfo") : ""; }
        catch (IOException) { return ""; }
        catch (UnauthorizedAccessException) { return ""; }
    }
}
