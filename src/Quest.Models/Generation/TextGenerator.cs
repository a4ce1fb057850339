using Quest.Models.Runtime;
using Quest.Models.Tokenization;
using Quest.Models.Transformer;
using TorchSharp;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace Quest.Models.Generation;

/// <summary>How to sample.</summary>
public sealed record GenerationOptions
{
    /// <summary>Most tokens to generate per sequence (also capped by the model's max_seq_len).</summary>
    public int MaxNewTokens { get; init; } = 256;
    /// <summary>Softmax temperature; 0 = greedy (argmax).</summary>
    public double Temperature { get; init; } = 1.0;
    /// <summary>Nucleus sampling: keep the smallest set of tokens whose probability reaches TopP (1 = off).</summary>
    public double TopP { get; init; } = 1.0;
    /// <summary>Keep only the K most likely tokens (0 = off).</summary>
    public int TopK { get; init; }
    /// <summary>Generation stops when the text contains one of these; the text is cut before it.</summary>
    public IReadOnlyList<string> StopSequences { get; init; } = [];
    /// <summary>Token ids that end a sequence (kept in TokenIds, not in Text). Null: &lt;|im_end|&gt; and &lt;|endoftext|&gt;.</summary>
    public IReadOnlyList<int>? StopTokenIds { get; init; }
    /// <summary>Seed of the sampler (null: torch's global generator, as <c>manual_seed</c> last left it). Same seed, same
    /// prompts, same options → same output.</summary>
    public long? Seed { get; init; }
    /// <summary>Use the key/value cache (false recomputes the whole prefix every step; for checks and benchmarks).</summary>
    public bool UseKvCache { get; init; } = true;
    /// <summary>
    /// Prefill rows of one prompt length together and unmasked (a cache window that starts where their padding ends),
    /// so attention takes libtorch's causal kernel and computes no padding; off (the default), every chunk of up to
    /// <see cref="TextGenerator.PrefillRowsPerChunk"/> rows masks its padding. Results are the same either way (within
    /// float rounding). Measured with <c>quest bench rollout</c> (8 groups of 8, a tiny SFT checkpoint): unmasked runs
    /// 28,770 prompt tokens/s against 30,791 masked and 33,686 one row at a time: rows sorted longest first leave masked
    /// chunks almost no padding, and rows of one length are mostly one row, so it is an option, not the default.
    /// </summary>
    public bool PrefillUnmaskedRuns { get; init; }
    /// <summary>
    /// Take the keys and values of an earlier prompt this prompt starts with from the generator's store instead of
    /// computing them (when the generator keeps prompts: <see cref="TextGenerator.PrefixCapacity"/>). Default true; off
    /// for comparison (<c>quest bench rollout</c>) or with <see cref="PrefillUnmaskedRuns"/>, which it does not combine with.
    /// </summary>
    public bool ReusePrefixes { get; init; } = true;
}

/// <summary>Why a sequence ended.</summary>
public enum FinishReason
{
    /// <summary>A stop token was sampled.</summary>
    StopToken,
    /// <summary>A stop sequence appeared in the text.</summary>
    StopSequence,
    /// <summary>MaxNewTokens (or the context window) was reached.</summary>
    Length,
}

/// <summary>One generated continuation.</summary>
/// <param name="PromptIds">The prompt.</param>
/// <param name="TokenIds">Every sampled token (including a final stop token).</param>
/// <param name="Logprobs">Per sampled token, log p(token | prefix) under the distribution it was drawn from: the model's
/// logits divided by the sampling temperature (temperature 1 when greedy), before top-k/top-p filtering. What RL
/// importance ratios need (<c>GrpoOptions.Temperature</c> divides the update's logits the same way).</param>
/// <param name="Text">The decoded text, cut before a stop sequence, without the stop token.</param>
/// <param name="Finish">Why it ended.</param>
public sealed record GeneratedSequence(int[] PromptIds, int[] TokenIds, float[] Logprobs, string Text, FinishReason Finish);

