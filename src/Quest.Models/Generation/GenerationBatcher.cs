namespace Quest.Models.Generation;

/// <summary>
/// Coalesces generation requests from concurrent callers into batched <see cref="TextGenerator.Generate(IReadOnlyList{int[]}, GenerationOptions?, CancellationToken, Action{int, int, float}?, IReadOnlyList{double}?)"/>
/// calls. Agent episodes run concurrently (a GRPO group, an eval over many tasks); each asks for its next turn; the
/// batcher waits until <see cref="MaxBatch"/> requests are pending or no new request has arrived for
/// <see cref="Linger"/>, then decodes them together with one KV cache. At 1–10M parameters a decode step costs about
/// the same for one row as for thirty-two, so this is where rollouts get cheap. Requests with different generation
/// options go in different batches, except that each row keeps its own temperature within a batch. One batch runs at a time.
/// <para>
/// Callers that <see cref="Join"/> the batcher (one per episode) let it batch by turn: once every joined caller is
/// waiting for a reply, the pending requests go at once, and otherwise they wait for the others up to
/// <see cref="ParticipantLinger"/> (a caller in the running batch is not waiting: the next batch could not start before
/// it anyway, and waiting for it keeps all episodes in one batch instead of cohorts). Without that, a batch left whenever no request had arrived
/// for 4 ms, and episodes whose tools took longer missed it: 64 rollouts of 6 turns ran as 36 batches averaging 3.7
/// live rows per decode step.
/// </para>
/// </summary>
public sealed class GenerationBatcher : IDisposable
{
    private readonly object _lock = new();
    private readonly List<Request> _pending = [];
    private readonly SemaphoreSlim _run = new(1, 1);
    private Timer? _timer;
    private bool _disposed;
    private int _participants, _batchesOut;

    private sealed record Request(int[] Prompt, GenerationOptions Options, string Key, TaskCompletionSource<GeneratedSequence> Done, CancellationToken Ct);

    /// <summary>A batcher over <paramref name="generator"/>.</summary>
    public GenerationBatcher(TextGenerator generator, int maxBatch = 32, TimeSpan? linger = null, TimeSpan? participantLinger = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxBatch, 1);
        Generator = generator;
        MaxBatch = maxBatch;
        Linger = linger ?? TimeSpan.FromMilliseconds(4);
        ParticipantLinger = participantLinger ?? TimeSpan.FromMilliseconds(200);
    }

    /// <summary>The generator.</summary>
    public TextGenerator Generator { get; }
    /// <summary>Most rows decoded together.</summary>
    public int MaxBatch { get; }
    /// <summary>How long a batch waits for more requests after the last one arrived.</summary>
    public TimeSpan Linger { get; }
    /// <summary>
    /// How long a batch waits after the last arrival while some joined caller (<see cref="Join"/>) is not waiting (its
    /// turn is being decoded or its tool is still working): a bound on the wait, not the usual trigger.
    /// </summary>
    public TimeSpan ParticipantLinger { get; }
    /// <summary>Callers joined now (<see cref="Join"/>).</summary>
    public int Participants { get { lock (_lock) return _participants; } }

    /// <summary>
    /// Joins one caller (an episode) until the returned handle is disposed: while callers are joined, a batch leaves as
    /// soon as each of them is waiting for a reply. Join every caller before the first of them asks. Dispose the handle when the caller will ask for
    /// no more turns, or the others wait for it up to <see cref="ParticipantLinger"/>.
    /// </summary>
    public IDisposable Join()
    {
        lock (_lock)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            _participants++;
        }
        return new Participant(this);
    }

    private sealed class Participant(GenerationBatcher owner) : IDisposable
    {
        private int _left;
        public void Dispose() { if (Interlocked.Exchange(ref _left, 1) == 0) owner.Leave(); }
    }

    private void Leave()
    {
        List<List<Request>>? ready = null;
        lock (_lock)
        {
            _participants--;
            if (!_disposed && AllWaiting()) ready = TakeAll();
        }
        Start(ready);
    }

    /// <summary>Every joined caller is waiting (caller holds the lock).</summary>
    private bool AllWaiting() => _participants > 0 && _pending.Count >= _participants;
    /// <summary>Batches run so far.</summary>
    public int Batches { get; private set; }
    /// <summary>Rows generated so far.</summary>
    public long Rows { get; private set; }

    /// <summary>Queues one prompt; completes when its batch has been generated.</summary>
    public Task<GeneratedSequence> GenerateAsync(int[] prompt, GenerationOptions options, CancellationToken ct = default)
    {
        ct.ThrowIfCancellationRequested();
        var r = new Request(prompt, options, KeyOf(options), new TaskCompletionSource<GeneratedSequence>(TaskCreationOptions.RunContinuationsAsynchronously), ct);
        List<List<Request>>? ready = null;
        lock (_lock)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            _pending.Add(r);
            if (_pending.Count(p => p.Key == r.Key) >= MaxBatch) ready = [Take(r.Key)];
            else if (AllWaiting()) ready = TakeAll();
            else (_timer ??= new Timer(_ => Flush(), null, Timeout.Infinite, Timeout.Infinite))
                .Change(_participants > 0 ? ParticipantLinger : Linger, Timeout.InfiniteTimeSpan);
        }
        Start(ready);
        return r.Done.Task;
    }

    // callers hold the lock
    private List<Request> Take(string key)
    {
        var batch = _pending.Where(p => p.Key == key).Take(MaxBatch).ToList();
        foreach (var b in batch) _pending.Remove(b);
        if (_pending.Count == 0) _timer?.Change(Timeout.Infinite, Timeout.Infinite);
        _batchesOut++;
        return batch;
    }

    private List<List<Request>> TakeAll()
    {
        List<List<Request>> batches = [];
        while (_pending.Count > 0) batches.Add(Take(_pending[0].Key));
        return batches;
    }

    private void Start(List<List<Request>>? batches)
    {
        foreach (var b in batches ?? []) _ = Task.Run(() => RunAsync(b));
    }

    private void Flush()
    {
        List<List<Request>> batches;
        lock (_lock)
        {
            // while a batch is out, joined callers in it are not waiting yet and the next batch could not start anyway
            if (_participants > 0 && _batchesOut > 0 && !_disposed) { _timer?.Change(ParticipantLinger, Timeout.InfiniteTimeSpan); return; }
            batches = TakeAll();
        }
        Start(batches);
    }

    private void BatchDone()
    {
        lock (_lock) _batchesOut--;
    }

    private async Task RunAsync(List<Request> batch)
    {
        batch = batch.Where(r => { if (r.Ct.IsCancellationRequested) { r.Done.TrySetCanceled(r.Ct); return false; } return true; }).ToList();
        if (batch.Count == 0) { BatchDone(); return; }
        await _run.WaitAsync().ConfigureAwait(false);
        try
        {
            // A batch is bounded by MaxNewTokens steps; it runs to the end and callers that cancelled meanwhile get a cancellation.
            var seqs = Generator.Generate(batch.Select(r => r.Prompt).ToList(), batch[0].Options, CancellationToken.None,
                temperatures: batch.Select(r => r.Options.Temperature).ToList());
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
        finally { BatchDone(); _run.Release(); }
    }

    // temperature is not in the key: rows of one batch each keep their own (greedy and sampled episodes decode together)
    private static string KeyOf(GenerationOptions o) =>
        string.Join('\u0001', o.MaxNewTokens, o.TopP, o.TopK, o.Seed?.ToString() ?? "-", o.UseKvCache, o.PrefillUnmaskedRuns, o.ReusePrefixes,
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
