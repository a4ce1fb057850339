using Quest.Core;
using Microsoft.Extensions.AI;
using Quest.Models.Generation;
using Quest.Models.Tokenization;
using Quest.Models.Training;
using Quest.Models.Transformer;
using Xunit;
using static TorchSharp.torch;

namespace Quest.Models.Tests;

public class GrpoTests
{
    [Fact]
    public void AdvantagesSumToZeroPerGroupAndEqualGroupsCarryNoSignal()
    {
        var rng = new Random(4);
        var groups = new List<string>();
        var rewards = new List<double>();
        for (int g = 0; g < 6; g++)
            for (int k = 0; k < 8; k++) { groups.Add($"task{g}"); rewards.Add(g == 2 ? 0.5 : g == 4 ? 0 : Math.Round(rng.NextDouble(), 2)); }
        // interleave the rows so a bug that assumes contiguous groups shows
        var order = Enumerable.Range(0, rewards.Count).OrderBy(_ => rng.Next()).ToArray();
        var r = order.Select(i => rewards[i]).ToList();
        var ids = order.Select(i => groups[i]).ToList();
        foreach (bool std in new[] { true, false })
        {
            var a = Grpo.Advantages(r, ids, std);
            Assert.Equal(6, a.Groups);
            Assert.Equal(2, a.ZeroVarianceGroups);                   // task2 (all 0.5) and task4 (all 0)
            foreach (var g in ids.Distinct())
            {
                var idx = Enumerable.Range(0, ids.Count).Where(i => ids[i] == g).ToList();
                Assert.Equal(0, idx.Sum(i => a.Values[i]), 6);
                if (g is "task2" or "task4") Assert.All(idx, i => Assert.Equal(0, a.Values[i]));
                else
                {
                    // the best rollout of a group gets the largest advantage
                    int best = idx.MaxBy(i => r[i]);
                    Assert.Equal(idx.Max(i => a.Values[i]), a.Values[best]);
                    if (std)
                    {
                        double mean = idx.Average(i => a.Values[i]);
                        double sd = Math.Sqrt(idx.Sum(i => (a.Values[i] - mean) * (a.Values[i] - mean)) / (idx.Count - 1));
                        Assert.Equal(1.0, sd, 3);                     // divided by the group's σ
                    }
                }
            }
        }
    }

    [Fact]
    public void MaskedTokensGetZeroGradient()
    {
        // two rows: prompt 5 tokens + 3 generated, prompt 3 + 6 generated (the second row is longer: padding in the first)
        var rows = new List<RlSample>
        {
            new([1, 2, 3, 4, 5], [6, 7, 8], [-1f, -2f, -1.5f], 1.25, "a"),
            new([9, 10, 11], [12, 13, 14, 15, 16, 17], [-1f, -1f, -1f, -1f, -1f, -1f], -0.75, "a"),
        };
        var (x, y, mask, old, adv) = Grpo.Collate(rows, padId: 0, CPU);
        Assert.Equal(new long[] { 2, 8 }, x.shape);
        // the mask is 1 exactly where the target is a generated token
        var m = mask.data<float>().ToArray();
        Assert.Equal(new float[] { 0, 0, 0, 0, 1, 1, 1, 0, 0, 0, 1, 1, 1, 1, 1, 1 }, m);
        var targets = y.data<long>().ToArray();
        Assert.Equal(new long[] { 6, 7, 8 }, targets[4..7]);
        Assert.Equal(new long[] { 12, 13, 14, 15, 16, 17 }, targets[10..16]);

        var logits = randn([2, 8, 32], generator: new TorchSharp.torch.Generator(3)).requires_grad_(true);
        // on-policy (old log-probs = current ones, ratio 1): no token is clipped, so every generated token gets a gradient
        using (no_grad()) old = TorchSharp.torch.nn.functional.log_softmax(logits, -1).gather(-1, y.unsqueeze(-1)).squeeze(-1) * mask;
        var (loss, clipped, _) = Grpo.PolicyLoss(logits, y, mask, old, adv, 0.2, 0.28);
        Assert.Equal(0, clipped);
        loss.backward();
        var g = logits.grad!.abs().sum(-1).data<float>().ToArray();
        for (int i = 0; i < m.Length; i++)
        {
            if (m[i] == 0) Assert.Equal(0f, g[i]);
            else Assert.True(g[i] > 0, $"position {i} is a generated token and must get a gradient");
        }
    }