/// <summary>
/// Where a generator's time went, summed over its calls: the prompt's prefill (one pass over every prompt token) and the
/// decode steps (one token per row each). An agent turn's prompt is hundreds of tokens and its reply tens, so rollouts
/// are prefill-bound; <c>quest bench rollout</c> reports this split.
/// </summary>
public sealed class GenerationStats
{
    /// <summary>Generate calls (batches).</summary>
    public int Calls { get; internal set; }
    /// <summary>Rows generated.</summary>
    public long Rows { get; internal set; }
    /// <summary>Prompt positions prefilled, padding included (each distinct prompt once; a row chunk pads to its longest row).</summary>
    public long PrefillPositions { get; internal set; }
    /// <summary>Rows whose prompt equalled an earlier row's in the same call, so their prefill was copied, not computed.</summary>
    public long SharedPrefillRows { get; internal set; }
    /// <summary>Real prompt tokens prefilled (each distinct prompt once).</summary>
    public long PromptTokens { get; internal set; }
    /// <summary>Prompt tokens whose keys and values came from an earlier call's prompt (<see cref="TextGenerator.PrefixCapacity"/>) instead of being computed.</summary>
    public long ReusedPromptTokens { get; internal set; }
    /// <summary>Seconds in prefill.</summary>
    public double PrefillSeconds { get; internal set; }
    /// <summary>Decode steps (one forward of the whole batch each).</summary>
    public long DecodeSteps { get; internal set; }
    /// <summary>Rows computed over all decode steps (finished rows are dropped once half of a batch has finished).</summary>
    public long DecodeRows { get; internal set; }
    /// <summary>Tokens sampled (finished rows excluded).</summary>
    public long GeneratedTokens { get; internal set; }
    /// <summary>Seconds in decode steps and sampling.</summary>
    public double DecodeSeconds { get; internal set; }
}

/// <summary>
/// Batched autoregressive sampling with a key/value cache. Prompts of different lengths are left-padded; padding
/// is masked out and rotary positions count only real tokens, so each sequence gets exactly what it would get alone.
/// Identical prompts in one call share one prefill (a GRPO group's eight rollouts of a question start from it), and
/// prompts are prefilled longest first so little of the padding is computed. With <see cref="PrefixCapacity"/>, a prompt
/// that starts with an earlier call's prompt (an agent's next turn) takes that prompt's keys and values and computes only the rest.
/// </summary>
public sealed class TextGenerator(QuestTransformer model, QuestTokenizer tokenizer) : IDisposable
{
    private PrefixStore? _prefixes;

    /// <summary>
    /// How many earlier prompts' keys and values to keep for later prompts that start with them (0, the default: none).
    /// Only for a generator whose model's weights do not change while it is used (one rollout or eval phase: what
    /// <see cref="LocalChatClient.Batched"/> makes); after a weight update call <see cref="ClearPrefixes"/>.
    /// </summary>
    public int PrefixCapacity { get; init; }

    /// <summary>Forgets the kept prompts' keys and values (<see cref="PrefixCapacity"/>).</summary>
    public void ClearPrefixes() => Quest.Models.Runtime.TorchThread.Run(() => _prefixes?.Clear());

    /// <summary>Frees the kept prompts' keys and values.</summary>
    public void Dispose() => ClearPrefixes();

    /// <summary>The model.</summary>
    public QuestTransformer Model { get; } = model;
    /// <summary>The tokenizer.</summary>
    public QuestTokenizer Tokenizer { get; } = tokenizer;
    /// <summary>Time and work of every call so far (one call runs at a time per generator; callers serialise).</summary>
    public GenerationStats Stats { get; } = new();

    /// <summary>Generates a continuation of one text prompt (special tokens in it are recognised).</summary>
    public GeneratedSequence Generate(string prompt, GenerationOptions? options = null, CancellationToken ct = default) =>
        Generate([Tokenizer.Encode(prompt)], options, ct)[0];

    /// <summary>
    /// Generates a continuation for every prompt, all in one batch. <paramref name="onToken"/>, when given, is called
    /// with (sequence index, token id, logprob) as each token is sampled (for streaming). <paramref name="temperatures"/>,
    /// when given, is each row's own temperature in place of the options' (0: that row decodes greedily), so sampled
    /// and greedy rows share one batch (an RL group and its greedy baseline rollout).
    /// </summary>
    public IReadOnlyList<GeneratedSequence> Generate(IReadOnlyList<int[]> prompts, GenerationOptions? options = null, CancellationToken ct = default,
        Action<int, int, float>? onToken = null, IReadOnlyList<double>? temperatures = null) =>
        Quest.Models.Runtime.TorchThread.Run(() => GenerateHere(prompts, options, ct, onToken, temperatures));   // decoding runs on the torch thread

