using Quest.Models.Generation;
using Quest.Models.Transformer;
using Xunit;

namespace Quest.Models.Tests;

/// <summary>How <see cref="GenerationBatcher"/> forms batches from concurrent episodes.</summary>
public class GenerationBatcherTests
{
    private static readonly GenerationOptions Options = new() { Temperature = 0, MaxNewTokens = 3 };

    private static int[] Prompt(int i) => Fixtures.Tokenizer.Encode($"Question {i}: who founded the Alder Gazette?");

    [Fact]
    public async Task JoinedEpisodesAreDecodedOneBatchPerTurnHoweverLongTheirToolsTake()
    {
        var tok = Fixtures.Tokenizer;
        using var m = new QuestTransformer(Fixtures.TinyConfig(tok.VocabSize), seed: 4);
        // a linger far below the tools' delays: without Join every arrival would leave on its own
        using var batcher = new GenerationBatcher(new TextGenerator(m, tok), maxBatch: 16, linger: TimeSpan.FromMilliseconds(1), participantLinger: TimeSpan.FromSeconds(30));
        var seats = Enumerable.Range(0, 6).Select(_ => batcher.Join()).ToList();
        Assert.Equal(6, batcher.Participants);
        var episodes = seats.Select(async (seat, i) =>
        {
            using (seat)
            {
                for (int turn = 0; turn < 2; turn++)
                {
                    await Task.Delay(15 * i);   // a tool call that takes longer for some episodes
                    var seq = await batcher.GenerateAsync(Prompt(i), Options, TestContext.Current.CancellationToken);
                    Assert.NotEmpty(seq.TokenIds);
                }
            }
        }).ToList();
        await Task.WhenAll(episodes).WaitAsync(TimeSpan.FromSeconds(20), TestContext.Current.CancellationToken);
        Assert.Equal(2, batcher.Batches);    // one batch per turn
        Assert.Equal(12, batcher.Rows);
        Assert.Equal(0, batcher.Participants);
    }

    [Fact]
    public async Task GreedyAndSampledEpisodesShareABatchAndTheGreedyOnesDecodeAsAlone()
    {
        var tok = Fixtures.Tokenizer;
        using var m = new QuestTransformer(Fixtures.TinyConfig(tok.VocabSize), seed: 4);
        var gen = new TextGenerator(m, tok);
        var options = new GenerationOptions { Temperature = 0, MaxNewTokens = 12, StopTokenIds = [] };
        var alone = Enumerable.Range(0, 3).Select(i => gen.Generate([Prompt(i)], options)[0]).ToList();
        using var batcher = new GenerationBatcher(gen, maxBatch: 16, participantLinger: TimeSpan.FromSeconds(30));
        var seats = Enumerable.Range(0, 6).Select(_ => batcher.Join()).ToList();
        // rows 0, 2, 4 greedy; 1, 3, 5 sampled at temperature 1.5 (an untrained model: samples wander)
        var asks = seats.Select(async (seat, i) =>
        {
            using (seat) return await batcher.GenerateAsync(Prompt(i / 2), options with { Temperature = i % 2 == 0 ? 0 : 1.5 }, TestContext.Current.CancellationToken);
        }).ToList();
        var seqs = await Task.WhenAll(asks).WaitAsync(TimeSpan.FromSeconds(20), TestContext.Current.CancellationToken);
        Assert.Equal(1, batcher.Batches);                                 // one batch whatever the temperatures
        for (int i = 0; i < 3; i++) Assert.Equal(alone[i].TokenIds, seqs[2 * i].TokenIds);   // greedy rows: the argmax path
        Assert.Contains(Enumerable.Range(0, 3), i => !seqs[2 * i + 1].TokenIds.SequenceEqual(alone[i].TokenIds));
        // a sampled row's log-probs are at its own temperature: the greedy path's tokens are less likely at 1.5 than at 1
        Assert.All(seqs.Where((_, i) => i % 2 == 1), s => Assert.All(s.Logprobs, lp => Assert.True(lp <= 0)));
        Assert.Throws<ArgumentException>(() => gen.Generate([Prompt(0)], options, temperatures: [0, 1]));
    }

