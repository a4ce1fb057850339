using Microsoft.Extensions.AI;
using Quest.Core;
using Quest.Models.Generation;
using Quest.Models.Tokenization;
using Quest.Models.Training;
using Quest.Models.Transformer;
using Xunit;

namespace Quest.Models.Tests;

public class SftAndChatClientTests
{
    internal static List<IReadOnlyList<ChatTurn>> Transcripts() =>
    [
        [new("system", "You are a research agent."), new("user", "Who founded the Alder Gazette?"),
         new("assistant", "<think>I should search.</think><tool_call>{\"name\":\"search\",\"arguments\":{\"query\":\"Alder Gazette\"}}</tool_call>"),
         new("tool", "<tool_response>Mara Quill founded it in 1888.</tool_response>"),
         new("assistant", "<think>Found it.</think><answer>Mara Quill</answer>")],
        [new("system", "You are a research agent."), new("user", "When did the Alder mill burn?"),
         new("assistant", "<think>I should search.</think><tool_call>{\"name\":\"search\",\"arguments\":{\"query\":\"Alder mill\"}}</tool_call>"),
         new("tool", "<tool_response>The mill burned in 1903.</tool_response>"),
         new("assistant", "<think>Found it.</think><answer>1903</answer>")],
        [new("system", "You are a research agent."), new("user", "Where does Alder sit?"),
         new("assistant", "<think>I should search.</think><tool_call>{\"name\":\"search\",\"arguments\":{\"query\":\"Alder town\"}}</tool_call>"),
         new("tool", "<tool_response>Alder sits where two valleys meet.</tool_response>"),
         new("assistant", "<think>Found it.</think><answer>Where two valleys meet</answer>")],
    ];

    [Fact]
    public async Task RowChunksGiveTheSameTrainingAsWholeBatches()
    {
        // SFT batches have masked targets in different numbers per row: each chunk's summed loss over the batch's count
        // must give the whole batch's mean loss and gradients
        var tok = Fixtures.Tokenizer;
        var cfg = Fixtures.TinyConfig(tok.VocabSize);
        var o = new TrainingOptions { Steps = 5, BatchSize = 4, SeqLen = 96, LearningRate = 1e-2, WarmupSteps = 1, EvalEvery = 5, EvalBatches = 2, Device = "cpu", Seed = 3 };
        using var whole = new QuestTransformer(cfg, seed: 8);
        using var chunked = new QuestTransformer(cfg, seed: 8);
        Assert.Equal(1, ActivationChunks.RowsPerChunk(cfg, 96, allLogits: true, bytes: 1));
        var ta = Trainer.Sft(whole, tok, Transcripts(), o with { ChunkBytes = 0 });
        var tb = Trainer.Sft(chunked, tok, Transcripts(), o with { ChunkBytes = 1 });
        var a = await ta.RunToEndAsync(ct: TestContext.Current.CancellationToken);
        var b = await tb.RunToEndAsync(ct: TestContext.Current.CancellationToken);
        for (int i = 0; i < a.Count; i++) Assert.Equal(a[i].Loss, b[i].Loss, 4);
        Assert.True(a.Select(r => r.Loss).Distinct().Count() > 1);         // it trained: the loss moved
        var pa = whole.named_parameters().ToDictionary(p => p.name, p => p.parameter);
        foreach (var (name, p) in chunked.named_parameters())
            Assert.True(p.allclose(pa[name], rtol: 1e-4, atol: 1e-5), name);
    }