    private IReadOnlyList<GeneratedSequence> GenerateHere(IReadOnlyList<int[]> prompts, GenerationOptions? options, CancellationToken ct,
        Action<int, int, float>? onToken, IReadOnlyList<double>? temperatures)
    {
        options ??= new GenerationOptions();
        if (prompts.Count == 0) return [];
        if (prompts.Any(p => p.Length == 0)) throw new ArgumentException("every prompt needs at least one token");
        if (temperatures is not null)
        {
            if (temperatures.Count != prompts.Count) throw new ArgumentException("one temperature per prompt", nameof(temperatures));
            if (temperatures.Any(t => !double.IsFinite(t))) throw new ArgumentException("temperatures are finite (≤ 0: greedy)", nameof(temperatures));
            // one temperature for the whole batch is the ordinary path
            if (temperatures.All(t => t == temperatures[0])) { options = options with { Temperature = temperatures[0] }; temperatures = null; }
        }
        int B = prompts.Count, L = prompts.Max(p => p.Length);
        if (L >= Model.Config.MaxSeqLen) throw new ArgumentException($"a prompt of {L} tokens leaves no room in max_seq_len {Model.Config.MaxSeqLen}");
        int maxNew = Math.Min(options.MaxNewTokens, Model.Config.MaxSeqLen - L);
        var stopIds = new HashSet<int>(options.StopTokenIds ?? new[] { Tokenizer.ImEndId, Tokenizer.EndOfTextId }.Where(i => i >= 0));
        // tokens whose text can hold the longest stop sequence (every token is at least one byte, at most 4 per char)
        int tail = options.StopSequences.Count == 0 ? 0 : options.StopSequences.Max(x => System.Text.Encoding.UTF8.GetByteCount(x)) + 1;
        int pad = Math.Max(0, Tokenizer.EndOfTextId);
        var device = Model.Device;
        Generator? gen = options.Seed is long s ? new Generator((ulong)s, device) : null;

        var rows = new RowOutputs(B);
        int capacity = L + maxNew;

        using var _ = no_grad();
        Tensor? valid = null;   // which key positions are real tokens; replaced when finished rows leave the batch
        var clock = new System.Diagnostics.Stopwatch();
        bool decoding = false;
        bool wasTraining = Model.training;
        Model.eval();
        try
        {
            var (allIdsT, validT, nextPos) = LeftPad(prompts, L, capacity, pad, device);
            valid = validT;
            using var allIds = allIdsT;
            using var cache = options.UseKvCache ? Model.NewCache(B, capacity) : null;
            var history = new List<long[]>();   // generated tokens per step (for the no-cache path)

            clock.Start();
            var lastLogits = Prefill(prompts, allIds, valid, L, capacity, cache, device, options.PrefillUnmaskedRuns, options.ReusePrefixes);
            Stats.PrefillSeconds += clock.Elapsed.TotalSeconds;
            clock.Restart();
            decoding = true;
            // the rows still in the batch (caller's indices); with a KV cache, finished rows are dropped once half of
            // the batch has finished, so a long reply does not make every finished row decode along with it
            var active = Enumerable.Range(0, B).ToArray();

            for (int step = 0; step < maxNew; step++)
            {
                ct.ThrowIfCancellationRequested();
                long[] next;
                float[] lps;
                using (var scope = NewDisposeScope())
                {
                    var (tok, lp) = temperatures is null ? Sample(lastLogits, options, gen)
                        : SampleRows(lastLogits, options, active.Select(b => temperatures[b]).ToArray(), gen);
                    next = tok.cpu().data<long>().ToArray();
                    lps = lp.cpu().data<float>().ToArray();
                }
                lastLogits.Dispose();
                bool allDone = Accept(active, next, lps, rows, stopIds, options.StopSequences, tail, pad, onToken);
                if (allDone || step == maxNew - 1) break;
                Stats.DecodeSteps++;
                using var scope2 = NewDisposeScope();
                int S = L + step + 1;   // keys after appending this token
                if (cache is not null && DropFinishedRows)
                {
                    var keep = Enumerable.Range(0, active.Length).Where(j => rows.Finish[active[j]] is null).ToArray();
                    if (keep.Length <= active.Length / 2)
                    {
                        using var keptRows = tensor(keep.Select(j => (long)j).ToArray(), device: device);
                        cache.KeepRows(keptRows);
                        var kept = valid.index_select(0, keptRows);
                        valid.Dispose();
                        valid = kept.DetachFromDisposeScope();
                        next = keep.Select(j => next[j]).ToArray();
                        active = keep.Select(j => active[j]).ToArray();
                    }
                }
                else history.Add(next);
                int Bc = active.Length;
                Stats.DecodeRows += Bc;
                valid.narrow(1, S - 1, 1).fill_(Scalars.True);
                var posT = tensor(active.Select(b => nextPos[b]).ToArray(), [Bc, 1], device: device);
                foreach (int b in active) nextPos[b]++;
                if (cache is not null)
                {
                    var stepIds = tensor(next, [Bc, 1], device: device);
                    var mask = valid.narrow(1, 0, S).view(Bc, 1, 1, S);
                    var logits = Model.Forward(stepIds, posT, mask, cache);
                    lastLogits = logits.select(1, 0).to_type(ScalarType.Float32).MoveToOuterDisposeScope();
                }
                else
                {
                    // full recompute of prompt + everything generated so far
                    int n = history.Count;
                    var genArr = new long[B * n];
                    for (int i = 0; i < n; i++) for (int b = 0; b < B; b++) genArr[b * n + i] = history[i][b];
                    var gen2 = tensor(genArr, [B, n], device: device);
                    var full = cat([allIds, gen2], 1);
                    var v = valid.narrow(1, 0, S);
                    var pos = Positions(v);
                    lastLogits = PrefillLastLogits(full, pos, PrefillMask(v, S, device), null, prompts.Select(p => p.Length + S - L).ToArray(), options.PrefillUnmaskedRuns, out long _).MoveToOuterDisposeScope();
                }
            }
        }
        finally
        {
            valid?.Dispose();
            if (decoding) Stats.DecodeSeconds += clock.Elapsed.TotalSeconds;
            if (wasTraining) Model.train();
            gen?.Dispose();
        }

        var result = new GeneratedSequence[B];
        for (int b = 0; b < B; b++)
        {
            var ids = rows.Ids[b];
            var f = rows.Finish[b] ?? FinishReason.Length;
            var text = rows.Texts[b] ?? Tokenizer.Decode(f == FinishReason.StopToken ? ids.Take(ids.Count - 1) : ids);
            result[b] = new GeneratedSequence(prompts[b], [.. ids], [.. rows.Logprobs[b]], text, f);
        }
        return result;
    }