    [Fact]
    public void ClippingStopsTheGradientOutsideTheTrustRegion()
    {
        // one generated token whose ratio is far above 1 + ε_high with a positive advantage: clipped, no gradient
        var rows = new List<RlSample> { new([1, 2], [3], [-20f], 1.0, "a") };
        var (x, y, mask, old, adv) = Grpo.Collate(rows, 0, CPU);
        var logits = zeros([1, 2, 8]).requires_grad_(true);
        var (loss, clipped, _) = Grpo.PolicyLoss(logits, y, mask, old, adv, 0.2, 0.28);
        loss.backward();
        Assert.Equal(1, clipped);
        Assert.Equal(0f, logits.grad!.abs().sum().item<float>());
        // the same ratio with a negative advantage is not clipped (the pessimistic bound keeps the gradient)
        var rows2 = new List<RlSample> { new([1, 2], [3], [-20f], -1.0, "a") };
        var (_, y2, mask2, old2, adv2) = Grpo.Collate(rows2, 0, CPU);
        var logits2 = zeros([1, 2, 8]).requires_grad_(true);
        var (loss2, clipped2, _) = Grpo.PolicyLoss(logits2, y2, mask2, old2, adv2, 0.2, 0.28);
        loss2.backward();
        Assert.Equal(0, clipped2);
        Assert.True(logits2.grad!.abs().sum().item<float>() > 0);
    }

    /// <summary>Rows of mixed prompt and reply lengths, random old log-probs near the policy's, mixed-sign advantages.</summary>
    private static List<RlSample> MixedRows(int n, int vocab, int seed)
    {
        var rng = new Random(seed);
        return Enumerable.Range(0, n).Select(i =>
        {
            int p = 2 + rng.Next(30), g = 1 + rng.Next(12);
            return new RlSample(Enumerable.Range(0, p).Select(_ => 1 + rng.Next(vocab - 1)).ToArray(), Enumerable.Range(0, g).Select(_ => 1 + rng.Next(vocab - 1)).ToArray(),
                Enumerable.Range(0, g).Select(_ => (float)(-Math.Log(vocab) + rng.NextDouble() - 0.5)).ToArray(), rng.NextDouble() * 2 - 1, $"g{i % 3}");
        }).ToList();
    }

    [Fact]
    public void TheHeadOnlyAtGeneratedPositionsGivesTheFullForwardsGradients()
    {
        // the updater runs the LM head only where a generated token is the target; its loss and gradients must be those
        // of the plain formulation: full logits, masked per-token loss, each row's token mean, summed over rows
        using var model = new QuestTransformer(Fixtures.TinyConfig(64), seed: 3);
        var rows = MixedRows(7, 64, 1);
        var (sum, clipped, ent, n) = Grpo.MicroBatchLoss(model, rows, 0, 0.2, 0.28);
        sum.backward();
        var fast = model.parameters().Select(p => p.grad!.clone()).ToList();
        Assert.Equal(rows.Sum(r => r.TokenIds.Length), n);
        model.zero_grad();

        var reference = Grpo.ReferenceMicroBatchLoss(model, rows, 0, 0.2, 0.28);
        reference.backward();
        Assert.Equal(reference.item<float>(), sum.item<float>(), 4);
        var slow = model.parameters().Select(p => p.grad!).ToList();
        for (int i = 0; i < slow.Count; i++)
            Assert.True(slow[i].allclose(fast[i], rtol: 1e-4, atol: 1e-6), $"parameter {i}: gradients differ");
        Assert.True(ent > 0);
        Assert.True(clipped >= 0 && clipped <= n);
    }