    [Fact]
    public void PerRowTemperaturesSampleEachRowAsItsOwnTemperatureWould()
    {
        var tok = Fixtures.Tokenizer;
        using var m = new QuestTransformer(Fixtures.TinyConfig(tok.VocabSize), seed: 4);
        var gen = new TextGenerator(m, tok);
        var o = new GenerationOptions { MaxNewTokens = 1, StopTokenIds = [], Seed = 5 };
        // one temperature for every row is the ordinary path: the same draws as the options' temperature
        var same = gen.Generate([Prompt(0), Prompt(1)], o with { Temperature = 0.7 });
        Assert.Equal(same.Select(x => x.TokenIds), gen.Generate([Prompt(0), Prompt(1)], o with { Temperature = 1 }, temperatures: [0.7, 0.7]).Select(x => x.TokenIds));
        // a row's first-token log-prob is log softmax(logits / T) of its token: compare with a greedy row at T = 1
        var greedy = gen.Generate([Prompt(0)], o with { Temperature = 0 })[0];
        var mixed = gen.Generate([Prompt(0), Prompt(0)], o, temperatures: [0, 0.5]);
        Assert.Equal(greedy.TokenIds, mixed[0].TokenIds);
        Assert.Equal(greedy.Logprobs[0], mixed[0].Logprobs[0], 1e-4);
        // a sampled row beside a greedy one draws what it draws alone at its temperature, with that temperature's log-prob
        var sharpAlone = gen.Generate([Prompt(1)], o with { Temperature = 0.5 })[0];
        var sharp = gen.Generate([Prompt(1), Prompt(0)], o, temperatures: [0.5, 0])[0];
        Assert.Equal(sharpAlone.TokenIds, sharp.TokenIds);
        Assert.Equal(sharpAlone.Logprobs[0], sharp.Logprobs[0], 1e-4);
    }

    [Fact]
    public async Task AnEpisodeThatLeavesReleasesTheOthersAndOneThatStallsOnlyDelaysThem()
    {
        var tok = Fixtures.Tokenizer;
        using var m = new QuestTransformer(Fixtures.TinyConfig(tok.VocabSize), seed: 4);
        using (var batcher = new GenerationBatcher(new TextGenerator(m, tok), maxBatch: 16, participantLinger: TimeSpan.FromSeconds(30)))
        {
            var a = batcher.Join();
            var b = batcher.Join();
            var c = batcher.Join();
            var asks = new[] { batcher.GenerateAsync(Prompt(0), Options), batcher.GenerateAsync(Prompt(1), Options) };
            await Task.Delay(100, TestContext.Current.CancellationToken);
            Assert.All(asks, t => Assert.False(t.IsCompleted));   // the third episode may still ask
            c.Dispose();                                           // it ends instead: the two waiting go now
            await Task.WhenAll(asks).WaitAsync(TimeSpan.FromSeconds(20), TestContext.Current.CancellationToken);
            Assert.Equal(1, batcher.Batches);
            Assert.Equal(2, batcher.Rows);
            a.Dispose(); b.Dispose();
            c.Dispose();                                           // a second dispose is a no-op
            Assert.Equal(0, batcher.Participants);
        }
        using (var batcher = new GenerationBatcher(new TextGenerator(m, tok), maxBatch: 16, participantLinger: TimeSpan.FromMilliseconds(50)))
        {
            using var stalled = batcher.Join();                    // never asks, never leaves
            using var asking = batcher.Join();
            var seq = await batcher.GenerateAsync(Prompt(2), Options).WaitAsync(TimeSpan.FromSeconds(20), TestContext.Current.CancellationToken);
            Assert.NotEmpty(seq.TokenIds);
            Assert.Equal(1, batcher.Batches);
        }
    }
}