    /// <summary>What each row of a generate call has written so far: tokens, their logprobs, why it finished, its cut text.</summary>
    private sealed class RowOutputs(int rows)
    {
        public readonly List<int>[] Ids = [.. Enumerable.Range(0, rows).Select(_ => new List<int>())];
        public readonly List<float>[] Logprobs = [.. Enumerable.Range(0, rows).Select(_ => new List<float>())];
        public readonly FinishReason?[] Finish = new FinishReason?[rows];
        public readonly string?[] Texts = new string?[rows];
    }

    /// <summary>The prompts left-padded to <paramref name="length"/>, which key positions are real tokens (for the whole capacity), and each row's next position.</summary>
    private static (Tensor Ids, Tensor Valid, long[] NextPos) LeftPad(IReadOnlyList<int[]> prompts, int length, int capacity, int pad, Device device)
    {
        int B = prompts.Count;
        var ids = new long[B * length];
        var valid = new bool[B * capacity];
        var nextPos = new long[B];
        for (int b = 0; b < B; b++)
        {
            var p = prompts[b];
            int off = length - p.Length;
            for (int t = 0; t < length; t++)
            {
                ids[b * length + t] = t < off ? pad : p[t - off];
                valid[b * capacity + t] = t >= off;
            }
            nextPos[b] = p.Length;
        }
        return (tensor(ids, [B, length], device: device), tensor(valid, [B, capacity], device: device), nextPos);
    }

