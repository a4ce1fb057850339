using System.Collections.Concurrent;
using TorchSharp;

namespace Quest.Models.Runtime;

/// <summary>
/// The one home for numbers handed to libtorch as TorchSharp <see cref="Scalar"/>s.
/// <para>
/// Why: a <see cref="Scalar"/> wraps a raw native pointer and frees it in its finalizer, and TorchSharp passes
/// <c>scalar.Handle</c> to native code without keeping the object alive. A Scalar made on the fly (<c>x * 0.5</c>,
/// <c>clamp(min: 0)</c>, and the implicit <c>alpha</c> of 1 behind every <c>a + b</c> and <c>add(b)</c>) can be finalized
/// by a garbage collection while libtorch still reads it: libtorch then fails with an assert in <c>c10/core/Scalar.h</c>,
/// or reads freed memory. Under frequent collections (the Jupyter kernel) that killed notebooks and a recipe run.
/// </para>
/// <para>
/// The rule, which <c>ScalarGuardTests</c> enforces by reading the kit's IL: kit code converts no number to a Scalar
/// except here. Constants and run-long hyperparameters come from <see cref="Of(double)"/> (made once, held for the life
/// of the process, so never finalized); values that change every call (a learning rate, a per-batch scale) come from a
/// <see cref="ScalarLease"/> held in a <c>using</c> across the calls that read them. Tensor sums pass
/// <see cref="One"/> as alpha (<c>a.add(b, Scalars.One)</c>) instead of using the <c>+</c> operator.
/// </para>
/// </summary>
public static class Scalars
{
    /// <summary>Most distinct constants held; a caller past it is making per-call values and needs a <see cref="ScalarLease"/>.</summary>
    public const int MaxConstants = 4096;

    private static readonly ConcurrentDictionary<(char Kind, long Bits), Scalar> Held = new();

    /// <summary>A float64 constant held for the life of the process.</summary>
    public static Scalar Of(double value) => Get(('d', BitConverter.DoubleToInt64Bits(value)), () => value.ToScalar());

    /// <summary>An int64 constant held for the life of the process (integer tensors stay integer).</summary>
    public static Scalar Of(long value) => Get(('l', value), () => value.ToScalar());

    /// <summary>A boolean constant held for the life of the process.</summary>
    public static Scalar Of(bool value) => value ? True : False;

    /// <summary>The integer 1: the alpha of <c>a.add(b, One)</c> and <c>a.add_(b, One)</c>.</summary>
    public static readonly Scalar One = Of(1L);
    /// <summary>The integer 0.</summary>
    public static readonly Scalar Zero = Of(0L);
    /// <summary>Boolean true (<c>fill_</c> of a mask).</summary>
    public static readonly Scalar True = Get(('b', 1), () => true.ToScalar());
    /// <summary>Boolean false.</summary>
    public static readonly Scalar False = Get(('b', 0), () => false.ToScalar());
    /// <summary>−∞ (masked logits).</summary>
    public static readonly Scalar NegativeInfinity = Of(double.NegativeInfinity);

    /// <summary>Constants held so far.</summary>
    public static int Count => Held.Count;

    private static Scalar Get((char, long) key, Func<Scalar> make)
    {
        if (Held.TryGetValue(key, out var s)) return s;
        if (Held.Count >= MaxConstants)
            throw new InvalidOperationException($"more than {MaxConstants} distinct Scalar constants: a value that changes per call belongs in a ScalarLease");
        return Held.GetOrAdd(key, _ => make());
    }
}

/// <summary>
/// Scalars for values that change from call to call (a step's learning rate, a batch's loss scale), held until the
/// lease is disposed: keep the lease in a <c>using</c> that spans every libtorch call reading them (see <see cref="Scalars"/>).
/// </summary>
public sealed class ScalarLease : IDisposable
{
    private readonly List<Scalar> _held = [];

    /// <summary>A float64 Scalar alive until this lease is disposed.</summary>
    public Scalar Of(double value) { var s = value.ToScalar(); _held.Add(s); return s; }

    /// <summary>An int64 Scalar alive until this lease is disposed.</summary>
    public Scalar Of(long value) { var s = value.ToScalar(); _held.Add(s); return s; }

    /// <summary>Frees every Scalar of the lease.</summary>
    public void Dispose()
    {
        foreach (var s in _held) s.Dispose();
        _held.Clear();
    }
}
