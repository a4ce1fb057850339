using System.Reflection;
using System.Reflection.Emit;
using TorchSharp;
using Xunit;

namespace Quest.Recipe.Tests;

/// <summary>
/// The guard for TorchSharp's temporary-Scalar race (README "How tensors meet numbers"): a <see cref="Scalar"/> made from
/// a number and passed straight to native code can be finalized by the GC while libtorch reads it. This test reads the IL
/// of every method in the kit's assemblies that reference TorchSharp and fails on (a) a number converted to a Scalar
/// outside the kit's one home for them (<c>Quest.Models.Runtime.Scalars</c>), and (b) a call into a TorchSharp member
/// that makes such a temporary itself (found by reading TorchSharp's own IL: <c>a + b</c> passes an implicit alpha 1,
/// <c>optim.AdamW.step()</c> makes hundreds).
/// </summary>
public class ScalarGuardTests
{
    private static readonly Assembly Torch = typeof(Scalar).Assembly;

    [Fact]
    public void Kit_code_passes_no_temporary_scalar_to_libtorch()
    {
        var kit = KitAssemblies();
        Assert.Contains(kit, a => a.GetName().Name == "Quest.Models");
        Assert.Contains(kit, a => a.GetName().Name == "Quest.Recipe");
        var scan = new TemporaryScalarScan();
        var violations = kit.SelectMany(scan.Violations).Distinct().OrderBy(v => v).ToList();
        Assert.True(violations.Count == 0,
            $"{violations.Count} call(s) make a temporary TorchSharp Scalar (use Quest.Models.Runtime.Scalars):\n" + string.Join("\n", violations));
    }

    [Fact]
    public void The_scan_finds_the_known_temporaries_in_TorchSharp()
    {
        // the guard above is only as good as this: each of these members is known (from TorchSharp's source) to convert a
        // number to a Scalar and pass its handle to native code
        var scan = new TemporaryScalarScan();
        var tensor = typeof(torch.Tensor);
        Assert.NotNull(scan.Why(tensor.GetMethod("op_Addition", [tensor, tensor])!));
        Assert.NotNull(scan.Why(tensor.GetMethod("add", [tensor])!));
        Assert.NotNull(scan.Why(tensor.GetMethod("op_Multiply", [tensor, typeof(double)])!));
        Assert.NotNull(scan.Why(typeof(TorchSharp.Modules.AdamW).GetMethod("step")!));
        // and these pass no Scalar at all
        Assert.Null(scan.Why(tensor.GetMethod("mul", [tensor])!));
        Assert.Null(scan.Why(tensor.GetMethod("sub", [tensor])!));
        Assert.Null(scan.Why(tensor.GetMethod("add", [tensor, typeof(Scalar)])!));
    }

    [Fact]
    public void The_scan_flags_a_kit_style_method_that_converts_a_number()
    {
        var scan = new TemporaryScalarScan();
        var bad = scan.Violations(typeof(ScalarGuardTests).Assembly).Where(v => v.Contains(nameof(BadExamples))).ToList();
        Assert.Contains(bad, v => v.Contains(nameof(BadExamples.ImplicitAlpha)) && v.Contains("op_Addition"));
        Assert.Contains(bad, v => v.Contains(nameof(BadExamples.NumberOperand)) && v.Contains("op_Implicit"));
        Assert.DoesNotContain(bad, v => v.Contains(nameof(BadExamples.Fine)));
    }

    /// <summary>Methods the scan must flag (or not); never called.</summary>
    private static class BadExamples
    {
        public static torch.Tensor ImplicitAlpha(torch.Tensor a, torch.Tensor b) => a + b;
        public static torch.Tensor NumberOperand(torch.Tensor a) => a.mul(2.0);
        public static torch.Tensor Fine(torch.Tensor a, torch.Tensor b) => a.mul(b);
    }

    private static List<Assembly> KitAssemblies()
    {
        var dir = AppContext.BaseDirectory;
        var list = new List<Assembly>();
        foreach (var path in Directory.GetFiles(dir, "Quest.*.dll"))
        {
            var name = AssemblyName.GetAssemblyName(path);
            if (name.Name!.EndsWith(".Tests") || name.Name == "Quest.Testing") continue;
            var asm = Assembly.Load(name);
            if (asm.GetReferencedAssemblies().Any(r => r.Name == Torch.GetName().Name)) list.Add(asm);
        }
        return list;
    }
}

/// <summary>Reads method bodies (IL) to find number-to-Scalar conversions, directly or through TorchSharp's own members.</summary>
internal sealed class TemporaryScalarScan
{
    private static readonly Assembly Torch = typeof(Scalar).Assembly;
    private static readonly Dictionary<short, OpCode> OpCodesByValue = typeof(OpCodes)
        .GetFields(BindingFlags.Public | BindingFlags.Static).Select(f => (OpCode)f.GetValue(null)!).ToDictionary(o => o.Value);
    private const BindingFlags All = BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Instance | BindingFlags.Static | BindingFlags.DeclaredOnly;
    private readonly Dictionary<MethodBase, string?> _why = new();