    /// <summary>Rollouts of several calls whose prompts extend each other (a view that did not re-window), with some loose rows.</summary>
    private static List<RlSample> ChainedRows(int rollouts, int vocab, int seed)
    {
        var rng = new Random(seed);
        int[] Ids(int n) => Enumerable.Range(0, n).Select(_ => 1 + rng.Next(vocab - 1)).ToArray();
        var rows = new List<RlSample>();
        for (int k = 0; k < rollouts; k++)
        {
            var prompt = Ids(3 + rng.Next(10));
            double adv = rng.NextDouble() * 2 - 1;
            for (int call = 0; call < 1 + k % 3; call++)
            {
                var gen = Ids(1 + rng.Next(6));
                rows.Add(new RlSample(prompt, gen, gen.Select(_ => (float)(-Math.Log(vocab) + rng.NextDouble() - 0.5)).ToArray(), adv, $"g{k % 2}"));
                prompt = [.. prompt, .. gen, .. Ids(2 + rng.Next(5))];   // the reply, then the tool output: the next call's prompt
            }
        }
        return rows;
    }

    [Fact]
    public void RowsThatExtendEachOtherTrainAsOneSequenceWithTheSameLossAndGradients()
    {
        using var model = new QuestTransformer(Fixtures.TinyConfig(64), seed: 5);
        var rows = ChainedRows(6, 64, 4);   // calls per rollout: 1, 2, 3, 1, 2, 3
        var chains = Grpo.Chains(rows);
        Assert.Equal([1, 2, 3, 1, 2, 3], chains.Select(c => c.Length));
        Assert.Equal(rows, chains.SelectMany(c => c));
        var mbs = Grpo.MicroBatches(rows, 2);
        Assert.Equal(3, mbs.Count);                                    // two sequences a micro-batch, each chain kept whole
        Assert.All(mbs, mb => Assert.Equal(2, Grpo.Chains(mb).Count));

        var (sum, _, _, n) = Grpo.MicroBatchLoss(model, rows, 0, 0.2, 0.28);
        sum.backward();
        var packed = model.parameters().Select(p => p.grad!.clone()).ToList();
        Assert.Equal(rows.Sum(r => r.TokenIds.Length), n);
        model.zero_grad();
        var reference = Grpo.ReferenceMicroBatchLoss(model, rows, 0, 0.2, 0.28);   // every row on its own
        reference.backward();
        Assert.Equal(reference.item<float>(), sum.item<float>(), 4);
        var separate = model.parameters().Select(p => p.grad!).ToList();
        for (int i = 0; i < separate.Count; i++)
            Assert.True(separate[i].allclose(packed[i], rtol: 1e-4, atol: 1e-6), $"parameter {i}: gradients differ");

        // a row of another group, or whose prompt does not continue the last row's tokens, starts a new chain
        var other = rows[2] with { GroupId = "elsewhere" };
        Assert.Equal(2, Grpo.Chains([rows[1], other]).Count);
        var broken = rows[2] with { PromptIds = [.. rows[2].PromptIds] };
        broken.PromptIds[rows[1].PromptIds.Length] ^= 1;
        Assert.Equal(2, Grpo.Chains([rows[1], broken]).Count);
    }

