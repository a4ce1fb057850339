using System.Text.Json;
using Quest.Core;
using Quest.Agent;
using Quest.Agent.Rollout;
using Quest.Models.Tokenization;
using Quest.Recipe;
using Quest.Synthesis;
using Xunit;
using Quest.World;

namespace Quest.Recipe.Tests;

/// <summary>A throw-away run directory.</summary>
public sealed class TempDir : IDisposable
{
    public string Path { get; } = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "quest-recipe-" + Guid.NewGuid().ToString("N")[..8]);
    public void Dispose() { try { Directory.Delete(Path, true); } catch (IOException) { } }
}

public class RecipeStageTests
{
    /// <summary>A recipe small enough for the default test run (stages 1-3 take seconds).</summary>
    private static RecipeOptions Mini(string dir) => RecipeOptions.Tiny with { OutDir = dir, WorldPages = 150, Tasks = 15, TestFraction = 0.3, CopyDrills = 300, CopyPhaseSteps = 10 };

    [Fact]
    public async Task Rl_worlds_are_generated_for_rl_alone_and_their_tasks_are_read_back_on_resume()
    {
        using var tmp = new TempDir();
        var o = Mini(tmp.Path) with { TaskWorlds = 3, RlWorlds = 2 };
        var p = new RecipePaths(tmp.Path);
        var tasks = await TaskWorlds.RlTasksAsync(o, p, ct: TestContext.Current.CancellationToken);
        Assert.NotEmpty(tasks);
        Assert.All(tasks, t => Assert.Equal("train", t.Split));
        Assert.Equal(["rl-world-0", "rl-world-1"], tasks.Select(t => t.Corpus).Distinct().Order());
        // their worlds are apart from every other world of the run, and each task's tools and reward come from its own
        Assert.NotEqual(TaskWorlds.RlSeedOf(o, 0), TaskWorlds.SeedOf(o, 0));
        Assert.NotEqual(TaskWorlds.RlSeedOf(o, 0), RecipeEval.FreshWorldSeed(o));
        using (var worlds = new TaskWorlds(o, p))
            foreach (var t in tasks.Take(3))
            {
                Assert.Equal(Path.Combine(p.RlWorlds, t.Corpus), TaskWorlds.DirOf(p, t.Corpus));
                Assert.Equal(t.Corpus, worlds.Of(t).Env.Graph.Name);
            }
        // a second call reads the stored tasks back instead of synthesizing again
        File.SetLastWriteTimeUtc(p.RlTasks, new DateTime(2020, 1, 1, 0, 0, 0, DateTimeKind.Utc));
        var again = await TaskWorlds.RlTasksAsync(o, p, ct: TestContext.Current.CancellationToken);
        Assert.Equal(tasks.Select(t => t.Id), again.Select(t => t.Id));
        Assert.Equal(2020, File.GetLastWriteTimeUtc(p.RlTasks).Year);
        Assert.Throws<QuestInputException>(() => (o with { RlWorlds = 17 }).Validate());
    }

    private static async Task<List<RecipeEvent>> Run(RecipeOptions o, IReadOnlyCollection<string>? stages, CancellationToken ct)
    {
        var events = new List<RecipeEvent>();
        await foreach (var e in Recipe.RunAsync(o, stages, ct)) events.Add(e);
        return events;
    }