    /// <summary>
    /// The prefill of a generate call: fills <paramref name="cache"/> with every prompt's keys and values and returns
    /// each row's last logits. Identical prompts (a GRPO group's first turn: eight rollouts of one question) are
    /// prefilled once, and the distinct ones longest first, so each row chunk skips the padding columns all its rows
    /// share; keys, values and last logits are then copied to the rows in the caller's order. With a prefix store, a
    /// prompt's kept start is copied in first and only the rest is computed, and this call's prompts are kept.
    /// </summary>
    private Tensor Prefill(IReadOnlyList<int[]> prompts, Tensor allIds, Tensor valid, int L, int capacity, KvCache? cache, Device device, bool unmaskedRuns, bool reusePrefixes)
    {
        int B = prompts.Count;
        var (order, rowOf) = PrefillOrder(prompts);
        int U = order.Length;
        var lengths = order.Select(i => prompts[i].Length).ToArray();
        Stats.Calls++; Stats.Rows += B; Stats.SharedPrefillRows += B - U;
        Stats.PromptTokens += lengths.Sum(n => (long)n);
        using var scope = NewDisposeScope();
        var v = valid.narrow(1, 0, L);
        var pos = Positions(v);
        var mask = PrefillMask(v, L, device);
        // an earlier prompt each distinct prompt starts with: its keys and values are copied in, the rest computed
        var store = PrefixCapacity > 0 && reusePrefixes && cache is not null && !unmaskedRuns ? _prefixes ??= new PrefixStore(PrefixCapacity) : null;
        var reuse = store is null ? null : order.Select(i => store.Longest(prompts[i])).ToArray();
        var toCompute = lengths;
        if (reuse is not null && reuse.Any(x => x is not null)) (order, lengths, reuse, toCompute) = ByLengthToCompute(order, lengths, reuse, rowOf);
        else reuse = null;
        long computed;
        Tensor lastLogits;
        KvCache? shared = null;
        try
        {
            if (store is null && order.SequenceEqual(Enumerable.Range(0, B)))   // nothing shared or kept (no store, so nothing reused), and already longest first
            {
                lastLogits = PrefillLastLogits(allIds, pos, mask, cache, toCompute, unmaskedRuns, out computed).MoveToOuterDisposeScope();
            }
            else
            {
                var u = tensor(order.Select(i => (long)i).ToArray(), device: device);
                var map = tensor(rowOf, device: device);
                shared = cache is null ? null : Model.NewCache(U, capacity);
                for (int j = 0; reuse is not null && j < U; j++)
                    if (reuse[j] is { } hit)
                    {
                        PrefixStore.CopyInto(hit.Entry, hit.Common, shared!, j, L - lengths[j]);
                        Stats.ReusedPromptTokens += hit.Common;
                    }
                var logitsU = PrefillLastLogits(allIds.index_select(0, u), pos.index_select(0, u), mask.index_select(0, u), shared, toCompute, unmaskedRuns, out computed);
                cache?.CopyRowsFrom(shared!, map, L);
                lastLogits = logitsU.index_select(0, map).MoveToOuterDisposeScope();
            }
            // the store keeps the distinct prompts' cache whole (the call's own cache is reused for decoding: not that one)
            if (store is not null && shared is not null && store.Add([.. order.Select(i => prompts[i])], shared, [.. lengths.Select(n => L - n)])) shared = null;
        }
        finally { shared?.Dispose(); }
        Stats.PrefillPositions += computed;
        return lastLogits;
    }

    /// <summary>
    /// The distinct prompts reordered by the length still to compute once the reused keys and values are copied in,
    /// longest first (stable), so a row chunk computes little beyond its rows' own tokens; <paramref name="rowOf"/> is
    /// updated in place to the new order.
    /// </summary>
    private static (int[] Order, int[] Lengths, (PrefixStore.Entry Entry, int Common)?[] Reuse, int[] ToCompute) ByLengthToCompute(
        int[] order, int[] lengths, (PrefixStore.Entry Entry, int Common)?[] reuse, long[] rowOf)
    {
        var rest = lengths.Select((n, j) => n - (reuse[j]?.Common ?? 0)).ToArray();
        var perm = Enumerable.Range(0, order.Length).OrderByDescending(j => rest[j]).ToArray();
        var slot = new long[order.Length];
        for (int k = 0; k < perm.Length; k++) slot[perm[k]] = k;
        for (int b = 0; b < rowOf.Length; b++) rowOf[b] = slot[rowOf[b]];
        return ([.. perm.Select(j => order[j])], [.. perm.Select(j => lengths[j])], [.. perm.Select(j => reuse[j])], [.. perm.Select(j => rest[j])]);
    }

