using Quest.Models.Generation;
using Quest.Models.Transformer;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace Quest.Models.Tests;

public class TransformerTests
{
    [Fact]
    public void ParameterCountMatchesConfigFormula()
    {
        foreach (var tied in new[] { true, false })
        {
            var cfg = Fixtures.TinyConfig(300, tied: tied);
            using var m = new QuestTransformer(cfg, seed: 1);
            Assert.Equal(cfg.ParameterCount, m.ParameterCount);
        }
        Assert.InRange(ModelConfig.Tiny().ParameterCount, 1_000_000, 1_500_000);
    }

    [Fact]
    public void CausalMaskingHolds()
    {
        var cfg = Fixtures.TinyConfig(300);
        using var m = new QuestTransformer(cfg, seed: 2);
        m.eval();
        using var _ = no_grad();
        var a = randint(0, 300, [1, 20], dtype: ScalarType.Int64, generator: new Generator(5));
        var b = a.clone();
        b[0, 12] = (a[0, 12] + 1) % 300;
        var la = m.forward(a);
        var lb = m.forward(b);
        Assert.True(la.narrow(1, 0, 12).allclose(lb.narrow(1, 0, 12), rtol: 1e-5, atol: 1e-5));
        Assert.False(la.narrow(1, 12, 8).allclose(lb.narrow(1, 12, 8), rtol: 1e-3, atol: 1e-3));
    }

    [Theory]
    [InlineData(2)]
    [InlineData(4)]
    public void KvCacheLogitsEqualFullRecompute(int kvHeads)
    {
        var cfg = Fixtures.TinyConfig(300, kvHeads: kvHeads);
        using var m = new QuestTransformer(cfg, seed: 3);
        m.eval();
        using var _ = no_grad();
        var ids = randint(0, 300, [2, 24], dtype: ScalarType.Int64, generator: new Generator(6));
        var full = m.forward(ids);
        using var cache = m.NewCache(2, 64);
        var pre = m.Forward(ids.narrow(1, 0, 10), null, null, cache);
        Assert.True(pre.allclose(full.narrow(1, 0, 10), rtol: 1e-4, atol: 1e-4));
        for (int t = 10; t < 24; t++)
        {
            var step = m.Forward(ids.narrow(1, t, 1), null, null, cache);
            var diff = (step.squeeze(1) - full.select(1, t)).abs().max().item<float>();
            Assert.True(diff < 1e-4, $"position {t}: max |diff| {diff}");
        }
        Assert.Equal(24, cache.Length);
    }

    [Fact]
    public void GreedyGenerationWithCacheEqualsFullRecompute()
    {
        var tok = Fixtures.Tokenizer;
        using var m = new QuestTransformer(Fixtures.TinyConfig(tok.VocabSize), seed: 4);
        var gen = new TextGenerator(m, tok);
        var prompts = new[] { tok.Encode("The river town"), tok.Encode("Mara Quill founded the Alder Gazette; the"), tok.Encode("A") };
        var opts = new GenerationOptions { Temperature = 0, MaxNewTokens = 20, StopTokenIds = [] };
        var cached = gen.Generate(prompts, opts);
        var full = gen.Generate(prompts, opts with { UseKvCache = false });
        for (int i = 0; i < prompts.Length; i++)
        {
            Assert.Equal(full[i].TokenIds, cached[i].TokenIds);
            for (int t = 0; t < full[i].Logprobs.Length; t++) Assert.Equal(full[i].Logprobs[t], cached[i].Logprobs[t], 1e-3);
            Assert.Equal(20, cached[i].TokenIds.Length);
            Assert.Equal(FinishReason.Length, cached[i].Finish);
        }
    }

    [Fact]
    public void BatchedGenerationEqualsOneByOne()
    {
        var tok = Fixtures.Tokenizer;
        using var m = new QuestTransformer(Fixtures.TinyConfig(tok.VocabSize), seed: 5);
        var gen = new TextGenerator(m, tok);
        var prompts = new[] { tok.Encode("Search results list"), tok.Encode("x"), tok.Encode("The agent thinks, calls a tool, reads the response") };
        var opts = new GenerationOptions { Temperature = 0, MaxNewTokens = 12, StopTokenIds = [] };
        var batched = gen.Generate(prompts, opts);
        for (int i = 0; i < prompts.Length; i++)
        {
            var single = gen.Generate([prompts[i]], opts)[0];
            Assert.Equal(single.TokenIds, batched[i].TokenIds);
            for (int t = 0; t < single.Logprobs.Length; t++) Assert.Equal(single.Logprobs[t], batched[i].Logprobs[t], 1e-3);
        }
    }