    [Fact]
    public async Task World_synth_and_teacher_stages_write_verified_tasks_and_sft_transcripts_the_chat_template_reads()
    {
        using var tmp = new TempDir();
        var o = Mini(tmp.Path);
        var ct = TestContext.Current.CancellationToken;
        var events = await Run(o, ["world", "synth", "tokenizer", "teacher"], ct);
        var p = new RecipePaths(tmp.Path);

        Assert.Equal(["world", "synth", "tokenizer", "teacher"], events.Where(e => e.Kind == RecipeEventKind.Finished).Select(e => e.Stage));
        Assert.All(events, e => Assert.StartsWith("recipe ", e.ToString()));

        // tasks: both splits, several families, every one verified (reference 1.0, negatives below)
        var tasks = TaskFile.Read(p.Tasks);
        Assert.Contains(tasks, t => t.Split == "train");
        Assert.Contains(tasks, t => t.Split == "test");
        Assert.True(tasks.Select(t => t.Family).Distinct().Count() >= 4, string.Join(",", tasks.Select(t => t.Family)));
        using (var worlds = new TaskWorlds(o, p))   // each task verified in its own world (tiny draws tasks over several)
        {
            foreach (var t in tasks)
            {
                var verifier = worlds.Of(t).Synth.Verifier;
                Assert.Equal(1.0, await verifier.ScoreAnswerAsync(t, t.Reference.AnswerText, ct), 6);
                Assert.NotEmpty(t.Negatives);
                foreach (var n in t.Negatives) Assert.True(await verifier.ScoreAnswerAsync(t, n.Answer, ct) < 1.0, $"{t.Id}: negative '{n.Answer}' scored 1");
            }
        }

        // teacher: every kept trajectory scores 1.0 (a compact report at least TeacherMinOpenEndedReward), ended by an
        // answer, used the real tools, train tasks only
        var trajs = RolloutRunner.ReadTrajectories(p.TeacherTrajectories);
        var train = tasks.Where(t => t.Split == "train").Select(t => t.Id).ToHashSet();
        var family = tasks.ToDictionary(t => t.Id, t => t.Family);
        Assert.NotEmpty(trajs);
        Assert.All(trajs, t =>
        {
            if (family[t.TaskId] == "report") Assert.InRange(t.Reward!.Value, o.TeacherMinOpenEndedReward, 1.0);
            else Assert.Equal(1.0, t.Reward!.Value, 6);
            Assert.Equal(Termination.Answer, t.Termination);
            Assert.Contains(t.TaskId, train);
            Assert.True(t.ToolCalls.GetValueOrDefault("search") > 0);
        });
        var marker = JsonSerializer.Deserialize<StageRecord>(File.ReadAllText(p.Marker("teacher")), JsonFiles.Indented)!;
        Assert.Equal(trajs.Count, (int)marker.Metrics["kept"]);                 // only grounded trajectories at reward 1.0 are kept
        Assert.InRange(marker.Metrics["grounded_items_pct"], 50, 100);

        // SFT transcripts parse with the chat template: system, question, alternating turns, assistant last, protocol tags
        var transcripts = ChatTemplate.ReadTranscripts(p.SftTranscripts);
        Assert.Equal(trajs.Sum(t => t.Sessions.Count), transcripts.Count);
        foreach (var tr in transcripts)
        {
            Assert.Equal("system", tr[0].Role);
            Assert.Equal("user", tr[1].Role);
            Assert.Equal("assistant", tr[^1].Role);
            Assert.Contains("<answer>", tr[^1].Content);
            Assert.Contains(tr, m => m.Role == "user" && m.Content.StartsWith("<tool_response>"));
            var rendered = ChatTemplate.Render(tr);
            Assert.Equal(tr.Count, rendered.Split("<|im_start|>").Length - 1);
        }
        Assert.Equal(transcripts.Count, Quest.Synthesis.Export.ShareGpt.Read(p.ShareGpt).Count);

        // the teacher and the student see the same thing: at every kept turn, the text the teacher checked its turn against
        // is the prompt a rollout gives the model (LocalChatClient.Fit) and the prompt of the turn's SFT example, decoded;
        // and every URL the teacher visits is in that text
        var tok = TokenizerStage.Load(p);
        var view = ChatTemplate.View(tok, o.View);
        var teacher = new Quest.Synthesis.Teacher.GroundedTeacher([], (_, _, _) => throw new InvalidOperationException("not scored here"),
            new Quest.Synthesis.Teacher.GroundedTeacherOptions { View = view, Window = o.ContextTokens, ReplyTokens = o.EvalMaxNewTokens });
        using var student = new Quest.Models.Transformer.QuestTransformer(Quest.Models.Transformer.ModelConfig.Tiny(tok.VocabSize) with { MaxSeqLen = o.ContextTokens, View = o.View }, 1);
        var client = new Quest.Models.Generation.LocalChatClient(student, tok);
        var gen = new Quest.Models.Generation.GenerationOptions { MaxNewTokens = o.EvalMaxNewTokens };
        int checkedTurns = 0, visits = 0;
        foreach (var tr in transcripts.Take(12))
        {
            var examples = view.TrainingExamples(tr, o.ContextTokens, o.EvalMaxNewTokens).ToList();
            int k = 0;
            for (int i = 0; i < tr.Count; i++)
            {
                if (tr[i].Role != Roles.Assistant) continue;
                var history = tr.Take(i).Select(m => new Microsoft.Extensions.AI.ChatMessage(new Microsoft.Extensions.AI.ChatRole(m.Role), m.Content)).ToList();
                var seen = teacher.Visible(history);
                var prompt = client.Fit(history, gen).Prompt;
                Assert.Equal(tok.Decode(prompt), seen);
                var e = examples[k++];
                Assert.Equal(prompt, e.Ids[..Array.IndexOf(e.AssistantMask, true)]);
                if (ResponseParser.Parse(tr[i].Content).ToolCall is { Name: "visit" } call)
                    foreach (var u in Quest.World.Tools.ToolArgs.StringList(JsonSerializer.SerializeToElement(call.Arguments), "url")!)
                    {
                        Assert.Contains(u, seen);
                        visits++;
                    }
                checkedTurns++;
            }
        }
        Assert.True(checkedTurns > 10 && visits > 0, $"{checkedTurns} turns, {visits} visits checked");
    }

