using Quest.Models.Runtime;
using Quest.Models.Checkpoints;
using System.Diagnostics;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Quest.Core;
using Quest.Models.Tokenization;
using Quest.Models.Training;
using Quest.Models.Transformer;
using Quest.Synthesis;
using Quest.World;
using Quest.Synthesis.Teacher;

namespace Quest.Recipe;

/// <summary>
/// The mid-training data of the recipe: corpus pages, the teacher's transcripts (chat-rendered: agentic mid-training),
/// tool outputs on sampled pages, and <b>copy drills</b>. A 1M-parameter student trained only on agent transcripts
/// learns the protocol but writes queries, URLs and names it never read (../shared/RL-NOTES.md): copying from the
/// context is the skill that emerges last, abruptly, once enough of the data rewards it. The drills make copying the
/// cheapest way to lower the loss, in the shapes the agent needs: a list of the world's names repeated, a question
/// followed by its first sentence (the agent's first query), and a search response followed by a note of its first
/// result (the agent's <c>Found:</c> notes). Only train-split questions are used. Stage 5 of the recipe
/// (<see cref="RunAsync"/>): the tokenizer, the copy phase, then mid-training on these documents.
/// </summary>
public static class MidTraining
{
    /// <summary>The copy phase's probe metrics, kept beside its checkpoint for a mid-training stage that resumes after it.</summary>
    public const string CopyMetricsFile = "copy_metrics.json";

    /// <summary>Stage 5: a causal LM (the run's tokenizer, <see cref="TokenizerStage"/>) on pages, transcripts, tool outputs and drills, after the copy phase (resumes from its checkpoint).</summary>
    public static async Task<Dictionary<string, double>> RunAsync(Recipe.StageContext c, CancellationToken ct)
    {
        var o = c.Options;
        List<string> docs;
        if (File.Exists(c.Paths.PretrainDocs)) docs = Jsonl.Read<JsonObject>(c.Paths.PretrainDocs).Select(j => (string)j["text"]!).ToList();
        else
        {
            docs = await MidTraining.DocumentsAsync(c, ct).ConfigureAwait(false);
            AtomicFile.WriteAllText(c.Paths.PretrainDocs, string.Concat(docs.Select(d => new JsonObject { ["text"] = d }.ToJsonString() + "\n")));
        }
        c.Progress($"{docs.Count} documents, {docs.Sum(d => (long)d.Length):N0} chars", null);
        var tok = TokenizerStage.Load(c.Paths);
        ct.ThrowIfCancellationRequested();
        var cfg = ModelConfig.FromPreset(o.Model, tok.VocabSize) with { VocabSize = tok.VocabSize, MaxSeqLen = o.ContextTokens, View = o.View };
        var model = new QuestTransformer(cfg, o.Seed);
        var held = await MidTraining.HeldOutDrillsAsync(c, ct).ConfigureAwait(false);
        var copy = new Dictionary<string, double>();
        var copyMetrics = Path.Combine(c.Paths.CopyPhase, CopyMetricsFile);
        if (o.CopyPhaseSteps > 0 && !File.Exists(Path.Combine(c.Paths.Pretrain, Checkpoint.TrainerStateFile)))
            copy = await CopyPhaseAsync(c, model, tok, await MidTraining.DrillsAsync(c, ct).ConfigureAwait(false), held, ct).ConfigureAwait(false);
        else if (o.CopyPhaseSteps > 0 && File.Exists(copyMetrics))   // mid-training resumed past the copy phase: its metrics were kept
            copy = JsonSerializer.Deserialize<Dictionary<string, double>>(File.ReadAllText(copyMetrics)) ?? [];
        var data = new PackedTokenStream(docs, tok);
        c.Progress($"model {cfg.ParameterCount:N0} params, {data.TrainTokens:N0} training tokens", null);
        var trainer = new Trainer(model, tok, data, new TrainingOptions
        {
            Steps = o.PretrainSteps, BatchSize = o.PretrainBatch, SeqLen = o.PretrainSeqLen, LearningRate = o.PretrainLearningRate,
            WarmupSteps = Math.Max(1, o.PretrainSteps / 10), EvalEvery = Math.Max(1, o.PretrainSteps / 4), CheckpointEvery = Math.Max(10, o.PretrainSteps / 6),
            OutputDir = c.Paths.Pretrain, Resume = true, Seed = o.Seed, Device = o.Device, Precision = o.Precision,
        }, "pretrain");
        var m = await Recipe.TrainAsync(c, trainer, new() { ["params"] = cfg.ParameterCount, ["vocab"] = tok.VocabSize, ["train_tokens"] = data.TrainTokens }, ct).ConfigureAwait(false);
        foreach (var (k, v) in copy) m[k] = v;
        var probe = MidTraining.Probe(model, tok, held);
        foreach (var (k, v) in probe) m[k + "_after_mt"] = v;
        return m;
    }