    [Fact]
    public void PrefillOfOneLengthUnmaskedEqualsTheMaskedPrefill()
    {
        // rows of equal length prefill in an unmasked cache window; mixed lengths, shared prompts and a full recompute
        // (no cache) must give what the masked prefill gives
        var tok = Fixtures.Tokenizer;
        using var m = new QuestTransformer(Fixtures.TinyConfig(tok.VocabSize), seed: 6);
        var a = tok.Encode("Mara Quill founded the Alder Gazette; the");
        var b = tok.Encode("The river town of");
        var c = tok.Encode("The agent reads the");   // the same length as b or not: both kinds of chunk occur
        var prompts = new[] { a, b, a, c, b, tok.Encode("x") };
        var opts = new GenerationOptions { Temperature = 0, MaxNewTokens = 10, StopTokenIds = [] };
        foreach (var useCache in new[] { true, false })
        {
            var o = opts with { UseKvCache = useCache };
            var unmasked = new TextGenerator(m, tok).Generate(prompts, o with { PrefillUnmaskedRuns = true });
            var masked = new TextGenerator(m, tok).Generate(prompts, o);
            for (int i = 0; i < prompts.Length; i++)
            {
                Assert.Equal(masked[i].TokenIds, unmasked[i].TokenIds);
                for (int t = 0; t < masked[i].Logprobs.Length; t++) Assert.Equal(masked[i].Logprobs[t], unmasked[i].Logprobs[t], 1e-3);
            }
        }
    }

    [Fact]
    public void RowsThatFinishEarlyLeaveTheBatchAndTheRestGenerateAsAlone()
    {
        var tok = Fixtures.Tokenizer;
        using var m = new QuestTransformer(Fixtures.TinyConfig(tok.VocabSize), seed: 5);
        var gen = new TextGenerator(m, tok);
        string[] texts = ["Search results list", "x", "The agent thinks, calls a tool, reads the response", "Mara Quill", "river town of", "A"];
        var prompts = texts.Select(t => tok.Encode(t)).ToArray();
        var free = new GenerationOptions { Temperature = 0, MaxNewTokens = 16, StopTokenIds = [] };
        var outs = gen.Generate(prompts, free);
        // stop tokens that end four rows early and never occur in the other two, so those run on alone
        var last = outs[4].TokenIds.Concat(outs[5].TokenIds).ToHashSet();
        var stops = Enumerable.Range(0, 4).SelectMany(i => outs[i].TokenIds.Take(3)).Where(t => !last.Contains(t)).Distinct().ToArray();
        var opts = free with { StopTokenIds = stops };
        var before = gen.Stats.DecodeRows;
        var batched = gen.Generate(prompts, opts);
        long steps = batched.Max(b => b.TokenIds.Length) - 1;
        int early = batched.Count(b => b.Finish == FinishReason.StopToken);
        Assert.True(early >= 3, $"{early} rows stopped early");
        Assert.Equal(16, batched[4].TokenIds.Length);
        Assert.True(gen.Stats.DecodeRows - before < steps * prompts.Length, "finished rows were dropped from the batch");
        for (int i = 0; i < prompts.Length; i++)
        {
            var single = gen.Generate([prompts[i]], opts)[0];
            Assert.Equal(single.TokenIds, batched[i].TokenIds);
            Assert.Equal(single.Finish, batched[i].Finish);
            for (int t = 0; t < single.Logprobs.Length; t++) Assert.Equal(single.Logprobs[t], batched[i].Logprobs[t], 1e-3);
        }
    }