    [Fact]
    public async Task A_rerun_skips_finished_stages_and_other_options_are_refused()
    {
        using var tmp = new TempDir();
        var o = Mini(tmp.Path);
        var ct = TestContext.Current.CancellationToken;
        await Run(o, ["world", "synth"], ct);
        var tasksBefore = File.ReadAllText(new RecipePaths(tmp.Path).Tasks);
        var stamp = File.GetLastWriteTimeUtc(new RecipePaths(tmp.Path).Tasks);
        var again = await Run(o, ["world", "synth"], ct);
        Assert.All(again.Where(e => e.Kind != RecipeEventKind.Progress), e => Assert.Equal(RecipeEventKind.Skipped, e.Kind));
        Assert.Equal(tasksBefore, File.ReadAllText(new RecipePaths(tmp.Path).Tasks));
        Assert.Equal(stamp, File.GetLastWriteTimeUtc(new RecipePaths(tmp.Path).Tasks));
        await Assert.ThrowsAsync<Quest.Core.QuestInputException>(() => Run(o with { Seed = 2 }, ["world"], ct));
        await Assert.ThrowsAsync<Quest.Core.QuestInputException>(() => Run(o, ["nope"], ct));
    }

    [Fact]
    public async Task A_missing_or_damaged_summary_is_written_again_on_resume_and_a_damaged_recipe_json_is_named()
    {
        using var tmp = new TempDir();
        var o = Mini(tmp.Path);
        var ct = TestContext.Current.CancellationToken;
        await Run(o, ["world", "synth"], ct);
        var p = new RecipePaths(tmp.Path);
        // an eval stage that finished (its marker is there) whose summary.json was lost, then damaged
        Directory.CreateDirectory(p.Stages);
        File.WriteAllText(p.Marker("eval"), JsonSerializer.Serialize(new StageRecord { Stage = "eval", Seconds = 1, CompletedAt = DateTimeOffset.UtcNow }, Recipe.Json));
        var missing = Assert.Throws<QuestInputException>(() => RecipeSummary.Read(tmp.Path));
        Assert.Contains("summary.json", missing.Message);
        await Run(o, ["eval"], ct);
        Assert.NotNull(RecipeSummary.Read(tmp.Path).Options);
        File.WriteAllText(p.Summary, "{\"stages\": [garbage");
        var damaged = Assert.Throws<QuestInputException>(() => RecipeSummary.Read(tmp.Path));
        Assert.Contains("summary.json", damaged.Message);
        await Run(o, ["eval"], ct);
        Assert.NotNull(RecipeSummary.Read(tmp.Path).Options);
        // a damaged recipe.json is named as such, not as "other options"
        File.WriteAllText(p.OptionsFile, "{garbage");
        var bad = await Assert.ThrowsAsync<QuestInputException>(() => Run(o, ["eval"], ct));
        Assert.Contains("recipe.json is damaged", bad.Message);
    }

