using Quest.Core;
using Quest.Models.Tokenization;
using Xunit;

namespace Quest.Models.Tests;

public class TokenizerTests
{
    [Fact]
    public void TrainerLearnsMergesAndVocabSizeIsExact()
    {
        var tok = Fixtures.Tokenizer;
        Assert.Equal(400, tok.VocabSize);
        Assert.Equal(400 - 256 - Protocol.SpecialTokens.Count, tok.Merges.Count);
        // frequent words compress: "Alder" should be far fewer tokens than bytes
        Assert.True(tok.Encode(" Alder Gazette").Length <= 4, string.Join(",", tok.Encode(" Alder Gazette")));
    }

    [Fact]
    public void ProtocolMarkersAreSingleTokens()
    {
        var tok = Fixtures.Tokenizer;
        foreach (var s in Protocol.SpecialTokens)
        {
            var ids = tok.Encode($"a{s}b");
            Assert.Contains(tok.SpecialTokens[s], ids);
            Assert.Equal(3, ids.Length);
        }
        // EncodeOrdinary treats them as plain text
        Assert.DoesNotContain(tok.SpecialTokens[Protocol.ThinkOpen], tok.EncodeOrdinary("<think>"));
    }

    [Fact]
    public void TokensShowAsReadableTextPiecesThatJoinToTheDecodedText()
    {
        var tok = Fixtures.Tokenizer;
        const string text = "The Alder Gazette\nZoë ⚡ 日本 <think>ok</think>";
        var ids = tok.Encode(text);
        var pieces = tok.DecodePieces(ids);
        Assert.Equal(text, string.Concat(pieces.Select(p => p.Text)));
        Assert.Equal(ids.Length, pieces.Sum(p => p.Count));
        Assert.Equal(Enumerable.Range(0, pieces.Count).Select(i => pieces.Take(i).Sum(p => p.Count)), pieces.Select(p => p.Start));
        Assert.DoesNotContain(pieces, p => p.Text.Contains('Ġ') || p.Text.Contains('Ċ') || p.Text.Contains('\uFFFD'));
        Assert.Contains(pieces, p => p.Text == "<think>" && p.Count == 1);
        Assert.Contains(pieces, p => p.Text.Contains('⚡'));   // a 3-byte character the byte-level BPE split is one piece
    }

    [Fact]
    public void RandomUnicodeRoundTrips()
    {
        var tok = Fixtures.Tokenizer;
        var rng = new Random(7);
        for (int n = 0; n < 300; n++)
        {
            var sb = new System.Text.StringBuilder();
            int len = rng.Next(0, 40);
            for (int i = 0; i < len; i++)
            {
                int kind = rng.Next(6);
                if (kind == 0) sb.Append(Fixtures.Corpus[rng.Next(Fixtures.Corpus.Length)][..5]);
                else if (kind == 1) sb.Append(char.ConvertFromUtf32(rng.Next(0x1F300, 0x1FAFF)));     // emoji (surrogate pairs)
                else if (kind == 2) sb.Append((char)rng.Next(0x4E00, 0x9FFF));                          // CJK
                else if (kind == 3) sb.Append(" \t\n\r  "[rng.Next(6)]);
                else if (kind == 4) sb.Append(Protocol.SpecialTokens[rng.Next(Protocol.SpecialTokens.Count)]);
                else sb.Append((char)rng.Next(0x20, 0x2FF));
            }
            var text = sb.ToString();
            Assert.Equal(text, tok.Decode(tok.Encode(text)));
        }
    }

    [Fact]
    public void SavedTokenizerLoadsInMicrosoftMlTokenizersWithSameIds()
    {
        var tok = Fixtures.Tokenizer;
        var dir = Fixtures.TempDir();
        tok.Save(dir);
        var reloaded = QuestTokenizer.Load(dir);
        var ml = QuestTokenizer.LoadMlTokenizer(dir);
        foreach (var text in Fixtures.Corpus.Append("Unseen wörds, ünïcode ✓ and 😀 emoji!  Two  spaces.\nNew line"))
        {
            var ids = tok.Encode(text);
            Assert.Equal(ids, reloaded.Encode(text));
            Assert.Equal(ids, ml.EncodeToIds(text).ToArray());
            Assert.Equal(text, ml.Decode(ids));
        }
    }

    [Fact]
    public void BadTokenizerFilesGiveClearErrors()
    {
        var dir = Fixtures.TempDir();
        var ex = Assert.Throws<QuestInputException>(() => QuestTokenizer.Load(dir));
        Assert.Contains("missing", ex.Message);
        Fixtures.Tokenizer.Save(dir);
        File.AppendAllText(Path.Combine(dir, QuestTokenizer.MergesFile), "nonsense_token_a nonsense_token_b\n");
        var ex2 = Assert.Throws<QuestInputException>(() => QuestTokenizer.Load(dir));
        Assert.Contains("merges.txt", ex2.Message);
        Assert.NotNull(ex2.Line);
    }

    [Fact]
    public void ChatTemplateMaskCoversExactlyTheAssistantTokens()
    {
        var tok = Fixtures.Tokenizer;
        var template = new ChatTemplate(tok);
        var msgs = new[]
        {
            new ChatTurn("system", "You are a research agent."),
            new ChatTurn("user", "Who founded the Alder Gazette?"),
            new ChatTurn("assistant", "<think>search</think><tool_call>{\"name\":\"search\"}</tool_call>"),
            new ChatTurn("tool", "<tool_response>Mara Quill</tool_response>"),
            new ChatTurn("assistant", "<answer>Mara Quill</answer>"),
        };
        var enc = template.Encode(msgs);
        Assert.Equal(enc.Ids.Length, enc.AssistantMask.Length);
        // The ids decode to exactly the rendered text.
        Assert.Equal(ChatTemplate.Render(msgs), tok.Decode(enc.Ids));
        // The masked tokens decode to exactly the assistant contents, each followed by <|im_end|>.
        var masked = tok.Decode(enc.Ids.Where((_, i) => enc.AssistantMask[i]));
        Assert.Equal("<think>search</think><tool_call>{\"name\":\"search\"}</tool_call><|im_end|><answer>Mara Quill</answer><|im_end|>", masked);
        // The tool turn renders as a user turn, and nothing of it is masked.
        Assert.Contains("<|im_start|>user\n<tool_response>", ChatTemplate.Render(msgs));
        // Generation prompt ends with the open assistant header.
        var prompt = template.Encode(msgs[..2], addGenerationPrompt: true);
        Assert.EndsWith("<|im_start|>assistant\n", tok.Decode(prompt.Ids));
        Assert.Equal(0, prompt.AssistantTokenCount);
    }
}
