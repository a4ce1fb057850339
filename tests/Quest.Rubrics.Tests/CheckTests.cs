using Microsoft.Extensions.AI;
using Quest.Core;
using Quest.Rubrics;
using Quest.Testing;
using Xunit;

namespace Quest.Rubrics.Tests;

public class CheckTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static async Task<NodeReport> One(CheckSpec check, string answer, RubricContext? ctx = null, CheckRegistry? reg = null)
    {
        var tree = RubricTree.Compile(RubricNode.Leaf("leaf", "the claim", check), checks: reg ?? new CheckRegistry());
        return (await tree.ScoreAsync(answer, ctx, Ct))["leaf"];
    }

    [Theory]
    [InlineData("Paris", "paris", true)]
    [InlineData("The Café de Flore!", "cafe de flore", true)]
    [InlineData("  São   Paulo. ", "Sao Paulo", true)]
    [InlineData("It's in Paris, France.", "Paris", false)]
    [InlineData("Lyon", "Paris", false)]
    public async Task Exact_normalizes_case_punctuation_articles_diacritics(string answer, string expected, bool pass) =>
        Assert.Equal(pass, (await One(CheckSpec.Exact(expected), answer)).Score == 1);

    [Fact]
    public async Task Exact_uses_aliases_and_anywhere_mode()
    {
        Assert.Equal(1, (await One(CheckSpec.Exact("United Kingdom", "UK", "Britain"), "U.K.")).Score == 1 ? 0 : 1); // "u k" is not "uk"
        Assert.Equal(1, (await One(CheckSpec.Exact("United Kingdom", "UK", "Britain"), "britain")).Score);
        Assert.Equal(1, (await One(CheckSpec.ExactAnywhere("Zurich"), "He taught at ETH Zürich for decades.")).Score);
        Assert.Equal(0, (await One(CheckSpec.ExactAnywhere("Zurich"), "He taught in Zurichberg.")).Score); // whole words only
    }

    [Theory]
    [InlineData("1945", "It was awarded in 1945.", null, null, true)]
    [InlineData("3.5 million", "about 3,500,000 people", null, null, true)]
    [InlineData("3.5 million", "roughly 3.4 million", null, "0.05", true)]
    [InlineData("3.5 million", "roughly 3.2 million", null, "0.05", false)]
    [InlineData("42 km", "it is 42000 m long", null, null, true)]
    [InlineData("26.2 mi", "a marathon is 42.195 km", "0.1", null, true)]
    [InlineData("45%", "turnout was 45 percent", null, null, true)]
    [InlineData("12bn", "$12 billion in revenue", null, null, true)]
    [InlineData("1.2k", "1200 items", null, null, true)]
    [InlineData("100 kg", "it weighs 100 lb", null, null, false)]
    [InlineData("5 km", "5 kg", null, null, false)]
    public async Task Number_handles_scales_units_and_tolerance(string expected, string answer, string? abs, string? rel, bool pass)
    {
        var r = await One(CheckSpec.Number(expected, abs: abs is null ? null : double.Parse(abs, System.Globalization.CultureInfo.InvariantCulture),
            rel: rel is null ? null : double.Parse(rel, System.Globalization.CultureInfo.InvariantCulture)), answer);
        Assert.True(pass == (r.Score == 1), r.Evidence);
    }

    [Fact]
    public async Task Contains_and_regex()
    {
        Assert.Equal(1, (await One(CheckSpec.Contains("New York", "Boston"), "From new-york to BOSTON.")).Score);
        var miss = await One(CheckSpec.Contains("New York", "Boston"), "From New York to Chicago.");
        Assert.Equal(0, miss.Score);
        Assert.Contains("missing 'Boston'", miss.Evidence);
        Assert.Equal(1, (await One(new CheckSpec("contains", [new("expected", new[] { "x1", "Boston" }), new("mode", "any")]), "Boston")).Score);
        Assert.Equal(1, (await One(CheckSpec.Regex(@"\b19\d\d\b"), "in 1969")).Score);
        Assert.Equal(0, (await One(new CheckSpec("regex", [new("pattern", "Pluto"), new("negate", true)]), "Mars and Pluto")).Score);
    }

    [Fact]
    public async Task List_coverage_is_k_of_n_and_reported()
    {
        var spec = CheckSpec.List(["red", new[] { "green", "verde" }, "blue", "yellow"], min: 2);
        var r = await One(spec, "Verde and red.");
        Assert.Equal(1, r.Score);
        Assert.Equal(0.5, (double)r.Data!["coverage"]!);
        Assert.Contains("missing blue, yellow", r.Evidence);
        var r1 = await One(spec, "Only blue.");
        Assert.Equal(0, r1.Score);
        Assert.Equal(0.25, (double)r1.Data!["coverage"]!);
    }

    private static readonly Dictionary<string, string> Pages = new()
    {
        ["https://example.org/penicillin"] = "In 1928 Alexander Fleming discovered penicillin after Penicillium mould contaminated a culture plate.",
        ["https://example.org/other"] = "Unrelated text about the weather.",
    };

    [Fact]
    public void Citations_parse_inline_urls_and_numbered_references()
    {
        var c = Citations.Parse("Fleming found it [1]. See also https://a.org/x.\n\nReferences:\n[1] Fleming bio, https://example.org/penicillin\n[2] https://unused.org");
        Assert.Equal(["https://example.org/penicillin", "https://a.org/x"], c.Urls);
        Assert.Equal(2, c.References.Count);
        Assert.Equal([new CitedClaim("Fleming found it.", "https://example.org/penicillin"), new CitedClaim("See also", "https://a.org/x")], c.Pairs);
    }

    [Theory]
    [InlineData("Sources say the tower is tall [1].\n[1] https://w/t", true)]          // "Sources say…" is a sentence, not a References heading
    [InlineData("The tower is tall.\n\n## Sources\n1. https://w/t", true)]           // a reference list alone names its source
    [InlineData("The tower is tall (see www.w.org/t).", true)]                          // a bare URL is a citation
    [InlineData("The tower is tall [2].\n[1] https://w/t", false)]                     // a marker with no reference
    [InlineData("The tower is tall.\n\nReferences\n[1] A book on towers", false)]    // a reference with no URL
    public async Task The_cites_leaf_and_the_citation_reward_read_citations_with_one_grammar(string answer, bool cites)
    {
        var spec = CheckSpec.Cites(null);
        var leaf = await One(spec, answer, new RubricContext());
        var set = Citations.Parse(answer);
        Assert.Equal(cites, leaf.Score == 1);
        Assert.Equal(cites, set.Urls.Count > 0);
        // every inline pair's URL is one of the cited URLs
        Assert.All(set.Pairs, p => Assert.Contains(p.Url, set.Urls));
    }

    [Theory]
    [InlineData("Vel Orasko was born in 1843 [source](https://world.quest/wiki/Vel_Orasko).", true, true)]
    [InlineData("He was born then [source](https://world.quest/wiki/Vel_Orasko_1843).", false, false)]   // only the address names him
    [InlineData("See https://world.quest/wiki/Vel_Orasko (born 1843).", false, true)]                    // a bare URL is not prose either
    [InlineData("[Vel Orasko](https://world.quest/wiki/V) was born in 1843.", true, true)]              // a link's anchor text is prose
    public async Task Text_and_number_checks_read_the_prose_not_the_cited_addresses(string answer, bool names, bool year)
    {
        Assert.Equal(names, (await One(CheckSpec.ExactAnywhere("Vel Orasko"), answer)).Score == 1);
        Assert.Equal(year, (await One(CheckSpec.Number(1843), answer)).Score == 1);
    }

    [Fact]
    public async Task Cites_checks_the_cited_page_by_token_overlap()
    {
        var ctx = new RubricContext { Sources = SourceResolver.FromDictionary(Pages) };
        var spec = CheckSpec.Cites("Alexander Fleming discovered penicillin in 1928");
        var good = await One(spec, "Fleming found penicillin in 1928 [1].\n\n[1] https://www.example.org/penicillin/", ctx);
        Assert.True(good.Score == 1, good.Evidence);
        var wrongSource = await One(spec, "Fleming found penicillin in 1928 [1].\n\n[1] https://example.org/other", ctx);
        Assert.Equal(0, wrongSource.Score);
        Assert.Contains("overlap", wrongSource.Evidence);
        Assert.Equal(0, (await One(spec, "Fleming found penicillin in 1928.", ctx)).Score);
        var noResolver = await One(spec, "see https://example.org/penicillin");
        Assert.Equal(0, noResolver.Score);
        Assert.Contains("no source resolver", noResolver.Evidence);
        Assert.Equal(1, (await One(CheckSpec.Cites(), "see https://example.org/penicillin")).Score); // no evidence: citation suffices
    }

    [Fact]
    public async Task Judge_majority_vote_stops_after_two_agreeing_votes()
    {
        var yes = "{\"reasoning\": \"stated\", \"result\": true}";
        var no = "{\"reasoning\": \"absent\", \"result\": false}";
        var j1 = new ScriptedReplies(yes, yes, no) { RepeatLast = true };
        var r1 = await One(CheckSpec.Judge("Fleming won in 1945"), "answer", new RubricContext { Judge = j1, Task = "the task" });
        Assert.Equal(1, r1.Score);
        Assert.Equal(2, j1.Prompts.Count);
        Assert.Equal(2, r1.JudgeCalls);
        Assert.Equal("stated", r1.Reasoning);
        Assert.Contains("Fleming won in 1945", j1.Prompts[0]);
        Assert.Contains("the task", j1.Prompts[0]);

        var j2 = new ScriptedReplies(yes, no, no) { RepeatLast = true };
        Assert.Equal(0, (await One(CheckSpec.Judge(), "answer", new RubricContext { Judge = j2 })).Score);
        Assert.Equal(3, j2.Prompts.Count);
        Assert.Contains("the claim", j2.Prompts[0]); // description is the default claim

        var j3 = new ScriptedReplies(no, yes, yes) { RepeatLast = true };
        Assert.Equal(1, (await One(CheckSpec.Judge(), "answer", new RubricContext { Judge = j3 })).Score);
    }

    [Theory]
    [InlineData("```json\n{\"reasoning\": \"ok\", \"result\": true}\n```", true)]
    [InlineData("{\"reasoning\": \"x\", \"result\": \"no\"}", false)]
    [InlineData("Yes. The answer says so.", true)]
    [InlineData("No, it does not mention it.", false)]
    [InlineData("After checking, the claim is not supported", false)]
    [InlineData("{\"result\": false, \"reasoning\": \"broken json\"", false)]
    public void Judge_replies_parse_robustly(string reply, bool expected) =>
        Assert.Equal(expected, JudgeVerdict(reply));

    private static bool JudgeVerdict(string reply)
    {
        var tree = RubricTree.Compile(RubricNode.Leaf("l", "c", CheckSpec.Judge()), checks: new CheckRegistry());
        var r = tree.ScoreAsync("a", new RubricContext { Judge = new ScriptedReplies(reply) { RepeatLast = true }, JudgeOptions = new JudgeOptions { Votes = 1 } }).Result;
        return r.Score == 1;
    }

    [Fact]
    public async Task Judge_errors_fail_the_leaf_with_the_error_as_evidence()
    {
        var r = await One(CheckSpec.Judge(), "a", new RubricContext { Judge = new ScriptedReplies("THROW") { RepeatLast = true } });
        Assert.Equal(0, r.Score);
        Assert.Contains("endpoint down", r.Evidence);
        var garbage = await One(CheckSpec.Judge(), "a", new RubricContext { Judge = new ScriptedReplies("¯\\_(ツ)_/¯") { RepeatLast = true } });
        Assert.Contains("no verdict", garbage.Evidence);
    }

    [Fact]
    public async Task Judge_with_sources_reads_pages_and_passes_on_the_first_supporting_one()
    {
        var judge = new ScriptedReplies("{\"result\": false}", "{\"result\": false}", "{\"reasoning\":\"page says so\",\"result\": true}", "{\"result\": true}") { RepeatLast = true };
        var ctx = new RubricContext { Judge = judge, Sources = SourceResolver.FromDictionary(Pages) };
        var spec = CheckSpec.Judge("Fleming discovered penicillin", ["https://example.org/other", "https://example.org/missing", "https://example.org/penicillin"]);
        var r = await One(spec, "a", ctx);
        Assert.Equal(1, r.Score);
        Assert.Equal(4, judge.Prompts.Count); // 2 votes on 'other', none on the missing page, 2 on 'penicillin'
        Assert.Contains("Alexander Fleming discovered", judge.Prompts[2]);
        Assert.Equal("https://example.org/penicillin", r.Data!["url"]);
    }

    [Fact]
    public async Task No_judge_throws_a_clear_error_or_fails_leaves_when_asked()
    {
        var tree = RubricTree.Compile(RubricNode.Group("r", "r", RubricNode.Leaf("j", "claim", CheckSpec.Judge()), RubricNode.Leaf("e", "e", CheckSpec.Exact("x"))), checks: new CheckRegistry());
        var ex = await Assert.ThrowsAsync<RubricJudgeMissingException>(() => tree.ScoreAsync("x", null, Ct));
        Assert.Contains("judge leaf", ex.Message);
        Assert.Contains("--endpoint", ex.Message);
        var r = await tree.ScoreAsync("x", new RubricContext { WhenNoJudge = MissingJudgeBehavior.FailLeaf }, Ct);
        Assert.Equal(0.5, r.Score);
        Assert.Contains("no judge configured", r["j"].Evidence);
    }

    [Fact]
    public async Task Precondition_skipping_spends_no_judge_call()
    {
        var judge = new ScriptedReplies("{\"result\": true}") { RepeatLast = true };
        var tree = RubricTree.Compile(RubricNode.Group("r", "r",
            RubricNode.Leaf("exists", "has an answer", CheckSpec.Regex(@"\S"), critical: true),
            RubricNode.Leaf("claim", "claim", CheckSpec.Judge())), checks: new CheckRegistry());
        var r = await tree.ScoreAsync("   ", new RubricContext { Judge = judge }, Ct);
        Assert.Empty(judge.Prompts);
        Assert.Equal(NodeStatus.Skipped, r["claim"].Status);
        Assert.Equal(0, r.JudgeCalls);
    }

    [Fact]
    public async Task Concurrent_scoring_overlaps_independent_checks_but_respects_preconditions()
    {
        int running = 0, peak = 0;
        var started = new System.Collections.Concurrent.ConcurrentQueue<string>();
        var reg = new CheckRegistry().RegisterAsync("slow", async (leaf, ct) =>
        {
            started.Enqueue(leaf.Node.Id);
            int now = Interlocked.Increment(ref running);
            lock (started) peak = Math.Max(peak, now);
            await Task.Delay(50, ct);
            Interlocked.Decrement(ref running);
            return leaf.Node.Id == "gate" ? LeafOutcome.Fail("closed") : LeafOutcome.Pass();
        });
        RubricNode Slow(string id, bool crit = false) => RubricNode.Leaf(id, id, CheckSpec.Custom("slow"), crit);
        var tree = RubricTree.Compile(RubricNode.Group("root", "r",
            RubricNode.Group("free", "independent", Slow("a"), Slow("b"), Slow("c"), Slow("d")),
            RubricNode.Group("gated", "behind a gate", Slow("gate", true), Slow("e"), Slow("f"))), checks: reg);
        var r = await tree.ScoreAsync("", new RubricContext { MaxConcurrency = 4 }, Ct);
        Assert.True(peak >= 2, $"peak concurrency {peak}");
        Assert.DoesNotContain("e", started);
        Assert.Equal("gate", r["f"].SkippedBy);
        Assert.Equal(0.5, r.Score, 12);
    }

    [Fact]
    public async Task Custom_checks_are_registered_by_name_and_read_their_arguments()
    {
        var reg = new CheckRegistry();
        reg.Register("word-count-at-most", leaf => leaf.Answer.Split(' ', StringSplitOptions.RemoveEmptyEntries).Length <= leaf.Args.GetInt("max", required: true));
        var yaml = """
            root:
              id: r
              description: short
              check: {type: word-count-at-most, max: 3}
            """;
        var tree = RubricTree.FromYaml(yaml, reg);
        Assert.Equal(1, (await tree.ScoreAsync("one two three", null, Ct)).Score);
        Assert.Equal(0, (await tree.ScoreAsync("one two three four", null, Ct)).Score);
        // Unknown in another registry:
        var ex = Assert.Throws<QuestInputException>(() => RubricTree.FromYaml(yaml, new CheckRegistry(), "t.yaml"));
        Assert.Contains("unknown check type 'word-count-at-most'", ex.Message);
        Assert.Equal(4, ex.Line);
    }

    [Fact]
    public async Task A_throwing_custom_check_fails_its_leaf()
    {
        Func<LeafInput, bool> boom = _ => throw new InvalidOperationException("kaput");
        var reg = new CheckRegistry().Register("boom", boom);
        var r = await One(CheckSpec.Custom("boom"), "a", reg: reg);
        Assert.Equal(0, r.Score);
        Assert.Contains("kaput", r.Evidence);
    }

    [Fact]
    public async Task Many_answers_against_one_tree_reuse_the_compiled_checks()
    {
        var tree = RubricTree.Load(TestTrees.Example("list_partial_credit.yaml"), new CheckRegistry());
        var answers = new[]
        {
            "Mercury, Venus, Earth, Mars, Jupiter, Saturn, Uranus and Neptune.",
            "Mercury, Venus, Earth, Mars.",
            "Mars.",
            "Mercury, Venus, Earth, Mars, Jupiter, Saturn, Uranus, Neptune and Pluto.",
        };
        var reports = await tree.ScoreManyAsync(answers, null, Ct);
        Assert.Equal(1, reports[0].Score);
        // 4 planets: gate (≥3) passes; planets 4/8; coverage fails; no-pluto passes -> mean(0.5, 0, 1) = 0.5
        Assert.Equal(0.5, reports[1].Score, 12);
        Assert.Equal(0, reports[2].Score); // gate closed
        Assert.Equal(2.0 / 3, reports[3].Score, 12); // Pluto named
        Assert.Same(tree.CheckOf("mars"), tree.CheckOf("mars"));
    }

    [Fact]
    public void The_default_registry_is_read_only_so_no_load_changes_another()
    {
        Assert.True(CheckRegistry.Default.IsReadOnly);
        var e = Assert.Throws<InvalidOperationException>(() => CheckRegistry.Default.Register("mine", _ => true));
        Assert.Contains("register on a new CheckRegistry()", e.Message);
        Assert.False(CheckRegistry.Default.Contains("mine"));
        Assert.True(new CheckRegistry().Register("mine", _ => true).Contains("mine"));
    }
}
