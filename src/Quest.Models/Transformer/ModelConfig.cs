using System.Text.Json;
using System.Text.Json.Serialization;
using Quest.Core;

namespace Quest.Models.Transformer;

/// <summary>
/// Shape of a decoder-only transformer in the Qwen/Llama style (RMSNorm, rotary positions, grouped-query
/// attention, SwiGLU MLP). Saved as <c>config.json</c> beside the weights.
/// </summary>
public sealed record ModelConfig
{
    /// <summary>Embedding rows = tokenizer vocabulary size (bytes + merges + special tokens).</summary>
    [JsonPropertyName("vocab_size")] public int VocabSize { get; init; } = 4096;
    /// <summary>Number of transformer blocks.</summary>
    [JsonPropertyName("layers")] public int Layers { get; init; } = 4;
    /// <summary>Width of the residual stream.</summary>
    [JsonPropertyName("d_model")] public int DModel { get; init; } = 128;
    /// <summary>Query heads; <see cref="DModel"/> must divide by it (head size = DModel / Heads).</summary>
    [JsonPropertyName("heads")] public int Heads { get; init; } = 4;
    /// <summary>Key/value heads (grouped-query attention); divides <see cref="Heads"/>. Equal to Heads = plain multi-head.</summary>
    [JsonPropertyName("kv_heads")] public int KvHeads { get; init; } = 2;
    /// <summary>Hidden width of the SwiGLU MLP (about 8/3 · DModel keeps the parameter count of a 4x GELU MLP).</summary>
    [JsonPropertyName("ffn")] public int Ffn { get; init; } = 384;
    /// <summary>Longest sequence (prompt + generated) the rotary table covers.</summary>
    [JsonPropertyName("max_seq_len")] public int MaxSeqLen { get; init; } = 512;
    /// <summary>Rotary base frequency θ.</summary>
    [JsonPropertyName("rope_theta")] public double RopeTheta { get; init; } = 10000;
    /// <summary>RMSNorm epsilon.</summary>
    [JsonPropertyName("norm_eps")] public double NormEps { get; init; } = 1e-5;
    /// <summary>Share the input embedding with the output projection (saves VocabSize · DModel parameters).</summary>
    [JsonPropertyName("tie_embeddings")] public bool TieEmbeddings { get; init; } = true;
    /// <summary>Standard deviation of the normal weight init (output projections are scaled by 1/√(2·Layers)).</summary>
    [JsonPropertyName("init_std")] public double InitStd { get; init; } = 0.02;
    /// <summary>
    /// How an agent episode is shown to this model (<see cref="AgentView"/>): <c>full</c> (system prompt and the
    /// whole history, oldest tokens dropped when it overflows the window), <c>question_recent</c> (the question, then
    /// the most recent tokens: what a small window can hold) or <c>question_recent_stepped</c> (the same, the recent
    /// window moving in steps). SFT, RL, eval and every local policy build prompts through it, so a checkpoint is always
    /// prompted the way it was trained.
    /// </summary>
    [JsonPropertyName("view")] public string View { get; init; } = AgentView.Full;

    /// <summary>Per-head size.</summary>
    [JsonIgnore] public int HeadDim => DModel / Heads;

    /// <summary>
    /// The model of one size dial, nanochat-style: <paramref name="depth"/> layers, width 32 × depth (heads of 32,
    /// two query heads per key/value head), feed-forward 2.75 × width. Depth 4 is <see cref="Tiny"/>; the recipe's
    /// presets set only this dial (<c>RecipeOptions.ForDepth</c>). Named <c>d&lt;depth&gt;</c> in <see cref="FromPreset"/>.
    /// </summary>
    public static ModelConfig ForDepth(int depth, int vocabSize = 4096, int maxSeqLen = 1024)
    {
        if (depth is < 2 or > 48) throw new QuestInputException(null, null, null, $"model depth {depth}", "a depth from 2 to 48");
        int width = 32 * depth, heads = depth;
        int kvHeads = Enumerable.Range(1, Math.Max(1, heads / 2)).Last(k => heads % k == 0);   // grouped-query: the largest divisor of heads up to half of them
        return new() { VocabSize = vocabSize, Layers = depth, DModel = width, Heads = heads, KvHeads = kvHeads,
                       Ffn = (int)Math.Round(width * 2.75 / 16) * 16, MaxSeqLen = maxSeqLen };
    }

    /// <summary>≈1.3M parameters at vocab 4096 (0.7M outside the embedding): trains in minutes on 2 CPU cores. The depth-4 model (<see cref="ForDepth"/>).</summary>
    public static ModelConfig Tiny(int vocabSize = 4096) => ForDepth(4, vocabSize);
    /// <summary>≈6.5M parameters at vocab 8192: an hour-scale CPU run.</summary>
    public static ModelConfig Small(int vocabSize = 8192) => new() { VocabSize = vocabSize, Layers = 6, DModel = 256, Heads = 8, KvHeads = 4, Ffn = 704, MaxSeqLen = 2048 };
    /// <summary>≈28M parameters at vocab 8192: a GPU or a long CPU run.</summary>
    public static ModelConfig Base(int vocabSize = 8192) => new() { VocabSize = vocabSize, Layers = 8, DModel = 512, Heads = 8, KvHeads = 4, Ffn = 1408, MaxSeqLen = 4096 };
    /// <summary>≈88M parameters at vocab 16384: GPU.</summary>
    public static ModelConfig Medium(int vocabSize = 16384) => new() { VocabSize = vocabSize, Layers = 12, DModel = 768, Heads = 12, KvHeads = 4, Ffn = 2048, MaxSeqLen = 4096 };