    [Fact]
    public void MicroBatchesGroupRowsOfLikeLengthAndTheUpdateDoesNotDependOnTheirSize()
    {
        var rows = MixedRows(37, 64, 2);
        var mbs = Grpo.MicroBatches(rows, 8);
        Assert.Equal(5, mbs.Count);
        Assert.All(mbs, mb => Assert.True(mb.Count <= 8));
        Assert.Equal(rows.OrderBy(r => r.GetHashCode()), mbs.SelectMany(mb => mb).OrderBy(r => r.GetHashCode()));   // every row once
        var lengths = mbs.SelectMany(mb => mb).Select(r => r.PromptIds.Length + r.TokenIds.Length).ToList();
        Assert.Equal(lengths.OrderDescending(), lengths);
        // padded positions: sorted chunks pad less than chunks in the given order
        static long Padded(IEnumerable<IReadOnlyList<RlSample>> chunks) => chunks.Sum(c => (long)c.Count * c.Max(r => r.PromptIds.Length + r.TokenIds.Length) - c.Sum(r => r.PromptIds.Length + r.TokenIds.Length));
        Assert.True(Padded(mbs) < Padded(rows.Chunk(8)), $"{Padded(mbs)} vs {Padded(rows.Chunk(8))}");

        // gradients accumulate over the mini-batch, so one update lands on the same weights whatever the micro-batch size
        var after = new List<float[]>();
        foreach (int micro in new[] { 1, 5, 64 })
        {
            using var model = new QuestTransformer(Fixtures.TinyConfig(64), seed: 4);
            // float32 products: this is about how gradients accumulate (bf16 products round each micro-batch's own way)
            using var up = new GrpoUpdater(model, new GrpoOptions { LearningRate = 1e-2, MiniBatches = 2, MicroBatch = micro, Precision = Precision.Float32 });
            up.Update(rows, 1e-2, 0, seed: 9);
            after.Add(model.parameters().SelectMany(p => p.data<float>().ToArray()).ToArray());
        }
        // Float sums in another order change a rounding digit of each gradient. Adam's first step is about
        // lr · g / |g|, so for a weight whose gradient is near Adam's eps that digit moves the step itself (seen: 1.4e-5
        // on one weight of 20,000 when the update ran with two OpenMP threads). So: every weight within a tenth of
        // the step, and all but a few within 1e-5 (a dropped or doubled row moves most weights by far more).
        for (int k = 1; k < after.Count; k++)
        {
            int off = 0;
            for (int i = 0; i < after[0].Length; i++)
            {
                double d = Math.Abs(after[0][i] - after[k][i]);
                Assert.True(d < 1e-3, $"weight {i}: micro-batch {k}: {after[k][i]} vs {after[0][i]}");
                if (d >= 1e-5) off++;
            }
            Assert.True(off <= after[0].Length / 1000, $"micro-batch {k}: {off} of {after[0].Length} weights differ by 1e-5 or more");
        }
    }

    [Theory]
    [InlineData("ppo_clip")]
    [InlineData("rft")]
    public async Task ToyTaskAlwaysAnswerXReachesRewardNearOne(string update)
    {
        // A policy that answers one capital letter after "A:"; reward 1 when it says X. Mid-training spreads the answer
        // over 26 letters (p(X) ≈ 1/26, so a group of 8 sometimes succeeds); GRPO must make X the answer.
        var letters = Enumerable.Range(0, 26).Select(i => ((char)('A' + i)).ToString()).ToList();
        var rng = new Random(1);
        var lines = Enumerable.Range(0, 600).Select(_ => $"Q: pick a letter A: {letters[rng.Next(26)]}\n").ToList();
        var tok = BpeTrainer.Train(lines, new BpeTrainerOptions { VocabSize = 300 });
        using var model = new QuestTransformer(Fixtures.TinyConfig(tok.VocabSize) with { DModel = 64, Ffn = 128 }, seed: 2);
        var pre = Trainer.Pretrain(model, tok, [string.Concat(lines)], new TrainingOptions
        {
            Steps = 80, BatchSize = 8, SeqLen = 64, LearningRate = 1e-2, WarmupSteps = 5, EvalEvery = 0, Device = "cpu", Seed = 1,
        });
        await pre.RunToEndAsync(ct: TestContext.Current.CancellationToken);

        var gen = new TextGenerator(model, tok);
        var prompt = tok.Encode("Q: pick a letter A:");
        var opts = new GenerationOptions { Temperature = 1, MaxNewTokens = 2, Seed = 5 };
        double Reward(GeneratedSequence s) => s.Text.TrimStart().StartsWith('X') ? 1 : 0;
        using var updater = PolicyUpdates.Create(update, model, new GrpoOptions { LearningRate = 3e-3, MiniBatches = 2 });
        var means = new List<double>();
        var names = new HashSet<string>();
        for (int step = 0; step < 40; step++)
        {
            var seqs = gen.Generate(Enumerable.Repeat(prompt, 64).ToList(), opts with { Seed = 100 + step });
            var rewards = seqs.Select(Reward).ToList();
            var groups = Enumerable.Range(0, 64).Select(i => $"g{i / 8}").ToList();
            var adv = Grpo.Advantages(rewards, groups);
            var rows = seqs.Select((s, i) => new RlSample(prompt, s.TokenIds, s.Logprobs, adv.Values[i], groups[i])).ToList();
            var u = updater.Update(rows, 3e-3, tok.EndOfTextId, step);
            names.UnionWith(u.Metrics.Keys);
            if (update == "rft") Assert.Equal(rows.Count(r => r.Advantage > 1e-12), u.Rows);   // only the rollouts that beat their group
            means.Add(rewards.Average());
        }
        Assert.Equal(update == "rft" ? ["kept_rows", "nll"] : ["clip_fraction", "entropy"], names.Order());
        Assert.True(means.Take(3).Average() < 0.3, $"the toy task must start hard: {string.Join(", ", means.Take(3))}");
        Assert.True(means.TakeLast(3).Average() > 0.9, $"{update} should make X the answer; mean rewards: {string.Join(", ", means.Select(m => m.ToString("0.00")))}");
    }