    [Fact]
    public void PrefillInRowChunksEqualsOnePiece()
    {
        var tok = Fixtures.Tokenizer;
        using var m = new QuestTransformer(Fixtures.TinyConfig(tok.VocabSize, kvHeads: 2), seed: 6);
        var whole = new TextGenerator(m, tok) { PrefillChunkBytes = long.MaxValue };
        var chunked = new TextGenerator(m, tok) { PrefillChunkBytes = 1 };
        var prompts = new[] { tok.Encode("Search results list"), tok.Encode("x"), tok.Encode("The agent thinks, calls a tool, reads the response"), tok.Encode("A river town") };
        Assert.Equal(1, chunked.PrefillRowsPerChunk(prompts.Max(p => p.Length)));
        Assert.True(whole.PrefillRowsPerChunk(prompts.Max(p => p.Length)) >= prompts.Length);
        var opts = new GenerationOptions { Temperature = 0, MaxNewTokens = 10, StopTokenIds = [] };
        var a = whole.Generate(prompts, opts);
        var b = chunked.Generate(prompts, opts);
        for (int i = 0; i < prompts.Length; i++)
        {
            Assert.Equal(a[i].TokenIds, b[i].TokenIds);
            for (int t = 0; t < a[i].Logprobs.Length; t++) Assert.Equal(a[i].Logprobs[t], b[i].Logprobs[t], 1e-4);
        }
        // and the chunked cache path equals the full recompute (every row's keys landed in its own cache rows)
        var full = chunked.Generate(prompts, opts with { UseKvCache = false });
        for (int i = 0; i < prompts.Length; i++) Assert.Equal(full[i].TokenIds, b[i].TokenIds);
    }

    [Fact]
    public void IdenticalPromptsSharePrefillAndGenerateAsAlone()
    {
        var tok = Fixtures.Tokenizer;
        using var m = new QuestTransformer(Fixtures.TinyConfig(tok.VocabSize, kvHeads: 2), seed: 7);
        var gen = new TextGenerator(m, tok) { PrefillChunkBytes = 1 };   // one row per prefill chunk: the copy must land in every row
        int[] p = tok.Encode("Search results list"), q = tok.Encode("The agent thinks, calls a tool, reads the response");
        var prompts = new[] { p, q, (int[])p.Clone(), p, (int[])q.Clone() };   // equal by content, not only by reference
        var opts = new GenerationOptions { Temperature = 0, MaxNewTokens = 10, StopTokenIds = [] };
        var batched = gen.Generate(prompts, opts);
        // two distinct prompts prefilled, one row per chunk, each without the other's padding
        Assert.Equal(p.Length + q.Length, gen.Stats.PrefillPositions);
        Assert.Equal(3, gen.Stats.SharedPrefillRows);
        Assert.Equal(p.Length + q.Length, gen.Stats.PromptTokens);
        var alone = new[] { gen.Generate([p], opts)[0], gen.Generate([q], opts)[0] };
        var full = gen.Generate(prompts, opts with { UseKvCache = false });
        for (int i = 0; i < prompts.Length; i++)
        {
            var one = alone[prompts[i].SequenceEqual(p) ? 0 : 1];
            Assert.Equal(one.TokenIds, batched[i].TokenIds);
            Assert.Equal(full[i].TokenIds, batched[i].TokenIds);
            for (int t = 0; t < one.Logprobs.Length; t++) Assert.Equal(one.Logprobs[t], batched[i].Logprobs[t], 1e-3);
        }
        // sampling stays per row: a group sharing one prompt still draws its own continuations, reproducibly
        var sampled = new GenerationOptions { Temperature = 1.5, MaxNewTokens = 12, StopTokenIds = [], Seed = 3 };
        var group = gen.Generate(Enumerable.Repeat(p, 8).ToList(), sampled);
        Assert.True(group.Select(g => string.Join(',', g.TokenIds)).Distinct().Count() > 1);
        Assert.Equal(group.Select(g => g.TokenIds), gen.Generate(Enumerable.Repeat(p, 8).ToList(), sampled).Select(g => g.TokenIds));
    }