    /// <summary>
    /// Takes one sampled token per active row (<paramref name="next"/>, <paramref name="lps"/>, in
    /// <paramref name="active"/>'s order): appends it to the row, streams it, and finishes the row on a stop token or a
    /// completed stop sequence; a row finished earlier gets <paramref name="pad"/>. Returns whether every row has finished.
    /// </summary>
    private bool Accept(int[] active, long[] next, float[] lps, RowOutputs rows, HashSet<int> stopIds, IReadOnlyList<string> stopSequences, int tail, int pad,
        Action<int, int, float>? onToken)
    {
        bool allDone = true;
        for (int j = 0; j < active.Length; j++)
        {
            int b = active[j];
            if (rows.Finish[b] is not null) { next[j] = pad; continue; }
            rows.Ids[b].Add((int)next[j]);
            Stats.GeneratedTokens++;
            rows.Logprobs[b].Add(lps[j]);
            onToken?.Invoke(b, (int)next[j], lps[j]);
            if (stopIds.Contains((int)next[j])) { rows.Finish[b] = FinishReason.StopToken; continue; }
            // a stop sequence can only have completed in the text of the last few tokens: decode that tail
            // (decoding the whole output every step made each row O(n²) and batching pointless)
            if (stopSequences.Count > 0 && FirstStop(Tokenizer.Decode(rows.Ids[b].Skip(Math.Max(0, rows.Ids[b].Count - tail))), stopSequences) >= 0)
            {
                var text = Tokenizer.Decode(rows.Ids[b]);
                int cut = FirstStop(text, stopSequences);
                if (cut >= 0) { rows.Finish[b] = FinishReason.StopSequence; rows.Texts[b] = text[..cut]; continue; }
            }
            allDone = false;
        }
        return allDone;
    }

    /// <summary>
    /// Drop finished rows from the decode batch once half of it has finished (with a KV cache): a decode step reads
    /// every row's cached keys and values, so finished rows cost as much as live ones. Results are the same either way.
    /// </summary>
    public bool DropFinishedRows { get; init; } = true;

    /// <summary>Most bytes a prefill chunk's largest activation may take (see <see cref="ActivationChunks"/>).</summary>
    public long PrefillChunkBytes { get; init; } = ActivationChunks.DefaultBytes;

    /// <summary>Rows per prefill chunk for prompts of <paramref name="length"/> tokens (the LM head runs on the last position only).</summary>
    public int PrefillRowsPerChunk(int length) => ActivationChunks.RowsPerChunk(Model.Config, length, allLogits: false, PrefillChunkBytes);

    /// <summary>
    /// The prompt's pass: hidden states row chunk by row chunk (each chunk's keys and values written to its rows of
    /// <paramref name="cache"/>), then the LM head on the last position only ([B, L, vocab] logits of the whole prompt
    /// would be a third of the work). <paramref name="lengths"/> are the rows' real prompt lengths: a chunk starts at
    /// its longest row's first token (the left-padding columns before it are left out; their cache slots stay masked),
    /// so rows sorted by length cost about their own tokens. <paramref name="positions"/>: the positions computed.
    /// Returns float32 logits <c>[B, vocab]</c>.
    /// </summary>
    private Tensor PrefillLastLogits(Tensor ids, Tensor pos, Tensor mask, KvCache? cache, int[] lengths, bool unmaskedRuns, out long positions)
    {
        int B = (int)ids.shape[0], L = (int)ids.shape[1];
        positions = 0;
        int n = PrefillRowsPerChunk(L);
        var last = new List<Tensor>();
        for (int r = 0; r < B;)
        {
            // with GenerationOptions.PrefillUnmaskedRuns, rows of one length form a chunk of their own: with no padding among them,
            // attention runs unmasked on libtorch's causal kernel; otherwise a chunk of mixed lengths masks its padding
            int k = Math.Min(n, B - r);
            if (unmaskedRuns) k = Math.Max(1, lengths.Skip(r).Take(k).TakeWhile(x => x == lengths[r]).Count());
            int off = L - lengths.Skip(r).Take(k).Max(), T = L - off;
            bool unmasked = unmaskedRuns;   // k rows of one length: no padding among them
            using var rows = !unmasked ? cache?.Rows(r, k) : cache?.Window(r, k, off);
            if (rows is not null && !unmasked) rows.Length += off;
            Tensor? m = null;
            if (!unmasked)
            {
                m = mask.narrow(0, r, k).narrow(2, off, T);
                if (rows is null) m = m.narrow(3, off, T);
            }
            var hidden = Model.Hidden(ids.narrow(0, r, k).narrow(1, off, T), pos.narrow(0, r, k).narrow(1, off, T), m, rows);
            last.Add(hidden.select(1, T - 1));
            positions += (long)k * T;
            r += k;
        }
        if (cache is not null) cache.Length += L;
        return Model.Logits(last.Count == 1 ? last[0] : cat(last, 0)).to_type(ScalarType.Float32);
    }