    /// <summary>
    /// The copy phase that opens mid-training: <see cref="RecipeOptions.CopyPhaseSteps"/> steps on copy drills alone
    /// (<see cref="MidTraining"/>), so the model can copy from its context before it is asked to research; the held-out
    /// copy probe is logged before and after. Resumable in its own directory (<c>pretrain-copy/</c>).
    /// </summary>
    private static async Task<Dictionary<string, double>> CopyPhaseAsync(Recipe.StageContext c, QuestTransformer model, QuestTokenizer tok,
        List<string> drills, List<string> held, CancellationToken ct)
    {
        var o = c.Options;
        var before = MidTraining.Probe(model, tok, held);
        var trainer = new Trainer(model, tok, new PackedTokenStream(drills, tok), new TrainingOptions
        {
            Steps = o.CopyPhaseSteps, BatchSize = 16, SeqLen = Math.Min(128, o.PretrainSeqLen), LearningRate = o.PretrainLearningRate,
            WarmupSteps = Math.Max(1, o.CopyPhaseSteps / 40), EvalEvery = 0, CheckpointEvery = Math.Max(10, o.CopyPhaseSteps / 4),
            OutputDir = c.Paths.CopyPhase, Resume = true, Seed = o.Seed + 11, Device = o.Device, Precision = o.Precision,
        }, "copy");
        await foreach (var r in trainer.RunAsync(ct).ConfigureAwait(false)) c.Progress(r.ToString(), new Dictionary<string, double> { ["step"] = r.Step, ["copy-drill loss"] = r.Loss });
        var after = MidTraining.Probe(model, tok, held);
        c.Progress(string.Join(", ", after.Select(kv => FormattableString.Invariant($"{kv.Key} {before[kv.Key]:0.000} -> {kv.Value:0.000}"))), null);
        var m = new Dictionary<string, double> { ["copy_phase_steps"] = o.CopyPhaseSteps };
        foreach (var (k, v) in before) m[k + "_before"] = v;
        foreach (var (k, v) in after) m[k + "_after_copy"] = v;
        AtomicFile.WriteAllText(Path.Combine(c.Paths.CopyPhase, CopyMetricsFile), JsonSerializer.Serialize(m));   // a kill during mid-training loses none of them
        return m;
    }

    /// <summary>
    /// The worlds whose pages mid-training reads: the task world itself (<see cref="RecipeOptions.PageWorlds"/> 0), or
    /// that many other generated worlds, so that no fact a task asks about was ever read and the agent must find it.
    /// </summary>
    public static IReadOnlyList<string> PageWorldDirs(RecipeOptions o, RecipePaths p) =>
        o.PageWorlds == 0 ? [p.World] : [.. Enumerable.Range(0, o.PageWorlds).Select(i => Path.Combine(p.PageWorlds, $"w{i}"))];

    /// <summary>The seed of page world <paramref name="i"/> (apart from the task world's 41 + seed and the fresh world's).</summary>
    public static int PageWorldSeed(RecipeOptions o, int i) => 3_000_017 + 101 * i + o.Seed;

    /// <summary>The seed of the probe world: names the copy probe shows and no stage trains on (with page worlds).</summary>
    public static int ProbeWorldSeed(RecipeOptions o) => 5_000_011 + o.Seed;

    /// <summary>Generates and stores the page worlds and the probe world a run needs and does not have yet (with their indexes).</summary>
    public static void EnsureWorlds(Recipe.StageContext c, CancellationToken ct)
    {
        var o = c.Options;
        if (o.PageWorlds == 0) return;
        var wanted = PageWorldDirs(o, c.Paths).Select((dir, i) => (dir, seed: PageWorldSeed(o, i))).Append((dir: c.Paths.ProbeWorld, seed: ProbeWorldSeed(o)));
        foreach (var (dir, seed) in wanted)
        {
            if (Quest.World.Corpus.CorpusStore.IsCorpusDirectory(dir)) continue;
            var w = Recipe.StoreWorld(o, dir, seed, Path.GetFileName(dir), ct);
            c.Progress($"{Path.GetFileName(dir)}: {w.Corpus.Count} pages (seed {seed}) for mid-training and its probe", null);
        }
    }