    [Fact]
    public void A_turn_that_extends_an_earlier_prompt_reuses_its_keys_and_generates_as_without()
    {
        var tok = Fixtures.Tokenizer;
        using var m = new QuestTransformer(Fixtures.TinyConfig(tok.VocabSize, kvHeads: 2), seed: 8);
        using var reusing = new TextGenerator(m, tok) { PrefixCapacity = 4, PrefillChunkBytes = 1 };
        var plain = new TextGenerator(m, tok);
        var opts = new GenerationOptions { Temperature = 0, MaxNewTokens = 8, StopTokenIds = [] };
        int[] a = tok.Encode("The agent thinks, calls a tool, reads the response and writes"), b = tok.Encode("Search results list the river towns of the world in order");
        Assert.True(a.Length >= 16 && b.Length >= 16, "prompts long enough to be kept");
        var first = reusing.Generate([a, b], opts);
        Assert.Equal(0, reusing.Stats.ReusedPromptTokens);
        // the next turns: each earlier prompt, its reply and more text; a third prompt shares nothing
        int[] a2 = [.. a, .. first[0].TokenIds, .. tok.Encode(" and then the tool answered")], b2 = [.. b, .. first[1].TokenIds, .. tok.Encode(" x")];
        int[] c = tok.Encode("Nothing in common with the others at all, none");
        var next = reusing.Generate([c, a2, b2], opts);
        Assert.Equal(a.Length + b.Length, reusing.Stats.ReusedPromptTokens);
        var alone = plain.Generate([c, a2, b2], opts);
        var full = plain.Generate([c, a2, b2], opts with { UseKvCache = false });
        for (int i = 0; i < 3; i++)
        {
            Assert.Equal(alone[i].TokenIds, next[i].TokenIds);
            Assert.Equal(full[i].TokenIds, next[i].TokenIds);
            for (int t = 0; t < alone[i].Logprobs.Length; t++) Assert.Equal(alone[i].Logprobs[t], next[i].Logprobs[t], 1e-3);
        }
        // a prompt that equals a kept one still computes its last token (its logits start the reply)
        var again = reusing.Generate([a2], opts)[0];
        Assert.Equal(alone[1].TokenIds, again.TokenIds);
        Assert.Equal(a.Length + b.Length + a2.Length - 1, reusing.Stats.ReusedPromptTokens);
        // after the weights change, the kept keys are stale: cleared, the next call computes everything again
        reusing.ClearPrefixes();
        reusing.Generate([a2], opts);
        Assert.Equal(a.Length + b.Length + a2.Length - 1, reusing.Stats.ReusedPromptTokens);
    }

    [Fact]
    public void GenerationStatsCountPrefillAndDecodeWork()
    {
        var tok = Fixtures.Tokenizer;
        using var m = new QuestTransformer(Fixtures.TinyConfig(tok.VocabSize), seed: 5);
        var gen = new TextGenerator(m, tok);
        var prompts = new[] { tok.Encode("Search results list"), tok.Encode("x"), tok.Encode("The agent thinks, calls a tool, reads the response") };
        int longest = prompts.Max(p => p.Length);
        gen.Generate(prompts, new GenerationOptions { Temperature = 0, MaxNewTokens = 12, StopTokenIds = [] });
        var s = gen.Stats;
        Assert.Equal(1, s.Calls);
        Assert.Equal(3, s.Rows);
        Assert.Equal(3L * longest, s.PrefillPositions);             // one masked chunk, left-padded to the longest prompt
        var unmasked = new TextGenerator(m, tok);
        unmasked.Generate(prompts, new GenerationOptions { Temperature = 0, MaxNewTokens = 12, StopTokenIds = [], PrefillUnmaskedRuns = true });
        Assert.Equal(prompts.Sum(p => (long)p.Length), unmasked.Stats.PrefillPositions);   // rows of one length prefill unmasked: no padding computed
        Assert.Equal(prompts.Sum(p => (long)p.Length), s.PromptTokens);
        Assert.Equal(36, s.GeneratedTokens);
        Assert.Equal(11, s.DecodeSteps);                            // the first token comes from the prefill
        Assert.True(s.PrefillSeconds > 0 && s.DecodeSeconds > 0);
        // a row that stops early stops counting; the batch decodes on for the others
        var first = gen.Generate([prompts[0]], new GenerationOptions { Temperature = 0, MaxNewTokens = 12, StopTokenIds = [] })[0];
        gen.Generate([prompts[0], prompts[2]], new GenerationOptions { Temperature = 0, MaxNewTokens = 12, StopTokenIds = [first.TokenIds[2]] });
        Assert.Equal(3, s.Calls);
        Assert.InRange(s.GeneratedTokens, 36 + 12 + 3 + 1, 36 + 12 + 3 + 12);
    }