    [Fact]
    public async Task The_copy_phase_metrics_survive_a_kill_during_mid_training()
    {
        using var tmp = new TempDir();
        var o = Mini(tmp.Path) with { PretrainSteps = 6, PretrainBatch = 2 };
        var ct = TestContext.Current.CancellationToken;
        await Run(o, ["world", "synth", "tokenizer", "teacher", "pretrain"], ct);
        var p = new RecipePaths(tmp.Path);
        StageRecord Marker() => JsonSerializer.Deserialize<StageRecord>(File.ReadAllText(p.Marker("pretrain")), Recipe.Json)!;
        var first = Marker().Metrics;
        var copyKeys = first.Keys.Where(k => k == "copy_phase_steps" || k.EndsWith("_before") || k.EndsWith("_after_copy")).Order().ToList();
        Assert.True(copyKeys.Count >= 3, string.Join(", ", first.Keys));
        // killed after mid-training's last checkpoint, before its marker: the rerun resumes past the copy phase
        File.Delete(p.Marker("pretrain"));
        await Run(o, ["pretrain"], ct);
        var second = Marker().Metrics;
        foreach (var k in copyKeys) Assert.Equal(first[k], second[k]);
    }

    [Fact]
    public async Task With_page_worlds_mid_training_reads_no_page_of_the_task_world()
    {
        using var tmp = new TempDir();
        var o = Mini(tmp.Path) with { PageWorlds = 2, PretrainSteps = 4, PretrainBatch = 2, CopyPhaseSteps = 0 };
        var ct = TestContext.Current.CancellationToken;
        await Run(o, ["world", "synth", "tokenizer", "teacher", "pretrain"], ct);
        var p = new RecipePaths(tmp.Path);
        var docs = Jsonl.Read<System.Text.Json.Nodes.JsonObject>(p.PretrainDocs).Select(j => (string)j["text"]!).ToList();
        using var task = WorldEnvironment.Open(p.World);
        using var w0 = WorldEnvironment.Open(System.IO.Path.Combine(p.PageWorlds, "w0"));
        using var w1 = WorldEnvironment.Open(System.IO.Path.Combine(p.PageWorlds, "w1"));
        var pageDocs = docs.Where(d => d.StartsWith("# ", StringComparison.Ordinal)).ToHashSet();
        Assert.Equal(w0.Corpus.Count + w1.Corpus.Count, pageDocs.Count);
        Assert.DoesNotContain(task.Corpus, pg => pageDocs.Contains($"# {pg.Title}\n\n{pg.Text}"));
        Assert.Contains(w1.Corpus, pg => pageDocs.Contains($"# {pg.Title}\n\n{pg.Text}"));
        // the three worlds (and the probe's) are different worlds
        Assert.NotEqual(task.Corpus[0].Title, w0.Corpus[0].Title);
        Assert.NotEqual(w0.Corpus[0].Title, w1.Corpus[0].Title);
        Assert.True(Quest.World.Corpus.CorpusStore.IsCorpusDirectory(p.ProbeWorld));
        Assert.Throws<QuestInputException>(() => RecipeOptions.Override(o, ["page_worlds=-1"]).Validate());
        Assert.Equal(3, RecipeOptions.Override(o, ["page_worlds=3"]).PageWorlds);
        var unknown = Assert.Throws<QuestInputException>(() => RecipeOptions.Override(o, ["page_world=3"]));
        Assert.Contains("page_world", unknown.Message);
        Assert.Throws<QuestInputException>(() => RecipeOptions.Override(o, ["page_worlds=many"]));
    }

