using Quest.Models.Runtime;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace Quest.Models.Transformer;

/// <summary>RMSNorm (TorchSharp 0.107 has none): <c>x · rsqrt(mean(x²) + eps) · weight</c>, computed in float32.</summary>
public sealed class RMSNorm : nn.Module<Tensor, Tensor>
{
    private readonly Parameter weight;
    private readonly Scalar _eps;

    /// <summary>Creates the norm over the last dimension of size <paramref name="dim"/>.</summary>
    public RMSNorm(long dim, double eps) : base(nameof(RMSNorm))
    {
        weight = nn.Parameter(ones(dim));
        _eps = Scalars.Of(eps);   // held for the process's life: a temporary could be finalized mid-call (see Scalars)
        RegisterComponents();
    }

    /// <inheritdoc/>
    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        // x² is x · x, not square(): TorchSharp's square() is pow(2) with a temporary Scalar (see Scalars); libtorch
        // computes pow(x, 2) as x · x, so the numbers are the same.
        var xf = x.to_type(ScalarType.Float32);
        var y = xf * rsqrt((xf * xf).mean([-1L], keepdim: true).add(_eps, Scalars.One));
        return (y.to_type(x.dtype) * weight).MoveToOuterDisposeScope();
    }
}

/// <summary>
/// The number type of a model's matrix products, shared by its layers (<see cref="QuestTransformer.MatmulType"/>).
/// Null: float32 throughout. BFloat16: each linear layer (and the LM head) multiplies bfloat16 copies of its input and
/// weights (autocast's rule for matmuls; TorchSharp 0.107 has no autocast), while the weights, the residual stream,
/// the norms, attention and the logits stay float32, so the optimizer still updates float32 master weights.
/// </summary>
internal sealed class MatmulPrecision
{
    public ScalarType? Type;

    /// <summary><c>x · Wᵀ</c> of <paramref name="layer"/> in the matmul type.</summary>
    public Tensor Linear(Linear layer, Tensor x) => Linear(x, layer.weight!);

    /// <summary><c>x · weightᵀ</c> in the matmul type (the result in that type).</summary>
    public Tensor Linear(Tensor x, Tensor weight) =>
        Type is ScalarType t ? F.linear(x.to_type(t), weight.to_type(t)) : F.linear(x, weight);
}

/// <summary>
/// Key/value cache for incremental decoding: per layer a <c>[batch, kv_heads, capacity, head_dim]</c> buffer,
/// filled up to <see cref="Length"/>.
/// </summary>
public sealed class KvCache : IDisposable
{
    internal readonly Tensor[] K, V;

    /// <summary>Positions filled so far (the same for every sequence in the batch; padding is masked).</summary>
    public int Length { get; internal set; }
    /// <summary>Maximum positions.</summary>
    public int Capacity { get; }
    /// <summary>Batch size.</summary>
    public int Batch { get; private set; }

    /// <summary>Allocates an empty cache for <paramref name="config"/>.</summary>
    public KvCache(ModelConfig config, int batch, int capacity, Device device, ScalarType dtype = ScalarType.Float32)
    {
        Batch = batch; Capacity = capacity;
        K = new Tensor[config.Layers]; V = new Tensor[config.Layers];
        for (int i = 0; i < config.Layers; i++)
        {
            K[i] = zeros([batch, config.KvHeads, capacity, config.HeadDim], dtype: dtype, device: device);
            V[i] = zeros([batch, config.KvHeads, capacity, config.HeadDim], dtype: dtype, device: device);
        }
    }

    private KvCache(Tensor[] k, Tensor[] v, int batch, int capacity, int length)
    {
        K = k; V = v; Batch = batch; Capacity = capacity; Length = length;
    }

    /// <summary>
    /// A cache over rows <paramref name="start"/> .. <paramref name="start"/>+<paramref name="count"/>−1 of this one,
    /// sharing its buffers (what a forward over those rows writes lands here), at the same <see cref="Length"/>. Lets
    /// a long prefill run a few rows at a time. Disposing the view leaves the buffers alone.
    /// </summary>
    public KvCache Rows(int start, int count)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(start);
        ArgumentOutOfRangeException.ThrowIfLessThan(count, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(start + count, Batch);
        return new KvCache(K.Select(t => t.narrow(0, start, count)).ToArray(), V.Select(t => t.narrow(0, start, count)).ToArray(), count, Capacity, Length);
    }

