using System.Diagnostics;
using System.Text.Json.Nodes;
using Quest.Eval;
using Quest.Models.Checkpoints;
using Quest.Models.Runtime;
using Quest.Models.Tokenization;
using Quest.Models.Training;
using Quest.Models.Transformer;
using Quest.Synthesis;
using Quest.World;
using Quest.World.Tools;
using TorchSharp;

namespace Quest.Recipe;

/// <summary>
/// <c>quest bench rollout</c>: agent rollouts per second for GRPO groups (8 rollouts sharing one prompt) decoded
/// together vs one at a time, and one RL step's time split (rollout vs update). Timings live here, never in tests.
/// </summary>
public static class RolloutBenchmark
{
    /// <summary>
    /// Runs the benchmark on the first <paramref name="groups"/> tasks of <paramref name="tasksFile"/> (or synthesized) over <paramref name="corpus"/> with the model in
    /// <paramref name="checkpoint"/> (null: a fresh Tiny model with a tokenizer trained on the corpus, which writes
    /// every turn to the token limit: a worst case of equal length). <paramref name="view"/> rolls the model out under
    /// another agent view than its own (how much of each prompt the last turn's keys and values cover depends on it).
    /// Returns one JSON object.
    /// </summary>
    public static async Task<JsonObject> RunAsync(string corpus, string? tasksFile, string? checkpoint, int groups, int groupSize, int maxTurns, int maxNewTokens,
        string device, CancellationToken ct = default, string? view = null)
    {
        using var sc = WorldEnvironment.Open(corpus);
        var tools = sc.ToolsSized(ToolSizes.SmallWindow);
        var reward = new Synthesizer(sc.Graph).Verifier.Reward;
        List<SynthTask> tasks;
        if (tasksFile is not null) tasks = TaskFile.Read(tasksFile).Take(groups).ToList();
        else tasks = [.. (await new Synthesizer(sc.Graph).RunAsync(new SynthesisOptions { Count = Math.Max(5, groups), Seed = 3 }, null, ct).ConfigureAwait(false)).Tasks.Take(groups)];
        if (tasks.Count == 0) throw new Quest.Core.QuestInputException(tasksFile ?? corpus, null, null, "no tasks to roll out", "a task file or a corpus tasks can be synthesized on");
        var dev = TorchRuntime.ResolveDevice(device);
        LoadedModel model;
        if (checkpoint is not null) model = Checkpoint.Load(checkpoint, dev);
        else
        {
            var tok = BpeTrainer.Train(sc.Corpus.Take(200).Select(p => p.Text), new BpeTrainerOptions { VocabSize = 1024 });
            var cfg = ModelConfig.Tiny(tok.VocabSize) with { MaxSeqLen = 384, View = Quest.Core.AgentView.QuestionRecent };
            model = new LoadedModel(new QuestTransformer(cfg, 1), tok, "");
        }
        if (view is not null && view != model.Model.Config.View)
        {
            var other = new QuestTransformer(model.Model.Config with { View = view }, 1);
            other.load_state_dict(model.Model.state_dict());
            other.to(dev);
            model = model with { Model = other };
        }
        var agent = Evaluation.AgentOptionsFor(maxTurns, maxNewTokens, 1.0, new DateOnly(2026, 1, 1), "bench");

        // warm-up (allocator, JIT, the kernels of every shape): a whole batched rollout, so the variants below compare
        // like with like (a first rollout after a small warm-up measured 1.7× slower in prefill than the same one next)
        await RlTrainer.RolloutGroupsAsync(model, tasks, groupSize, tools, reward, agent, ct).ConfigureAwait(false);

        // the same batched rollout computing every prompt whole (no keys and values taken from the turn before)
        Models.Generation.GenerationStats? gsWhole = null;
        var sw = Stopwatch.StartNew();
        await RlTrainer.RolloutGroupsAsync(model, tasks, groupSize, _ => (tools, reward), agent, ct, s => gsWhole = s, reusePrefixes: false).ConfigureAwait(false);
        double wholeS = sw.Elapsed.TotalSeconds;

        sw.Restart();
        Models.Generation.GenerationStats? gs = null;
        var batched = await RlTrainer.RolloutGroupsAsync(model, tasks, groupSize, tools, reward, agent, ct, s => gs = s).ConfigureAwait(false);
        double batchedS = sw.Elapsed.TotalSeconds;
        long batchedTokens = batched.SelectMany(g => g.Turns).SelectMany(t => t).Sum(t => (long)t.TokenIds.Length);
        int episodes = batched.Sum(g => g.Trajectories.Count);

        // the same batched rollout with rows of one length prefilled unmasked (GenerationOptions.PrefillUnmaskedRuns); sampled
        // episodes differ, so compare positions per second
        Models.Generation.GenerationStats? gsUnmasked = null;
        await RlTrainer.RolloutGroupsAsync(model, tasks, groupSize, _ => (tools, reward), agent, ct, s => gsUnmasked = s, prefillUnmaskedRuns: true).ConfigureAwait(false);

        sw.Restart();
        long seqTokens = 0, seqPrefillPositions = 0;
        double seqPrefillS = 0, seqDecodeS = 0;
        foreach (var t in tasks)
            for (int k = 0; k < groupSize; k++)
            {
                var one = await RlTrainer.RolloutGroupsAsync(model, [t], 1, tools, reward, agent, ct,
                    s => { seqPrefillS += s.PrefillSeconds; seqDecodeS += s.DecodeSeconds; seqPrefillPositions += s.PrefillPositions; }).ConfigureAwait(false);
                seqTokens += one.SelectMany(g => g.Turns).SelectMany(x => x).Sum(x => (long)x.TokenIds.Length);
            }
        double seqS = sw.Elapsed.TotalSeconds;

        // one RL step: the batched rollout above, then the update on its rows (advantages forced non-zero so it trains)
        var (rows, _) = RlTrainer.Rows(batched, AdvantageEstimators.Create("grpo", scaleByStd: true));
        var live = rows.Select((r, i) => r with { Advantage = i % 2 == 0 ? 1 : -1 }).ToList();
        using var updater = new GrpoUpdater(model.Model, new GrpoOptions());
        var go = updater.Options;
        int pad = Math.Max(0, model.Tokenizer.EndOfTextId);
        sw.Restart();
        var u = updater.Update(live, 1e-5, pad);
        double updateS = sw.Elapsed.TotalSeconds;
        // the same rows' forward and backward passes (no optimizer step), the fast path against the plain formulation
        double Passes(bool fast)
        {
            var t = Stopwatch.StartNew();
            var chunks = fast ? Grpo.MicroBatches(live, go.MicroBatch) : live.Chunk(go.MicroBatch).Select(c => c.ToList()).ToList();
            foreach (var c in chunks)
            {
                using var scope = torch.NewDisposeScope();
                (fast ? Grpo.MicroBatchLoss(model.Model, c, pad, go.ClipLow, go.ClipHigh).LossSum : Grpo.ReferenceMicroBatchLoss(model.Model, c, pad, go.ClipLow, go.ClipHigh)).backward();
            }
            model.Model.zero_grad();
            return t.Elapsed.TotalSeconds;
        }
        // on the torch thread, where the recipe's update runs (see TorchThread)
        double referenceS = TorchThread.Run(() => Passes(false)), fastS = TorchThread.Run(() => Passes(true));
        // the fast passes with bfloat16 products (RL's update runs in the recipe's precision, bf16 where the CPU has it),
        // interleaved with two more float32 ones; each is reported as its best run
        double bf16S = double.MaxValue;
        for (int rep = 0; rep < 2; rep++)
        {
            bf16S = Math.Min(bf16S, TorchThread.Run(() => { using var p = model.Model.UsePrecision(Precision.BFloat16, dev); return Passes(true); }));
            fastS = Math.Min(fastS, TorchThread.Run(() => Passes(true)));
        }

        return new JsonObject
        {
            ["bench"] = "rollout",
            ["model"] = model.Model.Config.ToString(),
            ["groups"] = tasks.Count, ["group_size"] = groupSize, ["max_turns"] = maxTurns, ["max_new_tokens"] = maxNewTokens,
            ["episodes"] = episodes,
            ["batched_s"] = Math.Round(batchedS, 2),
            ["batched_episodes_per_s"] = Math.Round(episodes / batchedS, 3),
            ["batched_tokens_per_s"] = Math.Round(batchedTokens / batchedS, 0),
            ["sequential_s"] = Math.Round(seqS, 2),
            ["sequential_episodes_per_s"] = Math.Round(episodes / seqS, 3),
            ["sequential_tokens_per_s"] = Math.Round(seqTokens / seqS, 0),
            ["speedup"] = Math.Round(seqS / batchedS * ((double)batchedTokens / Math.Max(1, seqTokens)), 2),
            // where the batched rollout's generation time went: prompts are hundreds of tokens, replies tens
            ["batched_generate_calls"] = gs!.Calls,
            ["batched_prefill_s"] = Math.Round(gs.PrefillSeconds, 2),
            ["batched_prefill_positions"] = gs.PrefillPositions,
            ["batched_prompt_tokens"] = gs.PromptTokens,
            ["batched_shared_prefill_rows"] = gs.SharedPrefillRows,
            // prompt tokens whose keys and values came from the turn before (an agent's next prompt starts with its last),
            // and the same rollout with every prompt computed whole (sampled episodes differ: compare per prompt token)
            ["batched_reused_prompt_tokens"] = gs.ReusedPromptTokens,
            ["batched_prefill_prompt_tokens_per_s_whole"] = Math.Round(gsWhole!.PromptTokens / Math.Max(1e-9, gsWhole.PrefillSeconds), 0),
            ["batched_whole_prompts_s"] = Math.Round(wholeS, 2),
            ["batched_whole_prompts_prefill_s"] = Math.Round(gsWhole.PrefillSeconds, 2),
            ["batched_whole_prompts_prefill_positions"] = gsWhole.PrefillPositions,
            ["batched_whole_prompts_prompt_tokens"] = gsWhole.PromptTokens,
            ["batched_decode_s"] = Math.Round(gs.DecodeSeconds, 2),
            ["batched_decode_steps"] = gs.DecodeSteps,
            ["batched_decode_rows"] = gs.DecodeRows,
            ["batched_generated_tokens"] = gs.GeneratedTokens,
            ["sequential_prefill_s"] = Math.Round(seqPrefillS, 2),
            ["sequential_prefill_positions"] = seqPrefillPositions,
            // prefill positions per second, side by side (goal: batched at least as fast per position as one at a time)
            ["batched_prefill_positions_per_s"] = Math.Round(gs.PrefillPositions / Math.Max(1e-9, gs.PrefillSeconds), 0),
            ["batched_unmasked_prefill_positions_per_s"] = Math.Round(gsUnmasked!.PrefillPositions / Math.Max(1e-9, gsUnmasked.PrefillSeconds), 0),
            ["sequential_prefill_positions_per_s"] = Math.Round(seqPrefillPositions / Math.Max(1e-9, seqPrefillS), 0),
            // prompt tokens per second of prefill (padding computed or not, shared prompts counted once per row)
            ["batched_prefill_prompt_tokens_per_s"] = Math.Round(gs.PromptTokens / Math.Max(1e-9, gs.PrefillSeconds), 0),
            ["batched_unmasked_prefill_prompt_tokens_per_s"] = Math.Round(gsUnmasked.PromptTokens / Math.Max(1e-9, gsUnmasked.PrefillSeconds), 0),
            ["sequential_decode_s"] = Math.Round(seqDecodeS, 2),
            ["rl_step_rollout_s"] = Math.Round(batchedS, 2),
            ["rl_step_update_s"] = Math.Round(updateS, 2),
            ["rl_step_rows"] = u.Rows,
            // rows whose prompts extend the row before train as one sequence (Grpo.Chains): sequences and positions the update runs
            ["rl_step_sequences"] = Grpo.Chains(live).Count,
            ["rl_step_row_positions"] = live.Sum(r => (long)r.PromptIds.Length + r.TokenIds.Length),
            ["rl_step_sequence_positions"] = Grpo.Chains(live).Sum(c => (long)c[^1].PromptIds.Length + c[^1].TokenIds.Length),
            ["update_passes_s"] = Math.Round(fastS, 2),
            ["update_passes_bf16_s"] = Math.Round(bf16S, 2),
            ["update_passes_full_logits_s"] = Math.Round(referenceS, 2),
            ["rl_step_tokens"] = u.Tokens,
        };
    }
}