    [Fact]
    public async Task With_task_worlds_train_tasks_come_from_several_worlds_and_the_held_out_split_from_world_zero()
    {
        using var tmp = new TempDir();
        var o = Mini(tmp.Path) with { TaskWorlds = 3, Tasks = 24 };
        var ct = TestContext.Current.CancellationToken;
        await Run(o, ["world", "synth", "tokenizer", "teacher"], ct);
        var p = new RecipePaths(tmp.Path);
        var tasks = TaskFile.Read(p.Tasks);
        Assert.All(tasks.Where(t => t.Split == "test"), t => Assert.Equal(TaskWorlds.WorldZero, t.Corpus));
        Assert.Equal(3, tasks.Where(t => t.Split == "train").Select(t => t.Corpus).Distinct().Count());
        Assert.Equal(tasks.Count, tasks.Select(t => t.Id).Distinct().Count());   // ids carry the world's name
        // the teacher solved tasks of every world with that world's tools (its transcripts name their tasks)
        var taught = File.ReadLines(p.SftTranscripts).Select(l => (string)System.Text.Json.Nodes.JsonNode.Parse(l)!["task_id"]!).ToHashSet();
        var corpusOf = tasks.ToDictionary(t => t.Id, t => t.Corpus);
        Assert.Equal(3, taught.Select(id => corpusOf[id]).Distinct().Count());
        // each task's seed entity is a page of its own world
        using var w2 = WorldEnvironment.Open(System.IO.Path.Combine(p.TaskWorlds, TaskWorlds.NameOf(2)));
        var urls2 = w2.Corpus.Select(pg => pg.Url).ToHashSet();
        Assert.All(tasks.Where(t => t.Corpus == TaskWorlds.NameOf(2)), t => Assert.Contains(t.SeedEntity, urls2));
        // the eval's few train tasks come from world 0, whose tools it opens
        Assert.All(RecipeEval.Tasks(o, p), t => Assert.Equal(TaskWorlds.WorldZero, t.Corpus));
    }

    [Fact]
    public void Presets_validate_and_bad_sizes_are_refused()
    {
        Assert.Equal("tiny", RecipeOptions.FromPreset("tiny").Validate().Preset);
        Assert.Equal("long", RecipeOptions.FromPreset("Long").Validate().Preset);
        Assert.Contains("now called 'long'", Assert.Throws<QuestInputException>(() => RecipeOptions.FromPreset("small")).Message);
        Assert.Throws<Quest.Core.QuestInputException>(() => RecipeOptions.FromPreset("huge"));
        // One size dial: the tiny preset is depth 4 (every default of the record) and the sizes follow the depth.
        static string Json(RecipeOptions o) => System.Text.Json.JsonSerializer.Serialize(o with { OutDir = "x" }, JsonFiles.Indented);
        Assert.Equal(Json(new RecipeOptions() with { Preset = "d4" }), Json(RecipeOptions.ForDepth(4)));
        Assert.Equal(Json(RecipeOptions.Tiny with { Preset = "d4" }), Json(RecipeOptions.ForDepth(4)));
        // long is the tiny recipe with RL trained longer: the same model, world, tasks and SFT (its held-out split pairs with tiny's)
        Assert.Equal(Json(RecipeOptions.Tiny with { Preset = "long", RlSteps = RecipeOptions.Long.RlSteps }), Json(RecipeOptions.Long));
        Assert.True(RecipeOptions.Long.RlSteps > RecipeOptions.Tiny.RlSteps);
        var d6 = RecipeOptions.FromPreset("D6").Validate();
        Assert.Equal((6, "d6", 768, 384, 3072, 1800, 195), (d6.Depth, d6.Model, d6.ContextTokens, d6.PretrainSeqLen, d6.VocabSize, d6.PretrainSteps, d6.RlSteps));
        Assert.True(d6.PretrainLearningRate < RecipeOptions.Tiny.PretrainLearningRate);
        Assert.Equal(Quest.Models.Transformer.ModelConfig.Tiny(2048), Quest.Models.Transformer.ModelConfig.FromPreset("d4", 2048));
        Assert.Equal((6, 192, 6, 3), Quest.Models.Transformer.ModelConfig.FromPreset("d6", 2048) is var m ? (m.Layers, m.DModel, m.Heads, m.KvHeads) : default);
        // every depth of the dial is a valid model and recipe (odd depths too: d5 once had 5 heads over 2 kv heads)
        for (int d = 3; d <= 16; d++)
        {
            var o = RecipeOptions.ForDepth(d).Validate();
            var cfg = Quest.Models.Transformer.ModelConfig.FromPreset(o.Model, o.VocabSize) with { MaxSeqLen = o.ContextTokens };
            cfg.Validate();
            Assert.True(cfg.KvHeads <= cfg.Heads && cfg.Heads % cfg.KvHeads == 0);
        }
        Assert.Equal(5, RecipeOptions.FromPreset("d5").Depth);
        Assert.Throws<Quest.Core.QuestInputException>(() => RecipeOptions.FromPreset("d2"));
        Assert.Throws<Quest.Core.QuestInputException>(() => RecipeOptions.FromPreset("dx"));
        Assert.Throws<Quest.Core.QuestInputException>(() => (RecipeOptions.Tiny with { PretrainSeqLen = 4096 }).Validate());
        Assert.Throws<Quest.Core.QuestInputException>(() => (RecipeOptions.Tiny with { EvalMaxNewTokens = 400 }).Validate());
        Assert.Throws<Quest.Core.QuestInputException>(() => (RecipeOptions.Tiny with { RlMiniBatches = 0 }).Validate());
        var e = Assert.Throws<Quest.Core.QuestInputException>(() => (RecipeOptions.Tiny with { Precision = "fp16" }).Validate());
        Assert.Contains("precision 'fp16'", e.Message);
        Assert.Equal("auto", RecipeOptions.Tiny.Precision);
    }