    [Theory]
    [InlineData(false, 0L)]
    [InlineData(false, 1L)]
    [InlineData(true, 1L)]
    public void BatchLossEqualsThePlainPaddedForward(bool dense, long chunkBytes)
    {
        // The trainer cuts each row after its last target, runs rows longest first in chunks as long as their longest
        // row and takes the LM head only at target positions when targets are sparse; loss and gradients must equal one
        // forward over the padded batch with every position's logits.
        var tok = Fixtures.Tokenizer;
        var cfg = Fixtures.TinyConfig(tok.VocabSize);
        using var model = new QuestTransformer(cfg, seed: 5);
        var view = ChatTemplate.View(tok, cfg.View);
        var examples = Transcripts().SelectMany(t => view.TrainingExamples(t, 96)).Where(e => e.AssistantTokenCount > 0).ToList();
        var batch = examples.Concat([examples[0]]).ToList();   // rows of different lengths, the longest not first
        var (x, y) = ChatSftData.PadBatch(batch, 96, tok.EndOfTextId, TorchSharp.torch.CPU);
        if (dense) y = x.roll(-1, 1);                          // pretraining: every position is a target
        else
        {
            // a row with no target at all must cost nothing and change nothing
            y[1] = TorchSharp.torch.full_like(y[1], -100);
        }
        var spans = Trainer.TargetSpans(y, out var targets);
        if (!dense)
        {
            Assert.Contains(spans, s => s > 0 && s < x.shape[1]);   // rows to trim
            Assert.Equal(0, spans[1]);
        }

        model.zero_grad();
        var logits = model.forward(x);
        var plain = TorchSharp.torch.nn.functional.cross_entropy(logits.view(-1, cfg.VocabSize), y.reshape(-1), ignore_index: -100);
        plain.backward();
        var expected = model.named_parameters().ToDictionary(p => p.name, p => p.parameter.grad!.clone());

        model.zero_grad();
        var trainer = new Trainer(model, tok, new ChatSftData(Transcripts(), view, 96), new TrainingOptions { SeqLen = 96, Device = "cpu" });
        double loss = trainer.BatchLoss(x, y, chunkBytes, backward: true, scale: 1.0);
        Assert.Equal(plain.item<float>(), loss, 4);
        foreach (var (name, p) in model.named_parameters())
            Assert.True(p.grad!.allclose(expected[name], rtol: 1e-4, atol: 1e-6), name);
        Assert.Equal(targets, y.ne(-100).sum().item<long>());
    }

    [Fact]
    public async Task SftOnScriptedTranscriptsTeachesTheProtocolTags()
    {
        var tok = Fixtures.Tokenizer;
        using var m = new QuestTransformer(Fixtures.TinyConfig(tok.VocabSize) with { DModel = 64, Ffn = 128 }, seed: 8);
        var client = new LocalChatClient(m, tok);
        var question = new List<ChatMessage> { new(ChatRole.System, "You are a research agent."), new(ChatRole.User, "Who founded the Alder Gazette?") };
        var opts = new ChatOptions { Temperature = 0, MaxOutputTokens = 60 };
        var before = await client.GetResponseAsync(question, opts, TestContext.Current.CancellationToken);
        Assert.DoesNotContain("</tool_call>", before.Text);

        var trainer = Trainer.Sft(m, tok, Transcripts(), new TrainingOptions
        {
            Steps = 60, BatchSize = 4, SeqLen = 128, LearningRate = 1e-2, WarmupSteps = 5, EvalEvery = 0, Device = "cpu", Seed = 3,
        });
        var reports = await trainer.RunToEndAsync(ct: TestContext.Current.CancellationToken);
        Assert.True(reports[^1].Loss < 0.3, $"final SFT loss {reports[^1].Loss}");

        var after = await client.GetResponseAsync(question, opts, TestContext.Current.CancellationToken);
        Assert.StartsWith("<think>", after.Text);
        Assert.Contains("</think><tool_call>", after.Text);
        Assert.Contains("</tool_call>", after.Text);
        Assert.Equal(ChatFinishReason.Stop, after.FinishReason);          // stopped at <|im_end|>
        // the protocol's stop sequence cuts the turn before a tool response
        var withTool = question.Append(new ChatMessage(ChatRole.Assistant, "<think>I should search.</think><tool_call>{\"name\":\"search\",\"arguments\":{\"query\":\"Alder Gazette\"}}</tool_call>"))
            .Append(new ChatMessage(ChatRole.Tool, "<tool_response>Mara Quill founded it in 1888.</tool_response>")).ToList();
        var final = await client.GetResponseAsync(withTool, opts, TestContext.Current.CancellationToken);
        Assert.Contains("<answer>", final.Text);
        Assert.Equal("Mara Quill", Protocol.ExtractLastAnswer(final.Text));
    }

