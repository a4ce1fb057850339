using System.Buffers.Binary;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Quest.Core;
using Quest.Models.Runtime;
using Quest.Models.Tokenization;
using Quest.Models.Transformer;
using TorchSharp;
using static TorchSharp.torch;

namespace Quest.Models.Checkpoints;

/// <summary>
/// The safetensors format: an 8-byte little-endian header length, a JSON header
/// (<c>{"name": {"dtype": "F32", "shape": [..], "data_offsets": [begin, end]}, "__metadata__": {..}}</c>), then the raw
/// little-endian tensor bytes. Readable by Python's <c>safetensors</c> and Hugging Face tooling.
/// </summary>
public static class Safetensors
{
    /// <summary>One tensor's entry in a safetensors header.</summary>
    public sealed record Entry(string Name, string DType, long[] Shape, long Begin, long End);

    private static string DTypeName(ScalarType t) => t switch
    {
        ScalarType.Float32 => "F32", ScalarType.Float16 => "F16", ScalarType.BFloat16 => "BF16", ScalarType.Float64 => "F64",
        ScalarType.Int64 => "I64", ScalarType.Int32 => "I32", ScalarType.Int8 => "I8", ScalarType.Byte => "U8", ScalarType.Bool => "BOOL",
        _ => throw new NotSupportedException($"dtype {t} is not supported in safetensors"),
    };

    private static ScalarType ScalarOf(string name) => name switch
    {
        "F32" => ScalarType.Float32, "F16" => ScalarType.Float16, "BF16" => ScalarType.BFloat16, "F64" => ScalarType.Float64,
        "I64" => ScalarType.Int64, "I32" => ScalarType.Int32, "I8" => ScalarType.Int8, "U8" => ScalarType.Byte, "BOOL" => ScalarType.Bool,
        _ => throw new NotSupportedException($"safetensors dtype {name} is not supported"),
    };

    /// <summary>Writes tensors to a stream (data copied to the CPU; names sorted as the reference writer does).</summary>
    public static void Write(Stream stream, IEnumerable<(string Name, Tensor Tensor)> tensors, IReadOnlyDictionary<string, string>? metadata = null)
    {
        var list = tensors.OrderBy(t => t.Name, StringComparer.Ordinal).ToList();
        var header = new JsonObject();
        if (metadata is { Count: > 0 }) header["__metadata__"] = new JsonObject(metadata.Select(kv => KeyValuePair.Create(kv.Key, (JsonNode?)kv.Value)));
        var blobs = new List<byte[]>();
        long offset = 0;
        foreach (var (name, t) in list)
        {
            using var c = t.detach().cpu().contiguous();
            var bytes = c.bytes.ToArray();
            header[name] = new JsonObject
            {
                ["dtype"] = DTypeName(c.dtype),
                ["shape"] = new JsonArray(c.shape.Select(s => (JsonNode?)s).ToArray()),
                ["data_offsets"] = new JsonArray(offset, offset + bytes.Length),
            };
            offset += bytes.Length;
            blobs.Add(bytes);
        }
        var json = Encoding.UTF8.GetBytes(header.ToJsonString());
        int padded = (json.Length + 7) / 8 * 8;   // align the data to 8 bytes
        var head = new byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(head, (ulong)padded);
        stream.Write(head);
        stream.Write(json);
        for (int i = json.Length; i < padded; i++) stream.WriteByte((byte)' ');
        foreach (var b in blobs) stream.Write(b);
    }

