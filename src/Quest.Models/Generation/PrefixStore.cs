using Quest.Models.Transformer;
using static TorchSharp.torch;

namespace Quest.Models.Generation;

/// <summary>
/// The keys and values of prompts a generator prefilled, kept so that a later prompt that starts with one of them
/// prefills only the rest: an agent's next turn is its last prompt plus the reply and the tool's output, so until the
/// view re-windows, most of a turn's prompt was computed the turn before (and after it re-windows, the question still
/// leads). Entries are whole prompts, least recently used dropped first.
/// <para>
/// Keys and values belong to the weights they were computed with: a store lives for one rollout or eval phase (a
/// <see cref="LocalChatClient.Batched"/> client's generator), never across a training step. <see cref="Clear"/> empties it.
/// </para>
/// </summary>
internal sealed class PrefixStore(int capacity) : IDisposable
{
    /// <summary>A prompt shorter than this is not worth a lookup or an entry.</summary>
    public const int MinTokens = 16;

    private readonly LinkedList<Entry> _entries = new();

    /// <summary>A generate call's prefill cache, kept whole while any entry points into it (no copy per prompt).</summary>
    internal sealed class Snapshot(KvCache cache)
    {
        public readonly KvCache Cache = cache;
        public int Refs;
    }

    /// <summary>One prompt's ids and where its keys and values are: row <c>Row</c> of a snapshot, from column <c>Column</c>.</summary>
    internal sealed record Entry(int[] Ids, Snapshot Source, int Row, int Column);

    /// <summary>Most entries kept.</summary>
    public int Capacity { get; } = capacity;
    /// <summary>Entries kept now.</summary>
    public int Count => _entries.Count;

    /// <summary>
    /// The entry sharing the longest start with <paramref name="prompt"/> and how many tokens they share, at most
    /// <c>prompt.Length − 1</c> (the last token is always computed: its logits start the reply); null under <see cref="MinTokens"/>.
    /// </summary>
    public (Entry Entry, int Common)? Longest(int[] prompt)
    {
        LinkedListNode<Entry>? best = null;
        int bestCommon = MinTokens - 1;
        for (var n = _entries.First; n is not null; n = n.Next)
        {
            int c = Common(n.Value.Ids, prompt);
            if (c > bestCommon) { best = n; bestCommon = c; }
        }
        if (best is null) return null;
        _entries.Remove(best);
        _entries.AddFirst(best);
        return (best.Value, bestCommon);
    }

    private static int Common(int[] a, int[] prompt)
    {
        int n = Math.Min(a.Length, prompt.Length - 1), i = 0;
        while (i < n && a[i] == prompt[i]) i++;
        return i;
    }

    /// <summary>
    /// Keeps the prompts a generate call prefilled: <paramref name="prompts"/>[j] has its keys and values in row j of
    /// <paramref name="cache"/> from column <paramref name="columns"/>[j]. The store takes the cache over (it is disposed
    /// when its last entry goes); returns false, leaving the cache to the caller, when no prompt was worth keeping.
    /// </summary>
    public bool Add(IReadOnlyList<int[]> prompts, KvCache cache, IReadOnlyList<int> columns)
    {
        var snap = new Snapshot(cache);
        for (int j = 0; j < prompts.Count; j++)
        {
            if (prompts[j].Length < MinTokens) continue;
            for (var n = _entries.First; n is not null; n = n.Next)
                if (n.Value.Ids.AsSpan().SequenceEqual(prompts[j])) { Drop(n); break; }   // the newer copy replaces it
            _entries.AddFirst(new Entry(prompts[j], snap, j, columns[j]));
            snap.Refs++;
        }
        if (snap.Refs == 0) return false;
        // the buffers outlive the caller's dispose scope now
        foreach (var t in cache.K) t.DetachFromDisposeScope();
        foreach (var t in cache.V) t.DetachFromDisposeScope();
        while (_entries.Count > Capacity) Drop(_entries.Last!);
        return true;
    }

    private void Drop(LinkedListNode<Entry> n)
    {
        _entries.Remove(n);
        if (--n.Value.Source.Refs == 0) n.Value.Source.Cache.Dispose();
    }

    /// <summary>Writes the first <paramref name="count"/> keys and values of <paramref name="entry"/> into row <paramref name="row"/> of <paramref name="cache"/> from <paramref name="column"/>.</summary>
    public static void CopyInto(Entry entry, int count, KvCache cache, int row, int column)
    {
        var src = entry.Source.Cache;
        for (int l = 0; l < src.K.Length; l++)
        {
            cache.K[l].select(0, row).narrow(1, column, count).copy_(src.K[l].select(0, entry.Row).narrow(1, entry.Column, count));
            cache.V[l].select(0, row).narrow(1, column, count).copy_(src.V[l].select(0, entry.Row).narrow(1, entry.Column, count));
        }
    }

    /// <summary>Forgets every entry (after the weights changed).</summary>
    public void Clear()
    {
        while (_entries.First is { } n) Drop(n);
    }

    /// <inheritdoc/>
    public void Dispose() => Clear();
}
