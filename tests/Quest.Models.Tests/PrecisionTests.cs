using Quest.Core;
using Quest.Models.Training;
using Quest.Models.Transformer;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace Quest.Models.Tests;

public class PrecisionTests
{
    [Fact]
    public void NativeBf16IsReadFromTheCpuFlagsLine()
    {
        const string withAvx = "processor\t: 0\nmodel name\t: x\nflags\t\t: fpu sse avx2 avx512f avx512_bf16 avx512_vnni\n";
        const string withAmx = "flags\t\t: fpu avx512f amx_bf16 amx_tile\n";
        const string without = "flags\t\t: fpu sse avx2 avx512f avx512_vnni\nbugs\t\t: avx512_bf16_is_not_a_flag_here\n";
        const string lookalike = "flags\t\t: fpu avx512_bf16x\n";
        static bool Bf16(string cpuinfo) => Machine.FromCpuInfo(cpuinfo).HasNativeBf16;
        Assert.True(Bf16(withAvx));
        Assert.True(Bf16(withAmx));
        Assert.False(Bf16(without));
        Assert.False(Bf16(lookalike));
        Assert.False(Bf16(""));
        var m = Machine.FromCpuInfo("processor\t: 0\nvendor_id\t: AuthenticAMD\nmodel name\t: AMD EPYC\n" + withAvx[withAvx.IndexOf("flags")..] + "processor\t: 1\nmodel name\t: other\n");
        Assert.Equal(("AMD EPYC", "AuthenticAMD"), (m.Cpu, m.Vendor));
        Assert.Equal(["avx2", "avx512f", "avx512_vnni", "avx512_bf16"], m.Flags);   // the notable ones, in NotableFlags' order
        Assert.Contains("AMD EPYC, ", m.ToString());
    }

    [Fact]
    public void NamesResolveToAMatmulTypeAndUnknownOnesAreRefused()
    {
        Assert.Null(Precision.Resolve("fp32", CPU));
        Assert.Null(Precision.Resolve(null, CPU));
        Assert.Equal(ScalarType.BFloat16, Precision.Resolve("BF16", CPU));
        Assert.Equal(Precision.CpuHasNativeBf16 ? ScalarType.BFloat16 : null, Precision.Resolve("auto", CPU));
        Assert.Equal(Precision.CpuHasNativeBf16 ? "bf16" : "fp32", Precision.Describe("auto", CPU));
        var e = Assert.Throws<QuestInputException>(() => Precision.Resolve("fp16", CPU));
        Assert.Contains("fp16", e.Message);
        Assert.Contains("auto, fp32, bf16", e.Message);
        var v = Assert.Throws<QuestInputException>(() => new TrainingOptions { Precision = "half" }.Validate("cfg.yaml"));
        Assert.Contains("training.precision 'half'", v.Message);
    }

    [Fact]
    public void MixedPrecisionGivesTheFloat32LossAndGradientsUpToRounding()
    {
        // bf16 products, float32 weights: the loss and the gradient direction match float32 closely, but not exactly
        // (if they matched bit for bit, the bf16 path would not be running)
        var tok = Fixtures.Tokenizer;
        using var m = new QuestTransformer(Fixtures.TinyConfig(tok.VocabSize, tied: false) with { DModel = 64, Ffn = 128 }, seed: 7);
        using var x = randint(0, tok.VocabSize, [4, 48], dtype: ScalarType.Int64, generator: new Generator(3));
        (double Loss, float[] Grad) Run(ScalarType? type)
        {
            m.MatmulType = type;
            m.zero_grad();
            using var scope = NewDisposeScope();
            var logits = m.forward(x.narrow(1, 0, 47));
            Assert.Equal(ScalarType.Float32, logits.dtype);
            var loss = F.cross_entropy(logits.reshape(-1, tok.VocabSize), x.narrow(1, 1, 47).reshape(-1));
            loss.backward();
            var grad = m.parameters().SelectMany(p => p.grad!.data<float>().ToArray()).ToArray();
            return (loss.item<float>(), grad);
        }
        var (l32, g32) = Run(null);
        var (l16, g16) = Run(ScalarType.BFloat16);
        m.MatmulType = null;
        Assert.True(Math.Abs(l32 - l16) < 0.01 * l32, $"loss fp32 {l32} bf16 {l16}");
        Assert.NotEqual(l32, l16);
        double dot = 0, n32 = 0, n16 = 0;
        for (int i = 0; i < g32.Length; i++) { dot += (double)g32[i] * g16[i]; n32 += (double)g32[i] * g32[i]; n16 += (double)g16[i] * g16[i]; }
        double cos = dot / Math.Sqrt(n32 * n16);
        Assert.True(cos > 0.99, $"gradient cosine {cos}");
        Assert.All(m.parameters(), p => Assert.Equal(ScalarType.Float32, p.dtype));
    }

    [Fact]
    public async Task ABf16TrainerLearnsKeepsFloat32WeightsAndLeavesGenerationInFloat32()
    {
        var tokens = Enumerable.Range(0, 4000).Select(i => 256 + i % 10).ToArray();
        var tok = Fixtures.Tokenizer;
        using var m = new QuestTransformer(Fixtures.TinyConfig(tok.VocabSize), seed: 1);
        var trainer = new Trainer(m, tok, new PackedTokenStream(tokens), new TrainingOptions
        {
            Steps = 40, BatchSize = 8, SeqLen = 32, LearningRate = 1e-2, WarmupSteps = 2, EvalEvery = 0, CheckpointEvery = 0,
            Device = "cpu", Seed = 11, Precision = "bf16",
        }, "toy");
        ScalarType? during = null;
        var reports = await trainer.RunToEndAsync(_ => during = m.MatmulType, TestContext.Current.CancellationToken);
        Assert.Equal(ScalarType.BFloat16, during);
        Assert.Null(m.MatmulType);
        Assert.True(reports[^1].Loss < 0.5 * reports[0].Loss, $"first {reports[0].Loss:0.000} last {reports[^1].Loss:0.000}");
        Assert.All(m.parameters(), p => Assert.Equal(ScalarType.Float32, p.dtype));
    }

    [Fact]
    public void ABf16GrpoUpdateMovesTheWeightsAndRestoresFloat32()
    {
        using var model = new QuestTransformer(Fixtures.TinyConfig(64), seed: 4);
        var before = model.parameters().SelectMany(p => p.data<float>().ToArray()).ToArray();
        var rng = new Random(2);
        var rows = Enumerable.Range(0, 8).Select(i => new RlSample(
            Enumerable.Range(0, 12).Select(_ => rng.Next(1, 64)).ToArray(), Enumerable.Range(0, 5).Select(_ => rng.Next(1, 64)).ToArray(),
            Enumerable.Repeat(-4.1f, 5).ToArray(), i % 2 == 0 ? 1.0 : -1.0, "g")).ToList();
        using var up = new GrpoUpdater(model, new GrpoOptions { LearningRate = 1e-2, Precision = "bf16" });
        var r = up.Update(rows, 1e-2, 0, seed: 1);
        Assert.Equal(8, r.Rows);
        Assert.Null(model.MatmulType);
        var after = model.parameters().SelectMany(p => p.data<float>().ToArray()).ToArray();
        Assert.Contains(Enumerable.Range(0, before.Length), i => before[i] != after[i]);
    }
}