    /// <summary>Reads the header of a safetensors file; a malformed file throws <see cref="QuestInputException"/>.</summary>
    public static (List<Entry> Entries, Dictionary<string, string> Metadata, long DataStart) ReadHeader(string path)
    {
        if (!File.Exists(path)) throw new QuestInputException(path, null, null, "weights file is missing", "a model.safetensors file");
        using var fs = File.OpenRead(path);
        var lenBytes = new byte[8];
        if (fs.Read(lenBytes) != 8) throw new QuestInputException(path, null, null, "file is shorter than the 8-byte header length", "a safetensors file");
        ulong len = BinaryPrimitives.ReadUInt64LittleEndian(lenBytes);
        if (len == 0 || len > 100_000_000 || (long)len + 8 > fs.Length)
            throw new QuestInputException(path, null, null, $"header length {len} does not fit a file of {fs.Length} bytes", "a safetensors file");
        var json = new byte[len];
        fs.ReadExactly(json);
        JsonObject header;
        try { header = JsonNode.Parse(json)!.AsObject(); }
        catch (Exception ex) when (ex is JsonException or InvalidOperationException)
        { throw new QuestInputException(path, null, null, $"header is not a JSON object: {ex.Message}", "a safetensors header", ex); }
        var entries = new List<Entry>();
        var meta = new Dictionary<string, string>();
        long dataLen = fs.Length - 8 - (long)len;
        foreach (var (name, node) in header)
        {
            if (name == "__metadata__") { foreach (var (k, v) in node!.AsObject()) meta[k] = v?.ToString() ?? ""; continue; }
            try
            {
                var o = node!.AsObject();
                var offs = o["data_offsets"]!.AsArray().Select(x => x!.GetValue<long>()).ToArray();
                var e = new Entry(name, o["dtype"]!.GetValue<string>(), o["shape"]!.AsArray().Select(x => x!.GetValue<long>()).ToArray(), offs[0], offs[1]);
                if (e.Begin < 0 || e.End < e.Begin || e.End > dataLen)
                    throw new QuestInputException(path, null, null, $"tensor '{name}' has data offsets [{e.Begin}, {e.End}] outside the {dataLen} data bytes (file truncated?)", "offsets inside the file");
                entries.Add(e);
            }
            catch (Exception ex) when (ex is not QuestInputException)
            { throw new QuestInputException(path, null, null, $"tensor '{name}' has a malformed header entry: {ex.Message}", "dtype, shape, data_offsets", ex); }
        }
        return (entries, meta, 8 + (long)len);
    }

    /// <summary>Reads every tensor (on the CPU).</summary>
    public static Dictionary<string, Tensor> Read(string path)
    {
        var (entries, _, start) = ReadHeader(path);
        var result = new Dictionary<string, Tensor>();
        using var fs = File.OpenRead(path);
        foreach (var e in entries)
        {
            var bytes = new byte[e.End - e.Begin];
            fs.Seek(start + e.Begin, SeekOrigin.Begin);
            fs.ReadExactly(bytes);
            var dtype = ScalarOf(e.DType);
            long n = e.Shape.Aggregate(1L, (a, b) => a * b);
            var t = empty(e.Shape, dtype: dtype);
            if (t.ElementSize * n != bytes.Length)
                throw new QuestInputException(path, null, null, $"tensor '{e.Name}' has {bytes.Length} bytes but shape [{string.Join(",", e.Shape)}] of {e.DType} needs {t.ElementSize * n}", "consistent shape and offsets");
            bytes.CopyTo(t.bytes);
            result[e.Name] = t;
        }
        return result;
    }
}

/// <summary>A model with its tokenizer, as loaded from a stage directory.</summary>
/// <param name="Model">The transformer (on the requested device, in eval mode).</param>
/// <param name="Tokenizer">Its tokenizer.</param>
/// <param name="Directory">Where it was loaded from.</param>
public sealed record LoadedModel(QuestTransformer Model, QuestTokenizer Tokenizer, string Directory);

/// <summary>
/// A stage directory: <c>model.safetensors</c> (weights), <c>config.json</c> (<see cref="ModelConfig"/>), the tokenizer
/// files (<c>vocab.json</c>, <c>merges.txt</c>, <c>tokenizer_config.json</c>) and, for resumable training,
/// <c>optimizer.bin</c> + <c>trainer_state.json</c> + <c>metrics.jsonl</c>. The whole directory is written atomically.
/// </summary>
public static class Checkpoint
{
    /// <summary>File names inside a stage directory.</summary>
    public const string WeightsFile = "model.safetensors", ConfigFile = "config.json", OptimizerFile = "optimizer.safetensors",
        TrainerStateFile = "trainer_state.json", MetricsFile = "metrics.jsonl";

