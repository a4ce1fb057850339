using Quest.Core;
using Quest.Models.Tokenization;
using Quest.Models.Transformer;

namespace Quest.Models.Tests;

/// <summary>Small shared fixtures: a tokenizer trained once on a little corpus, and tiny model configs.</summary>
internal static class Fixtures
{
    /// <summary>
    /// The test host is an entry point like the CLI: it readies libtorch before any test's first torch call (the
    /// OpenMP setting only takes before libgomp loads; <c>TorchRuntime.Prepare</c> no longer runs on assembly load).
    /// </summary>
    [System.Runtime.CompilerServices.ModuleInitializer]
    internal static void PrepareTorch() => Quest.Models.Runtime.TorchRuntime.Prepare();

    public static readonly string[] Corpus =
    [
        "The river town of Alder sits where two valleys meet. Its mill was built in 1871 and burned in 1903.",
        "Mara Quill founded the Alder Gazette; the paper printed its first issue on a hand press in the mill's loft.",
        "Search results list a title, a URL and a short snippet. Visiting a page returns its text in full.",
        "The agent thinks, calls a tool, reads the response, and finally answers with a short cited claim.",
        "Numbers like 42, 3.14 and 1,000 appear in tables; dates like 12 March 1903 appear in histories.",
        "<think>I should search for the founder.</think><tool_call>{\"name\":\"search\",\"arguments\":{\"query\":\"Alder Gazette founder\"}}</tool_call>",
        "<tool_response>1. Alder Gazette - founded by Mara Quill in 1888.</tool_response><answer>Mara Quill</answer>",
    ];

    private static readonly Lazy<QuestTokenizer> _tok = new(() => BpeTrainer.Train(
        Enumerable.Repeat(Corpus, 5).SelectMany(x => x), new BpeTrainerOptions { VocabSize = 400 }));

    public static QuestTokenizer Tokenizer => _tok.Value;

    public static ModelConfig TinyConfig(int vocab, int kvHeads = 2, bool tied = true) => new()
    {
        VocabSize = vocab, Layers = 2, DModel = 32, Heads = 4, KvHeads = kvHeads, Ffn = 64, MaxSeqLen = 128, TieEmbeddings = tied,
    };

    public static string TempDir()
    {
        var d = Path.Combine(Path.GetTempPath(), "quest-models-tests", Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(d);
        return d;
    }
}