    /// <summary>
    /// Every mid-training document of a run, in a fixed order (seeded): pages, the teacher's transcripts (without
    /// <paramref name="withTranscripts"/>, none: what the tokenizer reads before the teacher has run), tool outputs, drills.
    /// </summary>
    public static async Task<List<string>> DocumentsAsync(Recipe.StageContext c, CancellationToken ct, bool withTranscripts = true)
    {
        var o = c.Options;
        EnsureWorlds(c, ct);
        var envs = PageWorldDirs(o, c.Paths).Select(d => WorldEnvironment.Open(d)).ToList();
        try
        {
            var docs = envs.SelectMany(sc => sc.Corpus.Select(pg => $"# {pg.Title}\n\n{pg.Text}")).ToList();
            if (withTranscripts)
                foreach (var t in ChatTemplate.ReadTranscripts(c.Paths.SftTranscripts))
                    docs.Add(ChatTemplate.Render(t.Where(m => m.Role != "system")));
            var rng = new Random(o.Seed * 7919 + 3);
            var sampled = envs.SelectMany(sc => sc.Corpus.Select(pg => (sc, pg))).OrderBy(_ => rng.Next()).Take(o.ToolOutputDocs).ToList();
            foreach (var (sc, pg) in sampled)
            {
                ct.ThrowIfCancellationRequested();
                var tools = Recipe.ToolsOf(o, sc).ToDictionary(t => t.Name);
                docs.Add(Protocol.ToolResponse(await tools["search"].CallAsync(new JsonObject { ["query"] = new JsonArray(pg.Title) }, ct).ConfigureAwait(false)));
                docs.Add(Protocol.ToolResponse(await tools["visit"].CallAsync(new JsonObject { ["url"] = new JsonArray(pg.Url), ["goal"] = $"Find facts about {pg.Title}" }, ct).ConfigureAwait(false)));
            }
            docs.AddRange(await DrillsAsync(c, envs, o.CopyDrills, o.Seed, ct).ConfigureAwait(false));
            return docs;
        }
        finally { foreach (var e in envs) e.Dispose(); }
    }

    /// <summary>The run's copy drills (<see cref="RecipeOptions.CopyDrills"/> of them; seeded, train-split questions only) over the page worlds.</summary>
    public static async Task<List<string>> DrillsAsync(Recipe.StageContext c, CancellationToken ct)
    {
        EnsureWorlds(c, ct);
        var envs = PageWorldDirs(c.Options, c.Paths).Select(d => WorldEnvironment.Open(d)).ToList();
        try { return await DrillsAsync(c, envs, c.Options.CopyDrills, c.Options.Seed, ct).ConfigureAwait(false); }
        finally { foreach (var e in envs) e.Dispose(); }
    }

    /// <summary>
    /// 300 drills drawn with another seed, for the copy probe: over the probe world (names no stage trains on) when the
    /// run has page worlds, else over the task world.
    /// </summary>
    public static async Task<List<string>> HeldOutDrillsAsync(Recipe.StageContext c, CancellationToken ct)
    {
        EnsureWorlds(c, ct);
        using var sc = WorldEnvironment.Open(c.Options.PageWorlds > 0 ? c.Paths.ProbeWorld : c.Paths.World);
        return await DrillsAsync(c, [sc], 300, c.Options.Seed + 1_000_003, ct).ConfigureAwait(false);
    }

    private static async Task<List<string>> DrillsAsync(Recipe.StageContext c, IReadOnlyList<WorldEnvironment> envs, int count, int seed, CancellationToken ct)
    {
        var questions = TaskFile.Read(c.Paths.Tasks).Where(t => Recipe.IsTaught(c.Options, t)).Select(t => t.Question).ToList();
        var drills = new List<string>(count);
        for (int i = 0; i < envs.Count; i++)   // the count shared out over the worlds, each with its own names and search
        {
            int n = count / envs.Count + (i < count % envs.Count ? 1 : 0);
            var search = Recipe.ToolsOf(c.Options, envs[i]).First(t => t.Name == "search");
            drills.AddRange(await CopyDrillsAsync(envs[i].Corpus.Select(p => p.Title).ToList(), questions, search, n, seed + 7919 * i, ct, c.Options.NovelNameDrills).ConfigureAwait(false));
        }
        return drills;
    }