    /// <summary>True for the members that turn a number into a Scalar (the implicit conversions and <c>ToScalar</c>).</summary>
    private static bool Converts(MethodBase m) =>
        m.Module.Assembly == Torch && m.IsStatic && m is MethodInfo { ReturnType: var r } && r == typeof(Scalar)
        && (m.Name == "op_Implicit" || m.Name == "ToScalar") && m.GetParameters() is [{ ParameterType: var p }] && p != typeof(Scalar);

    /// <summary>Why calling TorchSharp member <paramref name="m"/> makes a temporary Scalar (a call chain), or null.</summary>
    public string? Why(MethodBase m) => Why(m, 0);

    private string? Why(MethodBase m, int depth)
    {
        if (Converts(m)) return Name(m);
        if (m.Module.Assembly != Torch) return null;
        if (_why.TryGetValue(m, out var known)) return known;
        if (depth > 8) return null;
        _why[m] = null;   // in progress: a cycle adds nothing
        string? why = null;
        foreach (var callee in Calls(m))
        {
            if (Why(callee, depth + 1) is { } w) { why = $"{Name(m)} → {w}"; break; }
        }
        return _why[m] = why;
    }

    /// <summary>One line per call site in <paramref name="asm"/> that makes a temporary Scalar.</summary>
    public IEnumerable<string> Violations(Assembly asm)
    {
        Type[] types;
        try { types = asm.GetTypes(); } catch (ReflectionTypeLoadException e) { types = e.Types.Where(t => t is not null).ToArray()!; }
        var methods = types.Where(t => Outer(t).FullName is not ("Quest.Models.Runtime.Scalars" or "Quest.Models.Runtime.ScalarLease"))
            .SelectMany(t => t.GetMethods(All).Cast<MethodBase>().Concat(t.GetConstructors(All))).ToList();
        // A virtual call names the base member (opt.step() is OptimizerHelper.step); what runs is an override in one of
        // the TorchSharp types the kit gets hold of, so those overrides are read too.
        var used = methods.SelectMany(Calls).Where(c => c.Module.Assembly == Torch)
            .SelectMany(c => new[] { c.DeclaringType, (c as MethodInfo)?.ReturnType }).OfType<Type>().ToHashSet();
        foreach (var m in methods)
        {
            foreach (var callee in Calls(m))
            {
                string? why = Converts(callee) ? Name(callee) : callee.Module.Assembly == Torch ? Why(callee) ?? WhyOverride(callee, used) : null;
                if (why is not null) yield return $"{Outer(m.DeclaringType!).FullName}.{m.Name} ({m.DeclaringType!.Name}): {why}";
            }
        }
    }

    private string? WhyOverride(MethodBase callee, HashSet<Type> used)
    {
        if (callee is not MethodInfo { IsVirtual: true } mi) return null;
        var root = mi.GetBaseDefinition();
        foreach (var t in used.Where(t => t != mi.DeclaringType && mi.DeclaringType!.IsAssignableFrom(t)))
            foreach (var o in t.GetMethods(All).Where(o => o.Name == mi.Name && o.GetBaseDefinition() == root))
                if (Why(o) is { } w) return $"{Name(mi)} runs {w}";
        return null;
    }

    private static Type Outer(Type t) { while (t.DeclaringType is { } d && t.Name.StartsWith('<')) t = d; return t; }

    private static string Name(MethodBase m) =>
        $"{m.DeclaringType?.Name}.{m.Name}({string.Join(", ", m.GetParameters().Select(p => p.ParameterType.Name))})";

    /// <summary>The methods and constructors that <paramref name="m"/>'s body calls (call, callvirt, newobj, ldftn).</summary>
    private static IEnumerable<MethodBase> Calls(MethodBase m)
    {
        byte[]? il;
        try { il = m.GetMethodBody()?.GetILAsByteArray(); } catch { il = null; }
        if (il is null) yield break;
        Type[]? typeArgs = m.DeclaringType is { IsGenericType: true } dt ? dt.GetGenericArguments() : null;
        Type[]? methodArgs = m.IsGenericMethod ? m.GetGenericArguments() : null;
        int i = 0;
        while (i < il.Length)
        {
            short value = il[i++];
            if (value == 0xFE) value = unchecked((short)(0xFE00 | il[i++]));
            if (!OpCodesByValue.TryGetValue(value, out var op)) yield break;   // not IL we can read: stop here
            int size = op.OperandType switch
            {
                OperandType.InlineNone => 0,
                OperandType.ShortInlineBrTarget or OperandType.ShortInlineI or OperandType.ShortInlineVar => 1,
                OperandType.InlineVar => 2,
                OperandType.InlineI8 or OperandType.InlineR => 8,
                OperandType.InlineSwitch => 4 + 4 * BitConverter.ToInt32(il, i),
                _ => 4,
            };
            if (op.OperandType == OperandType.InlineMethod)
            {
                MethodBase? callee = null;
                try { callee = m.Module.ResolveMethod(BitConverter.ToInt32(il, i), typeArgs, methodArgs); } catch { }
                if (callee is not null) yield return callee;
            }
            i += size;
        }
    }
}