    [Fact]
    public void RolloutLogprobsAtATemperatureAreThoseOfThePolicyTheUpdateOptimises()
    {
        // sampled at T = 0.5, the stored log-probs are log softmax(logits / 0.5): the update at GrpoOptions.Temperature 0.5
        // sees ratio 1 on its first pass (nothing clipped), while an update at temperature 1 would see other ratios
        var tok = Fixtures.Tokenizer;
        using var model = new QuestTransformer(Fixtures.TinyConfig(tok.VocabSize), seed: 6);
        var prompt = tok.Encode("Who founded the Alder Gazette?");
        var seqs = new TextGenerator(model, tok).Generate(Enumerable.Repeat(prompt, 4).ToList(), new GenerationOptions { Temperature = 0.5, MaxNewTokens = 12, StopTokenIds = [], Seed = 3 });
        var rows = seqs.Select((s, i) => new RlSample(prompt, s.TokenIds, s.Logprobs, i % 2 == 0 ? 1.0 : -1.0, "g")).ToList();
        var (x, y, mask, old, _) = Grpo.Collate(rows, tok.EndOfTextId, CPU);
        using (no_grad())
        {
            var m = mask.to_type(ScalarType.Bool);
            Tensor LogpAt(double t) => TorchSharp.torch.nn.functional.log_softmax(model.forward(x) / t, -1).gather(-1, y.unsqueeze(-1)).squeeze(-1).masked_select(m);
            var stored = old.masked_select(m);
            Assert.True((LogpAt(0.5) - stored).abs().max().item<float>() < 1e-4, "log-probs at the sampling temperature");
            Assert.True((LogpAt(1.0) - stored).abs().max().item<float>() > 1e-2, "temperature-1 log-probs are another policy's");
            var (_, clippedAtT, _, _) = Grpo.MicroBatchLoss(model, rows, tok.EndOfTextId, 0.2, 0.28, temperature: 0.5);
            Assert.Equal(0, clippedAtT);
        }
    }

