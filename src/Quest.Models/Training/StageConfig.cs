using System.Text.Json;
using System.Text.Json.Serialization;
using Quest.Core;
using Quest.Models.Checkpoints;
using Quest.Models.Runtime;
using Quest.Models.Tokenization;
using Quest.Models.Transformer;
using YamlDotNet.Core;
using YamlDotNet.Serialization;
using YamlDotNet.Serialization.NamingConventions;

namespace Quest.Models.Training;

/// <summary>
/// One training stage as a file (JSON or YAML, snake_case keys), the input of <c>quest train pretrain|sft --config</c>:
/// <code>
/// stage: pretrain            # or sft
/// output: data/artifacts/models/pretrain
/// data: [pages.jsonl]        # .txt/.md: one document per file; .jsonl: {"text":…} (pretrain) or {"messages":[…]} (sft)
/// model: tiny                # preset (tiny, small, base, medium) when not starting from init
/// vocab_size: 4096           # tokenizer trained on the data when neither tokenizer nor init is given
/// training: { steps: 300, batch_size: 8, seq_len: 128, learning_rate: 0.003 }
/// </code>
/// Relative paths are resolved against the config file's directory.
/// </summary>
public sealed record StageConfig
{
    /// <summary><c>pretrain</c> (causal LM over documents) or <c>sft</c> (chat transcripts, assistant-only loss).</summary>
    public string Stage { get; init; } = "pretrain";
    /// <summary>Stage directory: checkpoints (resumable) and the final model land here.</summary>
    public string? Output { get; init; }
    /// <summary>Training data files.</summary>
    public List<string> Data { get; init; } = [];
    /// <summary>A stage directory to start from (its model and tokenizer), e.g. the pretrain output for sft.</summary>
    public string? Init { get; init; }
    /// <summary>The agent view of a fresh model (a kind of <see cref="AgentView.Kinds"/>; null: the preset's). A model from <see cref="Init"/> keeps its own.</summary>
    public string? View { get; init; }
    /// <summary>Model preset when not starting from <see cref="Init"/>.</summary>
    public string Model { get; init; } = "tiny";
    /// <summary>Full model config instead of a preset (vocab_size is taken from the tokenizer).</summary>
    public ModelConfig? ModelConfig { get; init; }
    /// <summary>Seed of the model initialisation.</summary>
    public long ModelSeed { get; init; } = 0;
    /// <summary>A directory holding a saved tokenizer to use.</summary>
    public string? Tokenizer { get; init; }
    /// <summary>Vocabulary size when the tokenizer is trained from the data.</summary>
    public int VocabSize { get; init; } = 4096;
    /// <summary>Optimiser, schedule, batch and checkpoint settings.</summary>
    public TrainingOptions Training { get; init; } = new();
    /// <summary>For sft: hold out every N-th transcript for the eval loss (0 = none).</summary>
    public int EvalEvery { get; init; } = 0;
    /// <summary>For sft: batches whose examples are drawn together and shared out by length (<see cref="ChatSftData.LengthGroup"/>; 1 = none).</summary>
    public int LengthGroup { get; init; } = 1;

    private static readonly JsonSerializerOptions StrictJson = new(Trainer.Json) { UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow };

    /// <summary>Where the file was read from (for resolving relative paths).</summary>
    [JsonIgnore, YamlIgnore] public string? SourcePath { get; init; }

    /// <summary>Loads a .json, .yaml or .yml stage file; errors carry file, line and column.</summary>
    public static StageConfig Load(string path)
    {
        if (!File.Exists(path)) throw new QuestInputException(path, null, null, "config file not found", "a JSON or YAML stage config");
        var text = File.ReadAllText(path);
        StageConfig cfg;
        var ext = Path.GetExtension(path).ToLowerInvariant();
        if (ext is ".yaml" or ".yml")
        {
            try
            {
                var d = new DeserializerBuilder().WithNamingConvention(UnderscoredNamingConvention.Instance)
                    .WithEnumNamingConvention(LowerCaseNamingConvention.Instance).Build();
                cfg = d.Deserialize<StageConfig>(text) ?? new StageConfig();
            }
            catch (YamlException ex)
            {
                var msg = ex.InnerException?.Message ?? ex.Message;
                // YamlDotNet names CLR types ("System.Collections.Generic.List`1[...]"): say what the file needs instead
                if (msg.Contains("System.", StringComparison.Ordinal) || msg.Contains("Quest.", StringComparison.Ordinal))
                    msg = "a value of the wrong shape here (a single value where a list or a map is expected, or the reverse)";
                throw new QuestInputException(path, ex.Start.Line, ex.Start.Column, msg, "stage, output, data, model, vocab_size, training{steps, batch_size, seq_len, …}", ex);
            }
        }
        else
        {
            try { cfg = JsonSerializer.Deserialize<StageConfig>(text, StrictJson) ?? new StageConfig(); }
            catch (JsonException ex)
            {
                throw new QuestInputException(path, ex.LineNumber + 1, ex.BytePositionInLine + 1, Quest.Core.JsonFiles.Describe(ex), "stage, output, data, model, vocab_size, training{steps, batch_size, seq_len, …}", ex);
            }
        }
        cfg = cfg with { SourcePath = Path.GetFullPath(path) };
        return cfg.Validate();
    }