    /// <summary>
    /// The copy probe: teacher-forced accuracy on the copied part (the last line) of held-out drills, per kind
    /// (<c>copy_names</c>, <c>copy_query</c>, <c>copy_found</c>).
    /// </summary>
    public static Dictionary<string, double> Probe(QuestTransformer model, QuestTokenizer tok, IReadOnlyList<string> drills)
    {
        List<ChatEncoding> Examples(IEnumerable<string> ds) => ds.Select(d =>
        {
            int cut = d.LastIndexOf('\n');
            var a = tok.Encode(d[..(cut + 1)]);
            var b = tok.Encode(d[(cut + 1)..]);
            return new ChatEncoding([.. a, .. b], [.. a.Select(_ => false), .. b.Select(_ => true)]);
        }).Where(e => e.Ids.Length < model.Config.MaxSeqLen).ToList();
        // every target token counts here (the copied line is all copy), so report the accuracy over all of them
        double Acc(IEnumerable<string> ds)
        {
            var p = Probes.CopyAccuracy(model, Examples(ds), 100);
            long n = p.CopyTokens + p.OtherTokens;
            return n == 0 ? 0 : Math.Round((double)(p.CopyCorrect + p.OtherCorrect) / n, 4);
        }
        return new Dictionary<string, double>
        {
            ["copy_names"] = Acc(drills.Where(d => d.StartsWith("Names: ", StringComparison.Ordinal))),
            ["copy_query"] = Acc(drills.Where(d => d.Contains("\nQuery: ", StringComparison.Ordinal))),
            ["copy_found"] = Acc(drills.Where(d => d.StartsWith(Protocol.ToolResponseOpen, StringComparison.Ordinal))),
        };
    }

    /// <summary>
    /// <paramref name="count"/> copy drills, a third of each kind: <c>Names: A; B; C.\nFound: A; B; C.</c> (names drawn
    /// from <paramref name="titles"/>); <c>QUESTION\nQuery: FIRST SENTENCE</c>; a search response for a random title
    /// followed by <c>Found: TITLE OF RESULT 1; LINK OF RESULT 1.</c>
    /// </summary>
    public static async Task<List<string>> CopyDrillsAsync(IReadOnlyList<string> titles, IReadOnlyList<string> questions, ITool search, int count, int seed, CancellationToken ct = default, bool novelNames = false)
    {
        var rng = new Random(seed * 104_729 + 17);
        var drills = new List<string>(count);
        for (int i = 0; i < count; i++)
        {
            ct.ThrowIfCancellationRequested();
            switch (i % 3)
            {
                case 0:
                    // novel names: drawn fresh for every drill (Quest.World.Generation.WorldNames), so only copying lowers the loss
                    var names = Enumerable.Range(0, rng.Next(2, 5)).Select(_ => novelNames ? Quest.World.Generation.WorldNames.Draw(rng) : titles[rng.Next(titles.Count)]).ToList();
                    drills.Add($"Names: {string.Join("; ", names)}.\nFound: {string.Join("; ", names)}.");
                    break;
                case 1 when questions.Count > 0:
                    var q = questions[rng.Next(questions.Count)];
                    drills.Add($"{q}\nQuery: {GroundedTeacher.FirstSentence(q)}");
                    break;
                default:
                    var title = titles[rng.Next(titles.Count)];
                    var text = await search.CallAsync(new JsonObject { ["query"] = new JsonArray(title) }, ct).ConfigureAwait(false);
                    var first = FirstResult(text);
                    if (first is null) goto case 0;
                    drills.Add($"{Protocol.ToolResponse(text)}\nFound: {first.Value.Title}; {first.Value.Link}.");
                    break;
            }
        }
        return drills;
    }

    /// <summary>Title and link of the first result of a search response, or null.</summary>
    public static (string Title, string Link)? FirstResult(string searchText)
    {
        var lines = searchText.Split('\n');
        int t = Array.FindIndex(lines, l => l.StartsWith("1. Title: ", StringComparison.Ordinal));
        if (t < 0 || t + 1 >= lines.Length || !lines[t + 1].StartsWith("Link: ", StringComparison.Ordinal)) return null;
        return (lines[t]["1. Title: ".Length..].Trim(), lines[t + 1]["Link: ".Length..].Trim());
    }
}