    [Fact]
    public async Task RolloutTokenIdsAreExactlyWhatTheTrainerSees()
    {
        // token in, token out: the ids a local policy generated (and the prompt it saw, tool output included) are the
        // ids of the RL row, with the prompt masked and the generated tokens unmasked, never re-tokenised from text
        var tok = Fixtures.Tokenizer;
        using var m = new QuestTransformer(Fixtures.TinyConfig(tok.VocabSize) with { View = AgentView.QuestionRecent }, seed: 3);
        using var batcher = new GenerationBatcher(new TextGenerator(m, tok), maxBatch: 4);
        var client = new LocalChatClient(m, tok) { Batcher = batcher, Defaults = new GenerationOptions { Temperature = 1, MaxNewTokens = 24, Seed = 9 } };
        var recorders = Enumerable.Range(0, 4).Select(_ => new TurnRecorder(client)).ToList();
        var history = new List<ChatMessage>
        {
            new(ChatRole.System, "You are a research agent."), new(ChatRole.User, "Who founded the Alder Gazette?"),
            new(ChatRole.Assistant, "<tool_call>{\"name\":\"search\",\"arguments\":{\"query\":[\"Alder\"]}}</tool_call>"),
            new(ChatRole.User, "<tool_response>\nMara Quill founded it in 1888.\n</tool_response>"),
        };
        var replies = await Task.WhenAll(recorders.Select(r => r.GetResponseAsync(history, null, TestContext.Current.CancellationToken)));
        Assert.True(batcher.Batches < 4, $"four concurrent calls should share a batch ({batcher.Batches} batches)");
        var turns = recorders.Select(r => Assert.Single(r.Turns)).ToList();
        var rows = turns.Select(t => new RlSample(t.PromptIds, t.TokenIds, t.Logprobs, 1.0, "g")).ToList();
        var (x, y, mask, old, _) = Grpo.Collate(rows, tok.EndOfTextId, CPU);
        long T = x.shape[1];
        var xs = x.data<long>().ToArray();
        var ys = y.data<long>().ToArray();
        var ms = mask.data<float>().ToArray();
        var ol = old.data<float>().ToArray();
        for (int b = 0; b < rows.Count; b++)
        {
            var t = turns[b];
            // the prompt is the view of the history (the question and the tool response), and it is what the row starts with
            Assert.Equal(client.View.Prompt(history.Select(h => new ChatTurn(h.Role.Value, h.Text)).ToList(), m.Config.MaxSeqLen - 24), t.PromptIds);
            Assert.Contains("Mara Quill", tok.Decode(t.PromptIds));
            Assert.Equal(t.PromptIds, xs.Skip((int)(b * T)).Take(t.PromptIds.Length).Select(i => (int)i).ToArray());
            var trained = Enumerable.Range(0, (int)T).Where(i => ms[b * T + i] == 1).ToList();
            Assert.Equal(t.TokenIds, trained.Select(i => (int)ys[b * T + i]).ToArray());
            Assert.Equal(t.Logprobs, trained.Select(i => ol[b * T + i]).ToArray());
            Assert.Equal(t.PromptIds.Length - 1, trained[0]);          // every prompt (and tool-output) target is masked
            // the text the agent read is the decoding of those very ids
            Assert.Equal(replies[b].Text, tok.Decode(t.TokenIds.Where(i => i != tok.ImEndId && i != tok.EndOfTextId)));
        }
    }
}

public class ProbeTests
{
    [Fact]
    public async Task CopyProbeSplitsTargetsIntoCopiesAndOthersAndRisesWithTraining()
    {
        var tok = Fixtures.Tokenizer;
        var t = new List<ChatTurn> { new("user", "Who founded the Alder Gazette?"), new("assistant", "<answer>Alder Gazette</answer>") };
        var view = ChatTemplate.View(tok, AgentView.QuestionRecent);
        var examples = view.TrainingExamples(t, 64).ToList();
        var e = Assert.Single(examples);
        int first = Array.IndexOf(e.AssistantMask, true);
        var prompt = e.Ids[..first].ToHashSet();
        int copies = e.Ids.Where((id, i) => e.AssistantMask[i] && prompt.Contains(id)).Count();
        Assert.True(copies > 0, "the answer copies words of the question");
        using var m = new QuestTransformer(Fixtures.TinyConfig(tok.VocabSize) with { DModel = 64, Ffn = 128 }, seed: 4);
        var before = Probes.CopyAccuracy(m, examples);
        Assert.Equal(copies, before.CopyTokens);
        Assert.Equal(e.AssistantTokenCount - copies, before.OtherTokens);
        var trainer = new Trainer(m, tok, new ChatSftData([t], view, 64), new TrainingOptions { Steps = 40, BatchSize = 2, SeqLen = 64, LearningRate = 1e-2, WarmupSteps = 2, EvalEvery = 0, Device = "cpu" });
        await trainer.RunToEndAsync(ct: TestContext.Current.CancellationToken);
        var after = Probes.CopyAccuracy(m, examples);
        Assert.Equal(1.0, after.CopyAccuracy);          // memorised: every copy token predicted
        Assert.True(after.CopyAccuracy > before.CopyAccuracy);
    }
}