    /// <summary>
    /// An empty cache over rows <paramref name="start"/> .. <paramref name="start"/>+<paramref name="count"/>−1 whose
    /// position 0 is position <paramref name="column"/> of this one (sharing its buffers): a prefill of rows that all
    /// begin at <paramref name="column"/> (left padding before it) then runs from an empty cache, so attention needs no
    /// padding mask and takes libtorch's causal kernel. Disposing the view leaves the buffers alone.
    /// </summary>
    internal KvCache Window(int start, int count, int column)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(start);
        ArgumentOutOfRangeException.ThrowIfLessThan(count, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(start + count, Batch);
        ArgumentOutOfRangeException.ThrowIfNegative(column);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(column, Capacity - 1);
        return new KvCache(K.Select(t => t.narrow(0, start, count).narrow(2, column, Capacity - column)).ToArray(),
            V.Select(t => t.narrow(0, start, count).narrow(2, column, Capacity - column)).ToArray(), count, Capacity - column, 0);
    }

    /// <summary>
    /// Fills the next <paramref name="length"/> positions (from <see cref="Length"/>) of every row of this cache with the
    /// first <paramref name="length"/> positions of row <paramref name="rowOf"/>[row] of <paramref name="source"/> (a
    /// prefill computed once for rows that share a prompt) and moves <see cref="Length"/> past them.
    /// </summary>
    internal void CopyRowsFrom(KvCache source, Tensor rowOf, int length)
    {
        for (int i = 0; i < K.Length; i++)
        {
            using var k = source.K[i].narrow(2, 0, length).index_select(0, rowOf);
            using var v = source.V[i].narrow(2, 0, length).index_select(0, rowOf);
            K[i].narrow(2, Length, length).copy_(k);
            V[i].narrow(2, Length, length).copy_(v);
        }
        Length += length;
    }

    /// <summary>
    /// Keeps only rows <paramref name="rows"/> (int64 indices, in that order) of every buffer: a batch whose finished
    /// rows are dropped decodes the rest at the cost of its live rows. The positions filled stay as they are.
    /// </summary>
    internal void KeepRows(Tensor rows)
    {
        for (int i = 0; i < K.Length; i++)
        {
            var k = K[i].index_select(0, rows).DetachFromDisposeScope();   // the cache outlives the caller's step scope
            var v = V[i].index_select(0, rows).DetachFromDisposeScope();
            K[i].Dispose(); V[i].Dispose();
            K[i] = k; V[i] = v;
        }
        Batch = (int)rows.shape[0];
    }

    /// <summary>Frees the buffers.</summary>
    public void Dispose()
    {
        foreach (var t in K) t.Dispose();
        foreach (var t in V) t.Dispose();
    }
}

/// <summary>Causal self-attention with rotary positions and grouped-query heads.</summary>
public sealed class Attention : nn.Module<Tensor, Tensor>
{
    private readonly Linear q_proj, k_proj, v_proj, o_proj;
    private readonly int _heads, _kvHeads, _headDim;
    private readonly MatmulPrecision _mm;

    internal Attention(ModelConfig c, MatmulPrecision mm) : base(nameof(Attention))
    {
        _mm = mm;
        _heads = c.Heads; _kvHeads = c.KvHeads; _headDim = c.HeadDim;
        q_proj = nn.Linear(c.DModel, c.Heads * c.HeadDim, hasBias: false);
        k_proj = nn.Linear(c.DModel, c.KvHeads * c.HeadDim, hasBias: false);
        v_proj = nn.Linear(c.DModel, c.KvHeads * c.HeadDim, hasBias: false);
        o_proj = nn.Linear(c.Heads * c.HeadDim, c.DModel, hasBias: false);
        RegisterComponents();
    }

    /// <summary>Plain causal attention over the whole sequence (training).</summary>
    public override Tensor forward(Tensor x) => throw new NotSupportedException("call Forward(x, cos, sin, mask, cache, layer)");