    [Fact]
    public async Task ChatClientHonoursOptionsAndReportsTokens()
    {
        var tok = Fixtures.Tokenizer;
        using var m = new QuestTransformer(Fixtures.TinyConfig(tok.VocabSize), seed: 9);
        IChatClient client = new LocalChatClient(m, tok);
        var msgs = new List<ChatMessage> { new(ChatRole.User, "Tell me about Alder.") };
        var a = await client.GetResponseAsync(msgs, new ChatOptions { Temperature = 1, Seed = 5, MaxOutputTokens = 7 }, TestContext.Current.CancellationToken);
        var b = await client.GetResponseAsync(msgs, new ChatOptions { Temperature = 1, Seed = 5, MaxOutputTokens = 7 }, TestContext.Current.CancellationToken);
        Assert.Equal(a.Text, b.Text);
        Assert.True(a.Usage!.OutputTokenCount <= 7);
        var ids = (int[])a.AdditionalProperties!["token_ids"]!;
        var lps = (float[])a.AdditionalProperties!["logprobs"]!;
        Assert.Equal(ids.Length, lps.Length);
        Assert.Equal(a.Usage.OutputTokenCount, ids.Length);
        if (a.FinishReason == ChatFinishReason.Length) Assert.Equal(7, ids.Length);
        var meta = client.GetService<ChatClientMetadata>();
        Assert.Equal("Quest.Models", meta!.ProviderName);
        var local = (LocalChatClient)client;
        var g = local.ToGenerationOptions(new ChatOptions { TopP = 0.5f, TopK = 3, StopSequences = ["\n<tool_response>"] });
        Assert.Equal(0.5, g.TopP, 5);
        Assert.Equal(3, g.TopK);
        Assert.Equal(["\n<tool_response>"], g.StopSequences);
    }
}

public class ChatClientStreamingTests
{
    [Fact]
    public async Task StreamingConcatenatesToTheNonStreamingText()
    {
        var tok = Fixtures.Tokenizer;
        using var m = new QuestTransformer(Fixtures.TinyConfig(tok.VocabSize), seed: 10);
        var client = new LocalChatClient(m, tok);
        var msgs = new List<ChatMessage> { new(ChatRole.User, "Tell me about Alder.") };
        foreach (var stops in new[] { Array.Empty<string>(), new[] { "e" }, new[] { "er" }, new[] { " t" } })
        {
            var o = new ChatOptions { Temperature = 0, MaxOutputTokens = 24, StopSequences = stops };
            var whole = await client.GetResponseAsync(msgs, o, TestContext.Current.CancellationToken);
            var pieces = new List<string>();
            ChatFinishReason? finish = null;
            await foreach (var u in client.GetStreamingResponseAsync(msgs, o, TestContext.Current.CancellationToken))
            {
                if (!string.IsNullOrEmpty(u.Text)) pieces.Add(u.Text);
                finish ??= u.FinishReason;
            }
            Assert.Equal(whole.Text, string.Concat(pieces));
            Assert.Equal(whole.FinishReason, finish);
            if (stops.Length == 0) Assert.True(pieces.Count > 1, "expected several streamed pieces");
        }
    }

    [Fact]
    public async Task ALongConversationKeepsRoomForTheReply()
    {
        var tok = Fixtures.Tokenizer;
        using var m = new QuestTransformer(Fixtures.TinyConfig(tok.VocabSize) with { DModel = 64, Ffn = 128, MaxSeqLen = 64 }, seed: 9);
        var client = new LocalChatClient(m, tok);
        var history = new List<ChatMessage> { new(ChatRole.System, "You are a research agent.") };
        for (int i = 0; i < 20; i++) history.Add(new ChatMessage(ChatRole.User, $"Message number {i} about the Alder Gazette and its founders."));
        Assert.True(client.PromptIds(history).Length > 64);
        var opts = new ChatOptions { Temperature = 1, MaxOutputTokens = 16, Seed = 1, StopSequences = [] };
        var reply = await client.GetResponseAsync(history, opts, TestContext.Current.CancellationToken);
        var prompt = (int[])reply.AdditionalProperties!["prompt_token_ids"]!;
        var generated = (int[])reply.AdditionalProperties!["token_ids"]!;
        Assert.Equal(64 - 16, prompt.Length);                          // oldest tokens dropped, room left for 16 new ones
        Assert.Equal(client.PromptIds(history)[^prompt.Length..], prompt); // the most recent context is what was kept
        Assert.True(generated.Length > 1 || reply.FinishReason == ChatFinishReason.Stop, $"only {generated.Length} token(s) generated");
    }
}