    /// <summary>
    /// The rows to prefill: the first row of each distinct prompt, longest first (ties in the caller's order); and for
    /// every row the index (into those) of its prompt.
    /// </summary>
    internal static (int[] Order, long[] RowOf) PrefillOrder(IReadOnlyList<int[]> prompts)
    {
        var first = new Dictionary<int[], int>(PromptComparer.Instance);
        var unique = new List<int>();
        for (int b = 0; b < prompts.Count; b++)
            if (first.TryAdd(prompts[b], b)) unique.Add(b);
        var order = unique.OrderByDescending(b => prompts[b].Length).ToArray();   // stable
        var slot = new long[prompts.Count];                                         // first row → its place in order
        for (int i = 0; i < order.Length; i++) slot[order[i]] = i;
        var rowOf = new long[prompts.Count];
        for (int b = 0; b < prompts.Count; b++) rowOf[b] = slot[first[prompts[b]]];
        return (order, rowOf);
    }

    private sealed class PromptComparer : IEqualityComparer<int[]>
    {
        public static readonly PromptComparer Instance = new();
        public bool Equals(int[]? a, int[]? b) => ReferenceEquals(a, b) || a is not null && b is not null && a.AsSpan().SequenceEqual(b);
        public int GetHashCode(int[] a)
        {
            var h = new HashCode();
            h.AddBytes(System.Runtime.InteropServices.MemoryMarshal.AsBytes(a.AsSpan()));
            return h.ToHashCode();
        }
    }

    /// <summary>Rotary positions of left-padded rows: each real token counts the real tokens before it (padding: 0).</summary>
    private static Tensor Positions(Tensor valid) =>
        valid.to_type(ScalarType.Int64).cumsum(1).sub(Scalars.One).clamp_min(Scalars.Zero);

    /// <summary>Causal mask restricted to real (non-padding) keys; every query may also see itself so no row is empty.</summary>
    internal static Tensor PrefillMask(Tensor valid, long S, Device device)
    {
        long B = valid.shape[0];
        var causal = ones([S, S], dtype: ScalarType.Bool, device: device).tril();
        var keys = valid.view(B, 1, 1, S);
        var self = eye(S, dtype: ScalarType.Bool, device: device);
        return causal.view(1, 1, S, S).logical_and(keys).logical_or(self.view(1, 1, S, S));
    }

    /// <summary>
    /// The logits of the policy at <paramref name="temperature"/>: divided by it, or unchanged at 1 and when greedy
    /// (≤ 0). The one definition the sampler's stored log-probs and the GRPO update's ratios share.
    /// </summary>
    internal static Tensor AtTemperature(Tensor logits, double temperature) =>
        temperature > 0 && temperature != 1.0 ? logits.div(Scalars.Of(temperature)) : logits;