    internal Tensor Forward(Tensor x, Tensor cos, Tensor sin, Tensor? mask, KvCache? cache, int layer)
    {
        long B = x.shape[0], T = x.shape[1];
        var q = _mm.Linear(q_proj, x).view(B, T, _heads, _headDim).transpose(1, 2);
        var k = _mm.Linear(k_proj, x).view(B, T, _kvHeads, _headDim).transpose(1, 2);
        var v = _mm.Linear(v_proj, x).view(B, T, _kvHeads, _headDim).transpose(1, 2);
        if (q.dtype != ScalarType.Float32)
        {
            // attention itself stays float32: libtorch's CPU attention in bfloat16 measured twice as slow
            q = q.to_type(ScalarType.Float32); k = k.to_type(ScalarType.Float32); v = v.to_type(ScalarType.Float32);
        }
        q = Rope(q, cos, sin);
        k = Rope(k, cos, sin);
        int start = cache?.Length ?? 0;
        if (cache is not null)
        {
            cache.K[layer].narrow(2, start, T).copy_(k);
            cache.V[layer].narrow(2, start, T).copy_(v);
            k = cache.K[layer].narrow(2, 0, start + T);
            v = cache.V[layer].narrow(2, 0, start + T);
        }
        int groups = _heads / _kvHeads;
        Tensor y;
        if (T == 1 && groups > 1)
        {
            // Decoding one token: fold the query heads of a group into the "query length" axis, so the shared K/V
            // are used in place (no copy per step).
            var qg = q.view(B, _kvHeads, groups, _headDim);
            y = F.scaled_dot_product_attention(qg, k, v, mask).view(B, _heads, 1, _headDim);
        }
        else
        {
            if (groups > 1)
            {
                long S = k.shape[2];
                k = k.unsqueeze(2).expand(B, _kvHeads, groups, S, _headDim).reshape(B, _heads, S, _headDim);
                v = v.unsqueeze(2).expand(B, _kvHeads, groups, S, _headDim).reshape(B, _heads, S, _headDim);
            }
            // TorchSharp spells the causal flag "is_casual"; pass it positionally.
            // (a single new token after a filled cache attends to every key: no mask at all)
            y = mask is null
                ? F.scaled_dot_product_attention(q, k, v, null, 0.0, start == 0 || T > 1)
                : F.scaled_dot_product_attention(q, k, v, mask);
        }
        return _mm.Linear(o_proj, y.transpose(1, 2).reshape(B, T, _heads * _headDim));
    }

    private static Tensor Rope(Tensor x, Tensor cos, Tensor sin)
    {
        long half = x.shape[3] / 2;
        var x1 = x.narrow(3, 0, half);
        var x2 = x.narrow(3, half, half);
        return cat([x1 * cos - x2 * sin, (x2 * cos).add(x1 * sin, Scalars.One)], 3);
    }
}

/// <summary>SwiGLU MLP: <c>down(silu(gate(x)) · up(x))</c>.</summary>
public sealed class SwiGluMlp : nn.Module<Tensor, Tensor>
{
    private readonly Linear gate_proj, up_proj, down_proj;
    private readonly MatmulPrecision _mm;

    internal SwiGluMlp(ModelConfig c, MatmulPrecision mm) : base(nameof(SwiGluMlp))
    {
        _mm = mm;
        gate_proj = nn.Linear(c.DModel, c.Ffn, hasBias: false);
        up_proj = nn.Linear(c.DModel, c.Ffn, hasBias: false);
        down_proj = nn.Linear(c.Ffn, c.DModel, hasBias: false);
        RegisterComponents();
    }

    /// <inheritdoc/>
    public override Tensor forward(Tensor x) => _mm.Linear(down_proj, F.silu(_mm.Linear(gate_proj, x)) * _mm.Linear(up_proj, x));
}

/// <summary>One pre-norm block: <c>x + attn(norm(x))</c>, then <c>x + mlp(norm(x))</c>.</summary>
public sealed class DecoderBlock : nn.Module<Tensor, Tensor>
{
    private readonly RMSNorm input_layernorm, post_attention_layernorm;
    private readonly Attention self_attn;
    private readonly SwiGluMlp mlp;

    internal DecoderBlock(ModelConfig c, MatmulPrecision mm) : base(nameof(DecoderBlock))
    {
        input_layernorm = new RMSNorm(c.DModel, c.NormEps);
        self_attn = new Attention(c, mm);
        post_attention_layernorm = new RMSNorm(c.DModel, c.NormEps);
        mlp = new SwiGluMlp(c, mm);
        RegisterComponents();
    }

    /// <inheritdoc/>
    public override Tensor forward(Tensor x) => throw new NotSupportedException("call Forward");

    internal Tensor Forward(Tensor x, Tensor cos, Tensor sin, Tensor? mask, KvCache? cache, int layer)
    {
        // add(…, One), not +: the operator passes a temporary alpha Scalar (see Scalars)
        x = x.add(self_attn.Forward(input_layernorm.forward(x), cos, sin, mask, cache, layer), Scalars.One);
        return x.add(mlp.forward(post_attention_layernorm.forward(x)), Scalars.One);
    }
}

