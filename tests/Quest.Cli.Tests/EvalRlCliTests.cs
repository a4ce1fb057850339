using System.CommandLine;
using System.Text.Json;
using Quest.World;
using Quest.Cli.Commands;
using Quest.Models.Checkpoints;
using Quest.Models.Generation;
using Quest.Models.Tokenization;
using Quest.Models.Transformer;
using Quest.Synthesis;
using Xunit;

namespace Quest.Cli.Tests;

/// <summary>`quest eval`, `quest train rl` and `quest bench rollout` in-process, on a tiny world and an untrained checkpoint.</summary>
public class EvalRlCliTests
{
    private static async Task<(int Code, string Out, string Err)> Run(params string[] args)
    {
        var root = new RootCommand("test");
        root.Subcommands.Add(TrainCommands.Create());
        root.Subcommands.Add(EvalCommands.Create());
        root.Subcommands.Add(BenchCommands.Create());
        var o = new StringWriter(); var e = new StringWriter();
        int code = await root.Parse(args).InvokeAsync(new InvocationConfiguration { Output = o, Error = e }, TestContext.Current.CancellationToken);
        return (code, o.ToString(), e.ToString());
    }

    /// <summary>A task file on world-tiny and an untrained Tiny-shaped checkpoint with the question_recent view.</summary>
    private static async Task<(string Dir, string Tasks, string Ckpt, List<SynthTask> All)> Setup()
    {
        var dir = Path.Combine(Path.GetTempPath(), "quest-eval-cli-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(dir);
        using var sc = WorldEnvironment.Open("world-tiny");
        var r = await new Synthesizer(sc.Graph).RunAsync(new SynthesisOptions { Count = 10, Seed = 2, TestFraction = 0.4 }, null, TestContext.Current.CancellationToken);
        var tasks = Path.Combine(dir, "tasks.jsonl");
        TaskFile.Write(tasks, r.Tasks);
        var tok = BpeTrainer.Train(sc.Corpus.Take(60).Select(p => p.Text), new BpeTrainerOptions { VocabSize = 400 });
        using var m = new QuestTransformer(new ModelConfig { VocabSize = tok.VocabSize, Layers = 1, DModel = 32, Heads = 2, KvHeads = 1, Ffn = 64, MaxSeqLen = 192, View = Quest.Core.AgentView.QuestionRecent }, 1);
        var ckpt = Path.Combine(dir, "ckpt");
        Checkpoint.Save(ckpt, m, tok);
        return (dir, tasks, ckpt, [.. r.Tasks]);
    }

    [Fact]
    public async Task Eval_scores_every_task_by_family_and_complexity_and_resumes()
    {
        var (dir, tasks, ckpt, all) = await Setup();
        var outDir = Path.Combine(dir, "eval");
        string[] args = ["eval", "--tasks", tasks, "--policy", "local:" + ckpt, "--corpus", "world-tiny", "--out", outDir, "--max-turns", "2", "--max-tokens", "12", "--samples", "2", "--temperature", "1"];
        var (code, output, err) = await Run(args);
        Assert.True(code == 0, err + output);
        var lines = File.ReadAllLines(Path.Combine(outDir, "trajectories.jsonl"));
        Assert.Equal(all.Count * 2, lines.Length);                                     // k = 2 samples of every task
        using var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(outDir, "eval.json")));
        var rows = doc.RootElement.GetProperty("rows").EnumerateArray().ToList();
        var allRow = rows.Single(r => r.GetProperty("group").GetString() == "all");
        Assert.Equal(all.Count, allRow.GetProperty("tasks").GetInt32());
        Assert.Equal(all.Count * 2, allRow.GetProperty("n").GetInt32());
        foreach (var f in all.Select(t => t.Family).Distinct()) Assert.Contains(rows, r => r.GetProperty("group").GetString() == "family:" + f);
        foreach (var c in all.Select(t => t.Complexity).Distinct()) Assert.Contains(rows, r => r.GetProperty("group").GetString() == "complexity:" + c);
        Assert.Contains("pass@k", output);
        // a re-run resumes: nothing is rolled out again or duplicated
        var (code2, _, err2) = await Run(args);
        Assert.True(code2 == 0, err2);
        Assert.Equal(lines.Length, File.ReadAllLines(Path.Combine(outDir, "trajectories.jsonl")).Length);
        // --baseline: the paired difference against an earlier eval on the same tasks (greedy here, so against itself: 0)
        var greedy = Path.Combine(dir, "greedy");
        string[] g = ["eval", "--tasks", tasks, "--policy", "local:" + ckpt, "--corpus", "world-tiny", "--max-turns", "2", "--max-tokens", "12"];
        Assert.Equal(0, (await Run([.. g, "--out", greedy])).Item1);
        var (code3, out3, err3) = await Run([.. g, "--out", Path.Combine(dir, "greedy2"), "--baseline", greedy]);
        Assert.True(code3 == 0, err3);
        Assert.Contains("95% CI", out3);
        using (var d3 = JsonDocument.Parse(File.ReadAllText(Path.Combine(dir, "greedy2", "eval.json"))))
        {
            var b = d3.RootElement.GetProperty("baseline");
            Assert.Equal(all.Count, b.GetProperty("tasks").GetInt32());
            Assert.Equal(0, b.GetProperty("mean_diff").GetDouble(), 9);
        }
        var (bad3, _, badErr3) = await Run([.. g, "--out", Path.Combine(dir, "greedy3"), "--baseline", Path.Combine(dir, "nowhere")]);
        Assert.Equal(2, bad3);
        Assert.Contains("nowhere", badErr3);
        // bad input: exit 2 with the path
        var (bad, _, badErr) = await Run("eval", "--tasks", tasks, "--policy", "local:" + Path.Combine(dir, "nope"), "--corpus", "world-tiny", "--out", outDir);
        Assert.Equal(2, bad);
        Assert.Contains("nope", badErr);
        var (bad2, _, _) = await Run("eval", "--tasks", tasks, "--policy", "local:" + ckpt, "--corpus", "world-tiny", "--out", outDir, "--samples", "0");
        Assert.Equal(2, bad2);
    }

    [Fact]
    public async Task Eval_against_a_dead_endpoint_fails_before_any_episode()
    {
        var (dir, tasks, _, _) = await Setup();
        // nothing listens on port 1: the probe fails at once, no episode is written, and the exit code says so
        foreach (var spec in new[] { "http://127.0.0.1:1", "openai:http://127.0.0.1:1/v1#served" })
        {
            var outDir = Path.Combine(dir, "dead-" + spec.Length);
            var (code, output, err) = await Run("eval", "--tasks", tasks, "--policy", spec, "--corpus", "world-tiny", "--out", outDir);
            Assert.True(code == 1, $"exit {code}: {err}{output}");
            Assert.Contains("could not be reached", err);
            Assert.Contains("127.0.0.1:1", err);
            Assert.False(File.Exists(Path.Combine(outDir, "trajectories.jsonl")));
            Assert.False(File.Exists(Path.Combine(outDir, "eval.json")));
            Assert.DoesNotContain("reward", output);
        }
        // an empty model name after '#' is bad input, named
        var (empty, _, emptyErr) = await Run("eval", "--tasks", tasks, "--policy", "openai:http://127.0.0.1:1/v1#", "--corpus", "world-tiny", "--out", Path.Combine(dir, "e"));
        Assert.Equal(2, empty);
        Assert.Contains("empty model name", emptyErr);
    }

    [Fact]
    public async Task Eval_leaves_episodes_that_could_not_run_out_of_the_means_and_exits_non_zero()
    {
        var (dir, tasks, _, all) = await Setup();
        // a scripted policy whose script is one answer for the first question only: every other episode's policy throws
        var script = Path.Combine(dir, "script.jsonl");
        File.WriteAllText(script, JsonSerializer.Serialize(new { question = all[0].Question, turns = new[] { "<answer>" + all[0].Answer + "</answer>" } }) + "\n");
        var outDir = Path.Combine(dir, "half");
        var (code, output, err) = await Run("eval", "--tasks", tasks, "--policy", "scripted:" + script, "--corpus", "world-tiny", "--out", outDir);
        Assert.True(code == 1, $"exit {code}: {err}");
        Assert.Contains($"{all.Count - 1} of {all.Count} episodes could not be run", err);
        using var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(outDir, "eval.json")));
        var allRow = doc.RootElement.GetProperty("rows").EnumerateArray().Single(r => r.GetProperty("group").GetString() == "all");
        Assert.Equal(1, allRow.GetProperty("n").GetInt32());                      // only the episode that ran is measured
        Assert.Equal(all.Count - 1, allRow.GetProperty("policy_errors").GetInt32());
        // the mean is that one episode's reward, not diluted by the failures
        var ran = File.ReadAllLines(Path.Combine(outDir, "trajectories.jsonl")).Select(l => JsonDocument.Parse(l).RootElement)
            .Single(t => t.GetProperty("termination").GetString() != "policy_error");
        Assert.Equal(ran.GetProperty("reward").GetDouble(), allRow.GetProperty("mean_reward").GetDouble(), 9);
        Assert.Contains("no_run", output);
    }

    [Fact]
    public async Task Train_rl_prints_one_line_per_step_and_resumes_from_its_checkpoint()
    {
        var (dir, tasks, ckpt, _) = await Setup();
        var outDir = Path.Combine(dir, "rl");
        string[] args = ["train", "rl", "--init", ckpt, "--tasks", tasks, "--corpus", "world-tiny", "--output", outDir, "--prompts", "2", "--group-size", "2", "--max-turns", "2", "--max-tokens", "12", "--device", "cpu", "--seed", "5"];
        var (badT, _, errT) = await Run([.. args, "--steps", "2", "--temperature", "0", "--no-std"]);   // the flags reach the options' validation
        Assert.Equal(2, badT);
        Assert.Contains("temperature 0", errT);
        var (badM, _, errM) = await Run([.. args, "--steps", "2", "--mini-batches", "0"]);
        Assert.Equal(2, badM);
        Assert.Contains("mini_batches 0", errM);
        var (badP, _, errP) = await Run([.. args, "--steps", "2", "--precision", "half"]);
        Assert.Equal(2, badP);
        Assert.Contains("precision 'half'", errP);
        var (code, output, err) = await Run([.. args, "--steps", "2"]);
        Assert.True(code == 0, err + output);
        var steps = output.Split('\n').Where(l => l.StartsWith("rl step")).ToList();
        Assert.Equal(2, steps.Count);
        Assert.Matches(@"^rl step 1/2 reward \d\.\d{3} zero_var \d\.\d{2} valid \d\.\d{2} answer \d\.\d{2} gen_tok +\d+ gnorm \d+\.\d{3} entropy \d+\.\d{3} clip_fraction \d\.\d{3} lr ", steps[0]);
        Assert.True(Checkpoint.Exists(outDir));
        Assert.Equal(Quest.Core.AgentView.QuestionRecent, Checkpoint.Load(outDir).Model.Config.View);        // the view travels with the policy
        var (code2, output2, err2) = await Run([.. args, "--steps", "3", "--precision", "bf16"]);   // a resumed stage may change the update's precision
        Assert.True(code2 == 0, err2 + output2);
        Assert.Contains("resuming from", output2);
        Assert.Equal(["rl step 3/3"], output2.Split('\n').Where(l => l.StartsWith("rl step")).Select(l => l[..11]));
        var metrics = File.ReadAllLines(Path.Combine(outDir, Checkpoint.MetricsFile)).Select(l => JsonDocument.Parse(l).RootElement.GetProperty("step").GetInt32());
        Assert.Equal([1, 2, 3], metrics);
        var (bad, _, badErr) = await Run("train", "rl", "--init", ckpt, "--tasks", tasks, "--corpus", "world-tiny", "--output", Path.Combine(dir, "rl2"), "--group-size", "1");
        Assert.Equal(2, bad);
        Assert.Contains("group_size", badErr);
        // self-critical: one greedy rollout per task beside each group, its mean on the line and in the metrics
        var scstDir = Path.Combine(dir, "rl-scst");
        var (code3, output3, err3) = await Run(["train", "rl", "--init", ckpt, "--tasks", tasks, "--corpus", "world-tiny", "--output", scstDir, "--prompts", "2", "--group-size", "2",
            "--max-turns", "2", "--max-tokens", "12", "--device", "cpu", "--seed", "5", "--steps", "1", "--advantage", "scst"]);
        Assert.True(code3 == 0, err3 + output3);
        Assert.Matches(@"^rl step 1/1 reward \d\.\d{3} greedy \d\.\d{3} zero_var ", output3.Split('\n').Single(l => l.StartsWith("rl step")));
        Assert.True(JsonDocument.Parse(File.ReadAllLines(Path.Combine(scstDir, Checkpoint.MetricsFile))[0]).RootElement.TryGetProperty("greedy_reward_mean", out var g) && g.ValueKind == JsonValueKind.Number);
        Assert.DoesNotContain("greedy", steps[0]);                                                       // other estimators roll out no greedy episode
    }

    [Fact]
    public async Task Bench_rollout_prints_one_json_line()
    {
        var (_, tasks, ckpt, _) = await Setup();
        var (code, output, err) = await Run("bench", "rollout", "--corpus", "world-tiny", "--tasks", tasks, "--init", ckpt, "--group-size", "2", "--max-turns", "1", "--max-tokens", "8", "--device", "cpu");
        Assert.True(code == 0, err + output);
        using var doc = JsonDocument.Parse(output.Trim());
        foreach (var key in new[] { "batched_episodes_per_s", "sequential_episodes_per_s", "speedup", "rl_step_rollout_s", "rl_step_update_s", "update_passes_s", "update_passes_full_logits_s" })
            Assert.True(doc.RootElement.TryGetProperty(key, out _), key);
        Assert.Equal(2, doc.RootElement.GetProperty("episodes").GetInt32());
        // the generation split: every sampled token is one the update trains on; each prompt is prefilled once
        var root = doc.RootElement;
        Assert.Equal(root.GetProperty("rl_step_tokens").GetInt64(), root.GetProperty("batched_generated_tokens").GetInt64());
        Assert.InRange(root.GetProperty("batched_generate_calls").GetInt32(), 1, root.GetProperty("rl_step_rows").GetInt32());
        Assert.True(root.GetProperty("batched_prompt_tokens").GetInt64() > 0);
        // every prompt token is computed (padding may add positions) or taken from a kept earlier prompt
        Assert.True(root.GetProperty("batched_prefill_positions").GetInt64() + root.GetProperty("batched_reused_prompt_tokens").GetInt64() >= root.GetProperty("batched_prompt_tokens").GetInt64());
        Assert.True(root.GetProperty("batched_whole_prompts_prefill_positions").GetInt64() >= root.GetProperty("batched_whole_prompts_prompt_tokens").GetInt64());
        Assert.True(root.GetProperty("batched_prefill_s").GetDouble() >= 0 && root.GetProperty("sequential_prefill_s").GetDouble() >= 0);
    }
}
