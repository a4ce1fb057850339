using System.Collections.Concurrent;

namespace Quest.Models.Runtime;

/// <summary>
/// The one thread that runs the kit's heavy libtorch work: training steps (<c>Trainer</c>, <c>GrpoUpdater</c>) and
/// decoding (<c>TextGenerator</c>). Callers on any thread hand it their work and wait (or await); work handed over from
/// the torch thread itself runs inline.
/// <para>
/// Why: libtorch's CPU kernels run on OpenMP (libgomp), which keeps one team of worker threads per thread that opens a
/// parallel region. The trainers are async loops, so their steps used to land on whichever thread-pool thread was free,
/// and every such thread got a team of its own. Once libgomp manages more threads than there are cores it stops letting
/// idle workers spin and puts them to sleep after every region, and a small model runs thousands of short regions a
/// step: on 2 cores a tiny-model training step (8 × 512 tokens) took 410–450 ms from thread-pool threads against 300 ms
/// when every region came from one thread (37,000 context switches against 100 over ten steps). So the heavy work runs
/// here, with <see cref="Threads"/> intra-op threads, and every other thread defaults to one OpenMP thread
/// (<c>OMP_NUM_THREADS=1</c>, set before libtorch loads unless the user set it), so a stray small op elsewhere never
/// creates a second team.
/// </para>
/// </summary>
public static class TorchThread
{
    private static readonly BlockingCollection<Action> Work = new();
    private static readonly Lazy<Thread> Worker = new(Start, LazyThreadSafetyMode.ExecutionAndPublication);
    [ThreadStatic] private static bool _isWorker;
    private static int _threads;

    /// <summary>Whether the calling thread is the torch thread.</summary>
    public static bool IsCurrent => _isWorker;

    /// <summary>
    /// Intra-op threads of the torch thread: <c>QUEST_TORCH_THREADS</c> when set, else <c>OMP_NUM_THREADS</c> when the
    /// user set it, else the processor count.
    /// </summary>
    public static int Threads
    {
        get
        {
            if (_threads > 0) return _threads;
            foreach (var name in new[] { "QUEST_TORCH_THREADS", "OMP_NUM_THREADS" })
                if (int.TryParse(Environment.GetEnvironmentVariable(name), out var n) && n > 0) return n;
            return Environment.ProcessorCount;
        }
    }

    /// <summary>Sets the torch thread's intra-op threads (what <c>--threads</c> of the benchmarks changes).</summary>
    public static void SetThreads(int threads)
    {
        if (threads < 1) throw new ArgumentOutOfRangeException(nameof(threads), threads, "at least 1 thread");
        _threads = threads;
        Run(() => TorchRuntime.SetThreadIntraOpThreads(threads));
    }

    /// <summary>Runs <paramref name="work"/> on the torch thread and returns its result (inline when called from it).</summary>
    public static T Run<T>(Func<T> work)
    {
        if (_isWorker) return work();
        return Post(work).GetAwaiter().GetResult();
    }

    /// <summary>Runs <paramref name="work"/> on the torch thread (inline when called from it).</summary>
    public static void Run(Action work) => Run(() => { work(); return true; });

    /// <summary>Runs <paramref name="work"/> on the torch thread without blocking the caller (inline when called from it).</summary>
    public static Task<T> RunAsync<T>(Func<T> work)
    {
        if (!_isWorker) return Post(work);
        try { return Task.FromResult(work()); }
        catch (Exception e) { return Task.FromException<T>(e); }
    }

    private static Task<T> Post<T>(Func<T> work)
    {
        _ = Worker.Value;
        var done = new TaskCompletionSource<T>(TaskCreationOptions.RunContinuationsAsynchronously);
        Work.Add(() =>
        {
            try { done.SetResult(work()); }
            catch (Exception e) { done.SetException(e); }
        });
        return done.Task;
    }

    private static Thread Start()
    {
        TorchRuntime.Prepare();
        var t = new Thread(() =>
        {
            _isWorker = true;
            TorchRuntime.SetThreadIntraOpThreads(Threads);
            foreach (var w in Work.GetConsumingEnumerable()) w();
        })
        { IsBackground = true, Name = "quest-torch", };
        t.Start();
        return t;
    }
}