/// <summary>
/// A decoder-only transformer (Qwen/Llama style). Parameter names follow Hugging Face's Llama layout
/// (<c>embed_tokens.weight</c>, <c>layers.0.self_attn.q_proj.weight</c>, …, <c>norm.weight</c>, <c>lm_head.weight</c>).
/// <see cref="forward"/> maps token ids <c>[batch, seq]</c> to logits <c>[batch, seq, vocab]</c> with causal attention.
/// </summary>
public sealed class QuestTransformer : nn.Module<Tensor, Tensor>
{
    private readonly Embedding embed_tokens;
    private readonly ModuleList<DecoderBlock> layers;
    private readonly RMSNorm norm;
    private readonly Linear? lm_head;
    private Tensor _cos, _sin;
    private readonly MatmulPrecision _mm = new();

    /// <summary>
    /// The number type of the matrix products (null: float32). <c>BFloat16</c> is mixed precision as autocast does it:
    /// the linear layers and the LM head multiply in bfloat16; weights, residual stream, norms, attention and logits stay
    /// float32. On a CPU with AVX-512 BF16, dense training steps of the tiny model (mid-training: every position a target)
    /// took 0.72–0.77 of their float32 time (<c>quest bench train --precision</c>), while SFT steps (short rows, the head
    /// at the targets only) were no faster. Generation leaves it unset. See <see cref="Precision"/>.
    /// </summary>
    public ScalarType? MatmulType
    {
        get => _mm.Type;
        set => _mm.Type = value is ScalarType.Float32 ? null : value;
    }

    /// <summary>
    /// Sets <see cref="MatmulType"/> to what <paramref name="precision"/> (<see cref="Precision"/>: fp32, bf16, auto)
    /// resolves to on <paramref name="device"/> for a training stage; disposing the result restores the type it had, so
    /// generation after training runs in float32.
    /// </summary>
    public IDisposable UsePrecision(string? precision, Device device)
    {
        var scope = new MatmulScope(this, MatmulType);
        MatmulType = Precision.Resolve(precision, device);
        return scope;
    }

    private sealed class MatmulScope(QuestTransformer model, ScalarType? before) : IDisposable
    {
        public void Dispose() => model.MatmulType = before;
    }

    /// <summary>The shape of this model.</summary>
    public ModelConfig Config { get; }

    /// <summary>Builds a freshly initialised model on the CPU (move it with <c>to(device)</c>).</summary>
    public QuestTransformer(ModelConfig config, long? seed = null) : base(nameof(QuestTransformer))
    {
        TorchRuntime.Prepare();
        Config = config.Validate();
        // The seed goes through libtorch's global generator: seeding and drawing the initial weights must not interleave
        // with another model being built on another thread, or two models with one seed get different weights.
        lock (InitLock)
        {
            if (seed is not null) manual_seed(seed.Value);
            embed_tokens = nn.Embedding(config.VocabSize, config.DModel);
            layers = new ModuleList<DecoderBlock>();
            for (int i = 0; i < config.Layers; i++) layers.Add(new DecoderBlock(config, _mm));
            norm = new RMSNorm(config.DModel, config.NormEps);
            if (!config.TieEmbeddings) lm_head = nn.Linear(config.DModel, config.VocabSize, hasBias: false);
            RegisterComponents();
            (_cos, _sin) = RopeTables(config, CPU);
            InitWeights();
        }
    }

    private static readonly object InitLock = new();

    /// <summary>Device of the parameters.</summary>
    public Device Device => embed_tokens.weight!.device;

    /// <summary>Number of parameters (tied embeddings counted once).</summary>
    public long ParameterCount => parameters().Sum(p => p.numel());

    private void InitWeights()
    {
        using var _ = no_grad();
        double std = Config.InitStd, outStd = std / Math.Sqrt(2.0 * Config.Layers);
        foreach (var (name, p) in named_parameters())
        {
            if (name.EndsWith("layernorm.weight") || name == "norm.weight") continue;
            nn.init.normal_(p, 0, name.EndsWith("o_proj.weight") || name.EndsWith("down_proj.weight") ? outStd : std);
        }
    }

