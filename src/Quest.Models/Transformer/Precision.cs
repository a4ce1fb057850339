using Quest.Core;
using TorchSharp;
using static TorchSharp.torch;

namespace Quest.Models.Transformer;

/// <summary>
/// Number format of a training stage's matrix products (<see cref="QuestTransformer.MatmulType"/>): <c>fp32</c>,
/// <c>bf16</c> (mixed precision: bfloat16 products, float32 weights, norms, attention and loss) or <c>auto</c>, which
/// picks bf16 on a CPU with native bfloat16 instructions (AVX-512 BF16 or AMX) and fp32 everywhere else (CUDA included:
/// name bf16 explicitly on a GPU that has it). Generation always runs in float32.
/// </summary>
public static class Precision
{
    /// <summary>Float32 throughout.</summary>
    public const string Float32 = "fp32";
    /// <summary>Mixed precision with bfloat16 products.</summary>
    public const string BFloat16 = "bf16";
    /// <summary>bf16 where the CPU multiplies bfloat16 natively, else fp32.</summary>
    public const string Auto = "auto";
    /// <summary>The names <see cref="Resolve"/> accepts.</summary>
    public static readonly IReadOnlyList<string> Names = [Auto, Float32, BFloat16];

    /// <summary>What a precision must be, for error messages: the <see cref="Names"/>, comma-separated.</summary>
    public static string Expected => string.Join(", ", Names);

    /// <summary>Whether <paramref name="name"/> is one of <see cref="Names"/> (case-insensitive).</summary>
    public static bool IsKnown(string? name) => name is not null && Names.Contains(name.Trim().ToLowerInvariant());

    /// <summary>
    /// The matmul type for <paramref name="name"/> on <paramref name="device"/>: null for float32, <c>BFloat16</c> for
    /// mixed precision. Throws <see cref="QuestInputException"/> for an unknown name.
    /// </summary>
    public static ScalarType? Resolve(string? name, Device device)
    {
        switch ((name ?? Float32).Trim().ToLowerInvariant())
        {
            case Float32: return null;
            case BFloat16: return ScalarType.BFloat16;
            case Auto: return device.type == DeviceType.CPU && CpuHasNativeBf16 ? ScalarType.BFloat16 : null;
            default: throw new QuestInputException("precision", null, null, $"'{name}'", Expected);
        }
    }

    /// <summary>The name <paramref name="name"/> resolves to on <paramref name="device"/> (<c>fp32</c> or <c>bf16</c>), for logs and reports.</summary>
    public static string Describe(string? name, Device device) => Resolve(name, device) is null ? Float32 : BFloat16;

    /// <summary>Whether this machine's CPU has bfloat16 dot-product instructions (<see cref="Machine.HasNativeBf16"/>).</summary>
    public static bool CpuHasNativeBf16 => Machine.Current.HasNativeBf16;
}