    [Fact]
    public void The_rl_stage_takes_its_update_settings_from_the_recipe_options()
    {
        var paths = new RecipePaths("run");
        var tiny = RlStage.OptionsOf(RecipeOptions.Tiny, paths);
        Assert.False(tiny.Grpo.ScaleByStd);                      // the recipe's measured choice (Dr. GRPO), not GrpoOptions' QUEST default
        Assert.True(new Quest.Models.Training.GrpoOptions().ScaleByStd);
        Assert.Equal((RecipeOptions.Tiny.RlLearningRate, RecipeOptions.Tiny.RlMiniBatches, RecipeOptions.Tiny.RlSteps), (tiny.Grpo.LearningRate, tiny.Grpo.MiniBatches, tiny.Steps));
        var other = RlStage.OptionsOf(RecipeOptions.Tiny with { RlScaleByStd = true, RlMiniBatches = 4, RlLearningRate = 1e-4, RlTemperature = 0.6 }, paths);
        Assert.Equal((true, 4, 1e-4, 0.6), (other.Grpo.ScaleByStd, other.Grpo.MiniBatches, other.Grpo.LearningRate, other.Temperature));
        Assert.Throws<QuestInputException>(() => (RecipeOptions.Tiny with { RlTemperature = 0 }).Validate());
        Assert.Equal(paths.Rl, other.OutputDir);
        // RL's update multiplies in the recipe's precision (bf16 where the CPU has it, as mid-training)
        Assert.Equal("bf16", RlStage.OptionsOf(RecipeOptions.Tiny with { Precision = "bf16" }, paths).Grpo.Precision);
        Assert.Equal(RecipeOptions.Tiny.Precision, tiny.Grpo.Precision);
        Assert.Equal(RecipeOptions.Tiny.RlKeepGroups, tiny.KeepGroups);
        Assert.Equal(0.25, RlStage.OptionsOf(RecipeOptions.Tiny with { RlKeepGroups = 0.25 }, paths).KeepGroups);
        Assert.Contains("rl_keep_groups 0", Assert.Throws<QuestInputException>(() => (RecipeOptions.Tiny with { RlKeepGroups = 0 }).Validate()).Message);
        Assert.Throws<QuestInputException>(() => new RlOptions { KeepGroups = 1.5 }.Validate());
    }

