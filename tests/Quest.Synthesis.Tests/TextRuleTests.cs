using Quest.Agent.Rollout;
using Quest.Core;
using Quest.Synthesis.Rewards;
using Quest.Synthesis.Verification;
using Xunit;

namespace Quest.Synthesis.Tests;

/// <summary>The rooms that compare text share one rule (TextNormalizer), so they cannot disagree about a match.</summary>
public class TextRuleTests
{
    [Theory]
    [InlineData("The Café-de-Flore!", "cafe de flore")]
    [InlineData("O'Brien's 3.5 km", "obriens 3.5 km")]
    [InlineData("  An  Ada   LOVELACE. ", "ada lovelace")]
    [InlineData("Zoë, 1,843", "zoe 1 843")]
    public void Every_room_normalises_the_same_way(string text, string expected)
    {
        Assert.Equal(expected, TextNormalizer.Normalize(text));
        Assert.Equal(expected, AnswerMatchScorer.Normalize(text));      // rollout exact match
        Assert.Equal(expected, TaskVerifier.Normalize(text));             // task verifier's duplicate-question key
    }

    [Fact]
    public void The_citation_reward_and_the_cites_check_count_the_same_content_words()
    {
        const string claim = "The Café was founded in 1871 by Mara Quill, according to the Gazette.";
        Assert.Equal(TextNormalizer.ContentWords(claim), TextOverlap.Words(claim));
        Assert.Equal(["cafe", "founded", "1871", "mara", "quill", "gazette"], TextOverlap.Words(claim));
        Assert.Equal(1.0, TextOverlap.Coverage("Mara Quill founded the café", TextOverlap.Words(claim).ToHashSet()));
    }

    [Fact]
    public void Exact_match_still_compares_numbers_by_value()
    {
        Assert.True(AnswerMatchScorer.Matches("1,000", "1000"));
        Assert.True(AnswerMatchScorer.Matches("The Eiffel Tower", "eiffel tower"));
        Assert.False(AnswerMatchScorer.Matches("1,001", "1000"));
    }

    [Theory]
    [InlineData("https://www.Example.org/wiki/Ada_Lovelace/#life", "example.org/wiki/ada_lovelace")]
    [InlineData("http://example.org/wiki/Ada%20Lovelace", "example.org/wiki/ada_lovelace")]
    [InlineData("example.org/wiki/Ada+Lovelace", "example.org/wiki/ada_lovelace")]
    public void The_corpus_and_the_cites_check_key_urls_the_same_way(string url, string key)
    {
        Assert.Equal(key, UrlKeys.Key(url));
        Assert.Equal(key, Quest.World.Corpus.PageCorpus.UrlKey(url));
        Assert.Equal(key, Quest.Core.Citations.CanonicalUrl(url));
    }
}
