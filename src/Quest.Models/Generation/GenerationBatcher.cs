namespace Quest.Models.Generation;

/// <summary>
/// Coalesces generation requests from concurrent callers into batched <see cref="TextGenerator.Generate(IReadOnlyList{int[]}, GenerationOptions?, CancellationToken, Action{int, int, float}?)"/>
/// calls. Agent episodes run concurrently (a GRPO group, an eval over many tasks); each asks for its next turn; the
/// batcher waits until <see cref="MaxBatch"/> requests are pending or no new request has arrived for
/// <see cref="Linger"/>, then decodes them together with one KV cache. At 1–10M parameters a decode step costs about
/// the same for one row as for thirty-two, so this is where rollouts get cheap. Requests with different generation
/// options go in different batches. One batch runs at a time.
/// </summary>
public sealed class GenerationBatcher : IDisposable
{
    private readonly object _lock = new();
    private readonly List<Request> _pending = [];
    private readonly SemaphoreSlim _run = new(1, 1);
    private Timer? _timer;
    private bool _disposed;

    private sealed record Request(int[] Prompt, GenerationOptions Options, string Key, TaskCompletionSource<GeneratedSequence> Done, CancellationToken Ct);

    /// <summary>A batcher over <paramref name="generator"/>.</summary>
    public GenerationBatcher(TextGenerator generator, int maxBatch = 32, TimeSpan? linger = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxBatch, 1);
        Generator = generator;
        MaxBatch = maxBatch;
        Linger = linger ?? TimeSpan.FromMilliseconds(4);
    }

    /// <summary>The generator.</summary>
    public TextGenerator Generator { get; }
    /// <summary>Most rows decoded together.</summary>
    public int MaxBatch { get; }
    /// <summary>How long a batch waits for more requests after the last one arrived.</summary>
    public TimeSpan Linger { get; }
    /// <summary>Batches run so far.</summary>
    public int Batches { get; private set; }
    /// <summary>Rows generated so far.</summary>
    public long Rows { get; private set; }

    /// <summary>Queues one prompt; completes when its batch has been generated.</summary>
    public Task<GeneratedSequence> GenerateAsync(int[] prompt, GenerationOptions options, CancellationToken ct = default)
    {
        ct.ThrowIfCancellationRequested();
        var r = new Request(prompt, options, KeyOf(options), new TaskCompletionSource<GeneratedSequence>(TaskCreationOptions.RunContinuationsAsynchronously), ct);
        List<Request>? full = null;
        lock (_lock)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            _pending.Add(r);
            if (_pending.Count(p => p.Key == r.Key) >= MaxBatch) full = Take(r.Key);
            else (_timer ??= new Timer(_ => Flush(), null, Timeout.Infinite, Timeout.Infinite)).Change(Linger, Timeout.InfiniteTimeSpan);
        }
        if (full is not null) _ = Task.Run(() => RunAsync(full));
        return r.Done.Task;
    }

    private List<Request> Take(string key)
    {
        var batch = _pending.Where(p => p.Key == key).Take(MaxBatch).ToList();
        foreach (var b in batch) _pending.Remove(b);
        return batch;
    }

    private void Flush()
    {
        List<List<Request>> batches = [];
        lock (_lock)
        {
            while (_pending.Count > 0) batches.Add(Take(_pending[0].Key));
        }
        foreach (var b in batches) _ = Task.Run(() => RunAsync(b));
    }

    private async Task RunAsync(List<Request> batch)
    {
        batch = batch.Where(r => { if (r.Ct.IsCancellationRequested) { r.Done.TrySetCanceled(r.Ct); return false; } return true; }).ToList();
        if (batch.Count == 0) return;
        await _run.WaitAsync().ConfigureAwait(false);
        try
        {
            // A batch is bounded by MaxNewTokens steps; it runs to the end and callers that cancelled meanwhile get a cancellation.
            var seqs = Generator.Generate(batch.Select(r => r.Prompt).ToList(), batch[0].Options, CancellationToken.None);
            Batches++;
            Rows += batch.Count;
            for (int i = 0; i < batch.Count; i++)
                if (batch[i].Ct.IsCancellationRequested) batch[i].Done.TrySetCanceled(batch[i].Ct);
                else batch[i].Done.TrySetResult(seqs[i]);
        }
        catch (Exception ex)
        {
            foreach (var r in batch) r.Done.TrySetException(ex);
        }
        finally { _run.Release(); }
    }

    private static string KeyOf(GenerationOptions o) =>
        string.Join('\u0001', o.MaxNewTokens, o.Temperature, o.TopP, o.TopK, o.Seed?.ToString() ?? "-", o.UseKvCache,
            string.Join('\u0002', o.StopSequences), o.StopTokenIds is null ? "-" : string.Join(',', o.StopTokenIds));

    /// <inheritdoc/>
    public void Dispose()
    {
        lock (_lock)
        {
            _disposed = true;
            _timer?.Dispose();
            foreach (var r in _pending) r.Done.TrySetCanceled();
            _pending.Clear();
        }
    }
}