    /// <summary>
    /// Writes model, config and tokenizer into <paramref name="dir"/>, replacing it atomically; <paramref name="extra"/>
    /// may add files to the temporary directory before the swap.
    /// </summary>
    public static void Save(string dir, QuestTransformer model, QuestTokenizer tokenizer, Action<string>? extra = null)
    {
        AtomicFile.WriteDirectory(dir, tmp =>
        {
            using (var fs = File.Create(Path.Combine(tmp, WeightsFile)))
            {
                Safetensors.Write(fs, model.named_parameters().Select(p => (p.name, (Tensor)p.parameter)),
                    new Dictionary<string, string> { ["format"] = "pt", ["producer"] = "Quest.Models" });
                fs.Flush(true);
            }
            File.WriteAllText(Path.Combine(tmp, ConfigFile), JsonSerializer.Serialize(model.Config, ModelConfig.Json));
            tokenizer.Save(tmp);
            extra?.Invoke(tmp);
        });
    }

    /// <summary>True when <paramref name="dir"/> holds a saved model.</summary>
    public static bool Exists(string dir) => File.Exists(Path.Combine(dir, WeightsFile)) && File.Exists(Path.Combine(dir, ConfigFile));

    /// <summary>Loads model + tokenizer from a stage directory onto <paramref name="device"/> (default: <see cref="TorchRuntime.DefaultDevice"/>).</summary>
    public static LoadedModel Load(string dir, Device? device = null)
    {
        TorchRuntime.Prepare();
        if (!Directory.Exists(dir)) throw new QuestInputException(dir, null, null, "checkpoint directory does not exist", "a stage directory with model.safetensors and config.json");
        var config = ModelConfig.Load(Path.Combine(dir, ConfigFile));
        var tokenizer = QuestTokenizer.Load(dir);
        if (tokenizer.VocabSize != config.VocabSize)
            throw new QuestInputException(Path.Combine(dir, ConfigFile), null, null, $"vocab_size {config.VocabSize} but the tokenizer has {tokenizer.VocabSize} tokens", "the tokenizer saved with this model");
        var model = new QuestTransformer(config);
        LoadWeights(model, Path.Combine(dir, WeightsFile));
        model.to(device ?? TorchRuntime.DefaultDevice);
        model.eval();
        return new LoadedModel(model, tokenizer, dir);
    }

    /// <summary>
    /// Copies weights from a safetensors file into <paramref name="model"/>. Every parameter must be present with the
    /// same shape and no extra tensors may be there; otherwise a <see cref="QuestInputException"/> lists each mismatch.
    /// </summary>
    public static void LoadWeights(QuestTransformer model, string path)
    {
        var (entries, _, _) = Safetensors.ReadHeader(path);
        var byName = entries.ToDictionary(e => e.Name);
        var problems = new List<string>();
        var parameters = model.named_parameters().ToList();
        foreach (var (name, p) in parameters)
        {
            if (!byName.TryGetValue(name, out var e)) { problems.Add($"missing tensor '{name}' [{string.Join(",", p.shape)}]"); continue; }
            if (!e.Shape.SequenceEqual(p.shape)) problems.Add($"'{name}': file has [{string.Join(",", e.Shape)}], model expects [{string.Join(",", p.shape)}]");
        }
        var known = parameters.Select(p => p.name).ToHashSet();
        foreach (var e in entries.Where(e => !known.Contains(e.Name))) problems.Add($"unexpected tensor '{e.Name}' [{string.Join(",", e.Shape)}]");
        if (problems.Count > 0)
            throw new QuestInputException(path, null, null,
                $"weights do not match the model ({model.Config}): {problems.Count} problem(s): " + string.Join("; ", problems.Take(12)) + (problems.Count > 12 ? "; …" : ""),
                "the tensors written for this config.json");
        var tensors = Safetensors.Read(path);
        using var _ = no_grad();
        foreach (var (name, p) in parameters)
        {
            using var t = tensors[name];
            p.copy_(t.to(p.dtype));
        }
    }
}