    [Fact]
    public void SeededSamplingIsReproducibleAndRespectsLimits()
    {
        var tok = Fixtures.Tokenizer;
        using var m = new QuestTransformer(Fixtures.TinyConfig(tok.VocabSize), seed: 6);
        var gen = new TextGenerator(m, tok);
        var p = new[] { tok.Encode("Numbers like") };
        var o = new GenerationOptions { Temperature = 1.0, TopK = 20, TopP = 0.9, MaxNewTokens = 15, Seed = 123, StopTokenIds = [] };
        var a = gen.Generate(p, o)[0];
        var b = gen.Generate(p, o)[0];
        var c = gen.Generate(p, o with { Seed = 124 })[0];
        Assert.Equal(a.TokenIds, b.TokenIds);
        Assert.NotEqual(a.TokenIds, c.TokenIds);
        Assert.All(a.Logprobs, lp => Assert.True(lp <= 0 && float.IsFinite(lp)));
        // top-k = 1 is greedy
        var k1 = gen.Generate(p, o with { TopK = 1, TopP = 1 })[0];
        var greedy = gen.Generate(p, o with { Temperature = 0 })[0];
        Assert.Equal(greedy.TokenIds, k1.TokenIds);
    }

    [Fact]
    public void InverseCdfSamplingDrawsEachTokenAtItsProbability()
    {
        const int n = 40_000;
        var probs = tensor(new double[] { 0.5, 0, 0.3, 0.2, 0 }).to_type(ScalarType.Float32).unsqueeze(0).expand(n, 5).contiguous();
        var tok = TextGenerator.InverseCdf(probs, new Generator(7)).data<long>().ToArray();
        var freq = Enumerable.Range(0, 5).Select(v => tok.Count(t => t == v) / (double)n).ToArray();
        Assert.Equal(0, freq[1]);          // probability 0 in the middle and at the end: never drawn
        Assert.Equal(0, freq[4]);
        Assert.InRange(freq[0], 0.49, 0.51);   // 4 standard deviations at n = 40,000 is about 0.01
        Assert.InRange(freq[2], 0.29, 0.31);
        Assert.InRange(freq[3], 0.19, 0.21);
        // all the mass on the first or the last token; unnormalised rows are scaled by their sum
        var edge = tensor(new float[] { 1, 0, 0, 0, 0, 0, 0, 2 }, [2, 4]);
        var e = TextGenerator.InverseCdf(edge.expand(1000, 2, 4).reshape(2000, 4), new Generator(8)).data<long>().ToArray();
        Assert.All(e.Where((_, i) => i % 2 == 0), t => Assert.Equal(0, t));
        Assert.All(e.Where((_, i) => i % 2 == 1), t => Assert.Equal(3, t));
        // seeded: the same generator seed gives the same draws
        Assert.Equal(tok.Take(200), TextGenerator.InverseCdf(probs, new Generator(7)).data<long>().ToArray().Take(200));
    }

    [Fact]
    public void StopSequencesAndStopTokensEndGeneration()
    {
        var tok = Fixtures.Tokenizer;
        using var m = new QuestTransformer(Fixtures.TinyConfig(tok.VocabSize), seed: 7);
        var gen = new TextGenerator(m, tok);
        var p = new[] { tok.Encode("The") };
        var free = gen.Generate(p, new GenerationOptions { Temperature = 0, MaxNewTokens = 30, StopTokenIds = [] })[0];
        // pick the text of the 5th generated token as a stop sequence: generation must stop there and cut it
        var stopText = tok.Decode(free.TokenIds.Take(5));
        var stopAt = stopText.Length > 0 ? stopText[^1..] : "";
        var stopped = gen.Generate(p, new GenerationOptions { Temperature = 0, MaxNewTokens = 30, StopTokenIds = [], StopSequences = [stopAt] })[0];
        Assert.Equal(FinishReason.StopSequence, stopped.Finish);
        Assert.DoesNotContain(stopAt, stopped.Text);
        Assert.True(stopped.TokenIds.Length <= 5);
        // stop token: the 3rd greedy token as stop id
        var byToken = gen.Generate(p, new GenerationOptions { Temperature = 0, MaxNewTokens = 30, StopTokenIds = [free.TokenIds[2]] })[0];
        Assert.Equal(FinishReason.StopToken, byToken.Finish);
        Assert.Equal(free.TokenIds[2], byToken.TokenIds[^1]);
    }
}