    /// <summary>Preset names accepted by <see cref="FromPreset"/> (besides <c>d&lt;depth&gt;</c>, e.g. <c>d6</c>).</summary>
    public static IReadOnlyList<string> Presets { get; } = ["tiny", "small", "base", "medium"];

    /// <summary>A preset by name (case-insensitive): <c>tiny</c>, <c>small</c>, <c>base</c>, <c>medium</c>, or <c>d&lt;depth&gt;</c> (<see cref="ForDepth"/>).</summary>
    public static ModelConfig FromPreset(string name, int vocabSize) => name.ToLowerInvariant() switch
    {
        ['d', .. var n] when int.TryParse(n, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var depth) => ForDepth(depth, vocabSize),
        "tiny" => Tiny(vocabSize),
        "small" => Small(vocabSize),
        "base" => Base(vocabSize),
        "medium" => Medium(vocabSize),
        _ => throw new QuestInputException(null, null, null, $"unknown model preset '{name}'", string.Join(", ", Presets) + " or d<depth> (e.g. d6)"),
    };

    /// <summary>Throws <see cref="QuestInputException"/> naming the first inconsistent field.</summary>
    public ModelConfig Validate(string? source = null)
    {
        void Check(bool ok, string problem, string expected) { if (!ok) throw new QuestInputException(source, null, null, problem, expected); }
        Check(VocabSize > 0, $"vocab_size {VocabSize}", "> 0");
        Check(Layers > 0, $"layers {Layers}", "> 0");
        Check(Heads > 0 && DModel % Heads == 0, $"d_model {DModel} is not divisible by heads {Heads}", "d_model a multiple of heads");
        Check(HeadDim % 2 == 0, $"head size {HeadDim} is odd", "an even head size (rotary embeddings rotate pairs)");
        Check(KvHeads > 0 && Heads % KvHeads == 0, $"heads {Heads} is not divisible by kv_heads {KvHeads}", "kv_heads dividing heads");
        Check(Ffn > 0, $"ffn {Ffn}", "> 0");
        Check(MaxSeqLen > 1, $"max_seq_len {MaxSeqLen}", "> 1");
        Check(AgentView.Kinds.Contains(View), $"view '{View}'", string.Join(" or ", AgentView.Kinds));
        // sizes checked before anything is allocated: libtorch's own out-of-memory error names no field
        Check(VocabSize <= 1 << 20 && DModel <= 1 << 16 && Ffn <= 1 << 18 && Layers <= 1024 && MaxSeqLen <= 1 << 20 && Heads <= 1024,
            $"a dimension is out of range ({this})", "vocab_size ≤ 1,048,576, d_model ≤ 65,536, ffn ≤ 262,144, layers ≤ 1,024, heads ≤ 1,024, max_seq_len ≤ 1,048,576");
        long memory = GC.GetGCMemoryInfo().TotalAvailableMemoryBytes;
        long weights = ParameterCount * 4;
        Check(memory <= 0 || weights <= memory / 2,
            $"{ParameterCount:N0} parameters need {weights / 1e9:0.0} GB for the float32 weights alone (training needs about 4×), more than half of this machine's {memory / 1e9:0.0} GB",
            "a model that fits in memory (fewer layers, a smaller d_model, ffn or vocab_size)");
        return this;
    }

    /// <summary>Parameters the model will have (tied embeddings counted once).</summary>
    [JsonIgnore]
    public long ParameterCount
    {
        get
        {
            long d = DModel, kv = (long)KvHeads * HeadDim;
            long attn = d * d + 2 * d * kv + d * d;
            long mlp = 3 * d * Ffn;
            long block = attn + mlp + 2 * d;
            long emb = (long)VocabSize * d;
            return emb + Layers * block + d + (TieEmbeddings ? 0 : emb);
        }
    }

    /// <summary>Parameters outside the embedding tables (the usual "model size" for FLOP estimates).</summary>
    [JsonIgnore] public long NonEmbeddingParameterCount => ParameterCount - (long)VocabSize * DModel * (TieEmbeddings ? 1 : 2);

    /// <summary>
    /// Forward FLOPs for one token at context length <paramref name="context"/>: 2·(matmul parameters incl. the
    /// output projection) + attention scores and mixing (2·2·Layers·context·DModel). Training ≈ 3× this.
    /// </summary>
    public double ForwardFlopsPerToken(int context) =>
        2.0 * (NonEmbeddingParameterCount + (long)VocabSize * DModel) + 4.0 * Layers * context * DModel;

    /// <summary>One line: "layers=4 d_model=128 heads=4 kv_heads=2 ffn=352 vocab=4096 params=0.92M".</summary>
    public override string ToString() =>
        $"layers={Layers} d_model={DModel} heads={Heads} kv_heads={KvHeads} ffn={Ffn} vocab={VocabSize} max_seq_len={MaxSeqLen} view={View} tied={TieEmbeddings} params={ParameterCount / 1e6:0.00}M";

    /// <summary>JSON settings for config.json.</summary>
    public static readonly JsonSerializerOptions Json = new() { WriteIndented = true };

    /// <summary>Reads config.json; errors name the file.</summary>
    public static ModelConfig Load(string path)
    {
        if (!File.Exists(path)) throw new QuestInputException(path, null, null, "model config is missing", "config.json written by Checkpoint.Save");
        try
        {
            return (JsonSerializer.Deserialize<ModelConfig>(File.ReadAllText(path), Json) ?? throw new JsonException("null")).Validate(path);
        }
        catch (JsonException ex)
        {
            throw new QuestInputException(path, ex.LineNumber + 1, ex.BytePositionInLine + 1, $"invalid model config: {JsonFiles.Describe(ex)}", "a JSON object with whole numbers for layers, d_model, heads, kv_heads, ffn, vocab_size, max_seq_len", ex);
        }
    }
}