    /// <summary>Checks the fields; throws <see cref="QuestInputException"/> naming the file.</summary>
    public StageConfig Validate()
    {
        if (Stage is not ("pretrain" or "sft"))
            throw new QuestInputException(SourcePath, null, null, $"unknown stage '{Stage}'", "stage: pretrain or sft");
        if (Data.Count == 0) throw new QuestInputException(SourcePath, null, null, "no training data", "data: [file, …]");
        if (Training.Steps <= 0 || Training.BatchSize <= 0 || Training.SeqLen <= 1 || Training.GradAccum <= 0)
            throw new QuestInputException(SourcePath, null, null, "training.steps, batch_size, grad_accum must be > 0 and seq_len > 1", "positive sizes");
        Training.Validate(SourcePath);
        if (VocabSize is < 300 or > 1_000_000)
            throw new QuestInputException(SourcePath, null, null, $"vocab_size {VocabSize}", "between 300 (bytes and special tokens) and 1,000,000");
        return this;
    }

    /// <summary>A path from the config, resolved against its directory.</summary>
    public string Resolve(string p) =>
        Path.IsPathRooted(p) || SourcePath is null ? Path.GetFullPath(p) : Path.GetFullPath(Path.Combine(Path.GetDirectoryName(SourcePath)!, p));

    /// <summary>The stage directory (default <c>data/artifacts/models/&lt;stage&gt;</c>).</summary>
    public string OutputDir => Output is not null ? Resolve(Output) : Path.Combine(QuestPaths.ArtifactDir("models"), Stage);

    /// <summary>Documents for pretraining: each .txt/.md file is one document; .jsonl lines give <c>text</c> (or <c>title</c> + <c>text</c>).</summary>
    public IEnumerable<string> ReadDocuments()
    {
        foreach (var f in Data.Select(Resolve))
        {
            if (!File.Exists(f)) throw new QuestInputException(f, null, null, "data file not found", "an existing .txt, .md or .jsonl file");
            if (f.EndsWith(".jsonl", StringComparison.OrdinalIgnoreCase))
            {
                int line = 0;
                foreach (var l in File.ReadLines(f))
                {
                    line++;
                    if (string.IsNullOrWhiteSpace(l)) continue;
                    JsonElement e;
                    try { e = JsonDocument.Parse(l).RootElement; }
                    catch (JsonException ex) { throw new QuestInputException(f, line, ex.BytePositionInLine + 1, $"invalid JSON: {Quest.Core.JsonFiles.Describe(ex)}", "one {\"text\": …} object per line", ex); }
                    if (!e.TryGetProperty("text", out var t) || t.ValueKind != JsonValueKind.String)
                        throw new QuestInputException(f, line, null, "no \"text\" string", "{\"text\": \"…\"} (optionally with \"title\")");
                    yield return e.TryGetProperty("title", out var title) && title.ValueKind == JsonValueKind.String ? $"# {title.GetString()}\n\n{t.GetString()}" : t.GetString()!;
                }
            }
            else yield return File.ReadAllText(f);
        }
    }

    /// <summary>Transcripts for SFT from the .jsonl data files.</summary>
    public List<IReadOnlyList<ChatTurn>> ReadTranscripts() =>
        Data.Select(Resolve).SelectMany(f =>
        {
            if (!File.Exists(f)) throw new QuestInputException(f, null, null, "data file not found", "a .jsonl file of {\"messages\":[…]} lines");
            return ChatTemplate.ReadTranscripts(f).Select(t => (IReadOnlyList<ChatTurn>)t);
        }).ToList();

    /// <summary>
    /// Builds the trainer: loads or creates tokenizer and model (from <see cref="Init"/>, from the output directory when
    /// resuming, or fresh), reads the data and sets the output directory. <paramref name="log"/> receives setup lines.
    /// </summary>
    public Trainer CreateTrainer(Action<string>? log = null)
    {
        log ??= _ => { };
        var outDir = OutputDir;
        bool resuming = Training.Resume && File.Exists(Path.Combine(outDir, Checkpoint.TrainerStateFile));
        List<IReadOnlyList<ChatTurn>>? transcripts = Stage == "sft" ? ReadTranscripts() : null;
        List<string>? docs = Stage == "pretrain" ? ReadDocuments().ToList() : null;

        QuestTokenizer tok;
        QuestTransformer model;
        var source = resuming ? outDir : Init is not null ? Resolve(Init) : null;
        if (source is not null)
        {
            var loaded = Checkpoint.Load(source, Runtime.TorchRuntime.ResolveDevice(Training.Device));
            (model, tok) = (loaded.Model, loaded.Tokenizer);
            log($"model from {source}: {model.Config}");
        }
        else
        {
            if (Tokenizer is not null) { tok = QuestTokenizer.Load(Resolve(Tokenizer)); log($"tokenizer from {Resolve(Tokenizer)}: {tok.VocabSize} tokens"); }
            else
            {
                var texts = docs ?? transcripts!.Select(t => ChatTemplate.Render(t)).ToList();
                tok = BpeTrainer.Train(texts, new BpeTrainerOptions { VocabSize = VocabSize });
                log($"tokenizer trained on the data: {tok.VocabSize} tokens");
            }
            var cfg = (ModelConfig ?? Transformer.ModelConfig.FromPreset(Model, tok.VocabSize)) with { VocabSize = tok.VocabSize };
            if (View is not null) cfg = cfg with { View = View };
            cfg = cfg with { MaxSeqLen = Math.Max(cfg.MaxSeqLen, Training.SeqLen) };
            model = new QuestTransformer(cfg, ModelSeed);
            log($"new model: {cfg}");
        }
        var opts = Training with { OutputDir = outDir };
        ITrainingData data = Stage == "sft"
            ? new ChatSftData(transcripts!, ChatTemplate.View(tok, model.Config.View), opts.SeqLen, EvalEvery, LengthGroup)
            : new PackedTokenStream(docs!, tok);
        log($"{Stage}: {data.TrainTokens:N0} training tokens, device {TorchRuntime.ResolveDevice(Training.Device)}, output {outDir}");
        return new Trainer(model, tok, data, opts, Stage);
    }
}