    /// <summary>
    /// Samples one token per row of <paramref name="logits"/> <c>[B, V]</c>; returns (tokens, their log-probs at the
    /// sampling temperature before top-k/top-p filtering; at temperature 1 when greedy).
    /// </summary>
    internal static (Tensor Tokens, Tensor Logprobs) Sample(Tensor logits, GenerationOptions o, Generator? gen)
    {
        var tempered = AtTemperature(logits, o.Temperature);
        var tok = o.Temperature <= 0 ? logits.argmax(-1) : Draw(tempered, o, gen);
        return (tok, F.log_softmax(tempered, -1).gather(1, tok.unsqueeze(1)).squeeze(1));
    }

    /// <summary>
    /// As <see cref="Sample"/> with a temperature per row (<paramref name="temperatures"/>; ≤ 0: that row takes its argmax,
    /// with its log-prob at temperature 1). Each sampled row draws from the same distribution as alone at its temperature.
    /// </summary>
    internal static (Tensor Tokens, Tensor Logprobs) SampleRows(Tensor logits, GenerationOptions o, double[] temperatures, Generator? gen)
    {
        long B = logits.shape[0];
        var tempered = logits.div(tensor(temperatures.Select(t => t > 0 ? (float)t : 1f).ToArray(), [B, 1], device: logits.device));
        var greedy = tensor(temperatures.Select(t => t <= 0).ToArray(), device: logits.device);
        var tok = where(greedy, logits.argmax(-1), Draw(tempered, o, gen));
        return (tok, F.log_softmax(tempered, -1).gather(1, tok.unsqueeze(1)).squeeze(1));
    }

    /// <summary>One token per row of the <paramref name="tempered"/> logits <c>[B, V]</c>, after <see cref="GenerationOptions.TopK"/>
    /// and <see cref="GenerationOptions.TopP"/> filtering: the draw <see cref="Sample"/> and <see cref="SampleRows"/> share.</summary>
    private static Tensor Draw(Tensor tempered, GenerationOptions o, Generator? gen)
    {
        var l = tempered;
        if (o.TopK > 0 && o.TopK < l.shape[1])
        {
            var kth = l.topk(o.TopK, -1).values.narrow(1, o.TopK - 1, 1);
            l = l.masked_fill(l.lt(kth), Scalars.NegativeInfinity);
        }
        if (o.TopP < 1.0)
        {
            var (sorted, idx) = l.sort(-1, descending: true);
            var probs = F.softmax(sorted, -1);
            var before = probs.cumsum(-1) - probs;            // mass of strictly more likely tokens
            var drop = before.gt(Scalars.Of(o.TopP));         // keep the first token always
            var dropOrig = drop.scatter(1, idx, drop);   // idx is a permutation: back to vocabulary order
            l = l.masked_fill(dropOrig, Scalars.NegativeInfinity);
        }
        return InverseCdf(F.softmax(l, -1), gen);
    }

    /// <summary>
    /// One token per row of <paramref name="probs"/> <c>[B, V]</c> by inverse-CDF sampling: one uniform draw per row
    /// against the row's cumulative sum (in float64), the first token whose cumulative probability reaches it. Same
    /// distribution as <c>multinomial(probs, 1)</c>, which draws an exponential per vocabulary entry: 2.5 ms of a
    /// 64-row decode step of the tiny model (2,048 entries) went to those draws, 0.1 ms goes to this.
    /// Tokens of probability 0 are never drawn (the draw is in (0, total], the comparison strict).
    /// </summary>
    internal static Tensor InverseCdf(Tensor probs, Generator? gen)
    {
        long B = probs.shape[0], V = probs.shape[1];
        var cdf = probs.to_type(ScalarType.Float64).cumsum(-1);
        var total = cdf.narrow(1, V - 1, 1);
        // 1 − U as −U + 1 (exactly equal): the kit passes no number to libtorch as a temporary Scalar (see Scalars)
        var u = rand([B, 1], ScalarType.Float64, probs.device, generator: gen).neg_().add_(Scalars.Of(1.0), Scalars.One) * total;   // (0, total]
        return cdf.lt(u).sum(-1).clamp_max(Scalars.Of(V - 1));
    }

    private static int FirstStop(string text, IReadOnlyList<string> stops)
    {
        int best = -1;
        foreach (var s in stops)
        {
            if (s.Length == 0) continue;
            int i = text.IndexOf(s, StringComparison.Ordinal);
            if (i >= 0 && (best < 0 || i < best)) best = i;
        }
        return best;
    }
}