    [Fact]
    public void The_update_keeps_the_groups_with_the_largest_reward_spread()
    {
        RolloutGroup G(string id, params double[] r) => new(new SynthTask { Id = id, Question = "q" }, [], [], r);
        var groups = new[] { G("flat", 0.5, 0.5, 0.5, 0.5), G("wide", 0, 1, 0, 1), G("narrow", 0.4, 0.5, 0.4, 0.5), G("mid", 0, 0.5, 0, 0.5) };
        Assert.Equal(["mid", "wide"], RlTrainer.KeptGroups(groups, 0.5).Order());
        Assert.Equal(["wide"], RlTrainer.KeptGroups(groups, 0.25).Order());
        Assert.Equal(["wide"], RlTrainer.KeptGroups(groups, 0.01).Order());          // at least one group
        Assert.Equal(4, RlTrainer.KeptGroups(groups, 1.0).Count);
        // ties keep rollout order
        var tied = new[] { G("a", 0, 1), G("b", 0, 1), G("c", 0, 1) };
        Assert.Equal(["a", "b"], RlTrainer.KeptGroups(tied, 0.5).Order());
        // with a greedy rollout the spread is around its reward: a group that all agrees but beat the greedy rollout by
        // 0.8 outranks one that spreads by 0.5 around a greedy reward in its middle
        var greedy = new[] { G("agree", 0.8, 0.8, 0.8, 0.8) with { GreedyReward = 0 }, G("spread", 0, 1, 0, 1) with { GreedyReward = 0.5 }, G("same", 0.3, 0.3) with { GreedyReward = 0.3 } };
        Assert.Equal(0.8, RlTrainer.Spread(greedy[0]), 9);
        Assert.Equal(0.5, RlTrainer.Spread(greedy[1]), 9);
        Assert.Equal(0, RlTrainer.Spread(greedy[2]));
        Assert.Equal(["agree"], RlTrainer.KeptGroups(greedy, 0.25).Order());
    }

    [Fact]
    public void A_share_of_train_entities_is_kept_for_rl_every_task_of_an_entity_alike_and_test_tasks_never()
    {
        Assert.Equal(0, RecipeOptions.Tiny.RlTaskFraction);                                         // off unless asked for
        var o = RecipeOptions.Tiny with { RlTaskFraction = 0.15 };
        var entities = Enumerable.Range(0, 4000).Select(i => $"https://world.quest/wiki/E{i}").ToList();
        var tasks = entities.SelectMany(e => new[] { "multihop", "report" }.Select(f => new SynthTask { Id = $"{f}-{e}", Family = f, SeedEntity = e, Split = "train" })).ToList();
        var reserved = tasks.Where(t => Recipe.IsRlTask(o, t)).ToList();
        double share = reserved.Count / (double)tasks.Count;
        Assert.InRange(share, 0.12, 0.18);                                                         // the 0.15 asked for
        Assert.All(reserved.GroupBy(t => t.SeedEntity), g => Assert.Equal(2, g.Count()));           // an entity's tasks go together
        Assert.DoesNotContain(tasks, t => Recipe.IsRlTask(o, t with { Split = "test" }));
        Assert.DoesNotContain(tasks, t => Recipe.IsRlTask(o with { RlTaskFraction = 0 }, t));
        // another run seed reserves other entities; the test split's hash (the same function, unsalted) is not this one
        Assert.NotEqual(reserved.Select(t => t.Id), tasks.Where(t => Recipe.IsRlTask(o with { Seed = 2 }, t)).Select(t => t.Id));
        var test = entities.Where(e => Quest.Synthesis.Synthesizer.IsTestSeed(e, o.Seed, 0.15)).ToHashSet();
        Assert.NotEqual(test, reserved.Select(t => t.SeedEntity).ToHashSet());
        Assert.Throws<Quest.Core.QuestInputException>(() => (o with { RlTaskFraction = 1 }).Validate());
    }
}