    private static (Tensor, Tensor) RopeTables(ModelConfig c, Device device)
    {
        int half = c.HeadDim / 2;
        var invFreq = pow(c.RopeTheta, -arange(Scalars.Zero, Scalars.Of((long)half), Scalars.One, dtype: ScalarType.Float64).div(Scalars.Of((long)half)));
        var pos = arange(Scalars.Zero, Scalars.Of((long)c.MaxSeqLen), Scalars.One, dtype: ScalarType.Float64);
        var ang = outer(pos, invFreq);
        return (ang.cos().to_type(ScalarType.Float32).to(device), ang.sin().to_type(ScalarType.Float32).to(device));
    }

    /// <inheritdoc/>
    protected override nn.Module _to(Device device, ScalarType dtype, bool non_blocking)
    {
        var r = base._to(device, dtype, non_blocking);
        MoveTables(device);
        return r;
    }

    /// <inheritdoc/>
    protected override nn.Module _to(DeviceType deviceType, int deviceIndex, bool non_blocking)
    {
        var r = base._to(deviceType, deviceIndex, non_blocking);
        MoveTables(new Device(deviceType, deviceIndex));
        return r;
    }

    private void MoveTables(Device device)
    {
        if (_cos.device == device) return;
        var (c, s) = (_cos.to(device), _sin.to(device));
        _cos.Dispose(); _sin.Dispose();
        (_cos, _sin) = (c, s);
    }

    /// <summary>Logits <c>[batch, seq, vocab]</c> for ids <c>[batch, seq]</c>, causal, positions 0..seq-1.</summary>
    public override Tensor forward(Tensor ids) => Forward(ids, null, null, null);

    /// <summary>Final hidden states <c>[batch, seq, d_model]</c> (after the last norm, before the LM head); arguments as <see cref="Forward"/>.</summary>
    public Tensor Hidden(Tensor ids, Tensor? positions, Tensor? mask, KvCache? cache)
    {
        long T = ids.shape[1];
        int start = cache?.Length ?? 0;
        if (start + T > Config.MaxSeqLen)
            throw new ArgumentException($"sequence of {start + T} positions exceeds max_seq_len {Config.MaxSeqLen}");
        if (cache is not null && mask is null && T > 1 && start > 0)
            throw new ArgumentException("a multi-token step on a non-empty cache needs an explicit mask");
        Tensor cos, sin;
        if (positions is null)
        {
            cos = _cos.narrow(0, start, T).view(1, 1, T, -1);
            sin = _sin.narrow(0, start, T).view(1, 1, T, -1);
        }
        else
        {
            cos = _cos.index_select(0, positions.reshape(-1)).view(positions.shape[0], 1, T, -1);
            sin = _sin.index_select(0, positions.reshape(-1)).view(positions.shape[0], 1, T, -1);
        }
        var x = embed_tokens.forward(ids);
        for (int i = 0; i < layers.Count; i++) x = layers[i].Forward(x, cos, sin, mask, cache, i);
        if (cache is not null) cache.Length = start + (int)T;
        return norm.forward(x);
    }

    /// <summary>
    /// The general forward: logits <c>[batch, seq, vocab]</c> of <see cref="Hidden"/>. <paramref name="positions"/>
    /// <c>[batch, seq]</c> (int64) gives each token's rotary position (null: <c>cache.Length + 0..seq-1</c>);
    /// <paramref name="mask"/> <c>[batch, 1, seq, keys]</c> (bool, true = may attend) replaces the causal mask (null:
    /// causal); with <paramref name="cache"/> the new keys and values are appended at <c>cache.Length</c>, which then
    /// advances by seq.
    /// </summary>
    public Tensor Forward(Tensor ids, Tensor? positions, Tensor? mask, KvCache? cache) => Logits(Hidden(ids, positions, mask, cache));

    /// <summary>
    /// Logits of final hidden states <c>[..., d_model]</c> (the LM head). Trainers that score only some positions
    /// (RL: the generated tokens) select those hidden states first: the head and the softmax are a large share of a
    /// small model's cost.
    /// </summary>
    public Tensor Logits(Tensor hidden)
    {
        var logits = _mm.Linear(hidden, lm_head is null ? embed_tokens.weight! : lm_head.weight!);
        return logits.dtype == ScalarType.Float32 ? logits : logits.to_type(ScalarType.Float32);
    }

    /// <summary>A new empty cache for this model.</summary>
    public KvCache NewCache(int batch, int capacity) => new(Config, batch, Math.Min(capacity, Config.MaxSeqLen), Device);
}
