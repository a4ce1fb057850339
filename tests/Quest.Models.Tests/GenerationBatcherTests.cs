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