public class AgentViewTests
{
    private static readonly List<ChatTurn> Episode =
    [
        new("system", "You are a research agent with a very long system prompt that a tiny window cannot hold."),
        new("user", "Who founded the Alder Gazette?"),
        new("assistant", "<tool_call>{\"name\":\"search\",\"arguments\":{\"query\":[\"Alder Gazette\"]}}</tool_call>"),
        new("user", "<tool_response>\nMara Quill founded it in 1888. The mill burned in 1903.\n</tool_response>"),
        new("assistant", "<answer>Mara Quill</answer>"),
    ];

    [Fact]
    public void TheViewIsTheModelsSettingAndTravelsWithTheCheckpoint()
    {
        var tok = Fixtures.Tokenizer;
        var dir = Path.Combine(Fixtures.TempDir(), "ckpt");
        using var m = new QuestTransformer(Fixtures.TinyConfig(tok.VocabSize) with { View = AgentView.QuestionRecent }, seed: 1);
        Quest.Models.Checkpoints.Checkpoint.Save(dir, m, tok);
        var loaded = Quest.Models.Checkpoints.Checkpoint.Load(dir);
        Assert.Equal(AgentView.QuestionRecent, loaded.Model.Config.View);
        var client = new LocalChatClient(loaded.Model, loaded.Tokenizer);
        Assert.Equal(AgentView.QuestionRecent, client.View.Kind);
        // a question_recent prompt has no system prompt, starts with the question and ends with the open assistant header
        var text = tok.Decode(client.PromptIds(Episode.Take(4).Select(x => new ChatMessage(new ChatRole(x.Role), x.Content))));
        Assert.DoesNotContain("system prompt", text);
        Assert.StartsWith("<|im_start|>user\nWho founded", text);
        Assert.EndsWith("<|im_start|>assistant\n", text);
        Assert.Throws<Quest.Core.QuestInputException>(() => (m.Config with { View = "sideways" }).Validate());
    }

    [Fact]
    public void TrainingExamplesArePromptsTheModelIsGivenAsAnAgent()
    {
        var tok = Fixtures.Tokenizer;
        foreach (var kind in AgentView.Kinds)
        {
            var view = ChatTemplate.View(tok, kind);
            foreach (int seq in new[] { 40, 60, 400 })
            {
                const int reply = 16;
                var examples = view.TrainingExamples(Episode, seq, reply).ToList();
                Assert.All(examples, e => Assert.True(e.Ids.Length <= seq));
                // every assistant turn's tokens are targets exactly once, and each example's prompt is the view at that turn
                var targets = examples.SelectMany(e => e.Ids.Where((_, i) => e.AssistantMask[i])).ToList();
                if (kind == AgentView.Full && examples.Count == 1) { Assert.Contains("<answer>Mara Quill</answer>", tok.Decode(targets)); continue; }
                Assert.Equal(2, examples.Count);
                for (int k = 0; k < examples.Count; k++)
                {
                    var e = examples[k];
                    int first = Array.IndexOf(e.AssistantMask, true);
                    int turn = k == 0 ? 2 : 4;
                    // the prompt a rollout gives the model: the window minus the reply budget, as LocalChatClient.Fit cuts it
                    Assert.Equal(view.Prompt(Episode.Take(turn).ToList(), AgentView.PromptBudget(seq, reply)), e.Ids[..first]);
                    Assert.True(e.Ids.Length - first <= AgentView.ReplyTokens(seq, reply));
                }
            }
        }
    }
}