public class AdvantageEstimatorTests
{
    private static readonly string[] Ids = ["a", "a", "a", "a", "b", "b", "b", "b"];
    private static readonly double[] Rewards = [1, 0, 0, 1, 1, 1, 1, 1];   // group b is flat

    [Fact]
    public void Grpo_and_rloo_sum_to_zero_per_group_and_give_a_flat_group_nothing()
    {
        foreach (var est in new IAdvantageEstimator[] { AdvantageEstimators.Create("grpo"), AdvantageEstimators.Create("grpo", scaleByStd: true), AdvantageEstimators.Create("rloo") })
        {
            var a = est.Compute(Rewards, Ids);
            Assert.Equal(0, a.Values.Take(4).Sum(), 9);
            Assert.All(a.Values.Skip(4), v => Assert.Equal(0, v));
            Assert.Equal((2, 1), (a.Groups, a.ZeroVarianceGroups));
        }
        // RLOO: r − the mean of the other three = 4/3 of r − group mean
        var rloo = AdvantageEstimators.Create("rloo").Compute(Rewards, Ids);
        Assert.Equal(1 - 1.0 / 3, rloo.Values[0], 9);
        Assert.Equal(0 - 2.0 / 3, rloo.Values[1], 9);
        Assert.Equal(4.0 / 3 * AdvantageEstimators.Create("grpo").Compute(Rewards, Ids).Values[0], rloo.Values[0], 9);
    }

    [Fact]
    public void Reinforce_uses_the_batch_mean_so_a_flat_group_still_carries_signal()
    {
        var a = AdvantageEstimators.Create("reinforce").Compute(Rewards, Ids);
        double mean = Rewards.Average();   // 0.75
        Assert.Equal(1 - mean, a.Values[4], 9);   // the all-correct group is pushed up
        Assert.Equal(0 - mean, a.Values[1], 9);
        Assert.Equal(0, a.Values.Sum(), 9);
        Assert.Equal(1, a.ZeroVarianceGroups);
        Assert.Throws<Quest.Core.QuestInputException>(() => AdvantageEstimators.Create("ppo"));
    }

    [Fact]
    public void Scst_measures_each_rollout_against_its_groups_greedy_rollout()
    {
        var est = AdvantageEstimators.Create("scst");
        Assert.True(est.NeedsGreedyRollout);
        Assert.False(AdvantageEstimators.Create("grpo").NeedsGreedyRollout);
        Assert.Throws<ArgumentException>(() => est.Compute(Rewards, Ids));                     // the baseline is required
        Assert.Throws<ArgumentException>(() => est.Compute(Rewards, Ids, new Dictionary<string, double> { ["a"] = 0 }));
        // group a's greedy rollout scored 1: its failures are pushed down and its successes carry nothing; group b's greedy
        // rollout failed, so its four successes (a flat group for GRPO) are all pushed up
        var a = est.Compute(Rewards, Ids, new Dictionary<string, double> { ["a"] = 1, ["b"] = 0 });
        Assert.Equal([0, -1, -1, 0, 1, 1, 1, 1], a.Values);
        Assert.Equal((2, 0), (a.Groups, a.ZeroVarianceGroups));
        // every rollout scored what the greedy one did: no signal
        var same = est.Compute(Rewards, Ids, new Dictionary<string, double> { ["a"] = 0.5, ["b"] = 1 });
        Assert.All(same.Values.Skip(4), v => Assert.Equal(0, v));
        Assert.Equal(1, same.ZeroVarianceGroups);
    }
}
