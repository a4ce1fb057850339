using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Quest.Core;
using Quest.Models.Tokenization;
using Quest.Models.Training;
using Quest.Models.Transformer;
using Quest.Synthesis;
using Quest.World;
using Quest.Synthesis.Teacher;

namespace Quest.Recipe;

/// <summary>
/// The mid-training data of the recipe: corpus pages, the teacher's transcripts (chat-rendered: agentic mid-training),
/// tool outputs on sampled pages, and <b>copy drills</b>. A 1M-parameter student trained only on agent transcripts
/// learns the protocol but writes queries, URLs and names it never read (../shared/RL-NOTES.md): copying from the
/// context is the skill that emerges last, abruptly, once enough of the data rewards it. The drills make copying the
/// cheapest way to lower the loss, in the shapes the agent needs: a list of the world's names repeated, a question
/// followed by its first sentence (the agent's first query), and a search response followed by a note of its first
/// result (the agent's <c>Found:</c> notes). Only train-split questions are used.
/// </summary>
public static class MidTraining
{
    /// <summary>Every mid-training document of a run, in a fixed order (seeded).</summary>
    public static async Task<List<string>> DocumentsAsync(Recipe.StageContext c, CancellationToken ct)
    {
        var o = c.Options;
        using var sc = WorldEnvironment.Open(c.Paths.World);
        var docs = sc.Corpus.Select(pg => $"# {pg.Title}\n\n{pg.Text}").ToList();
        foreach (var t in ChatTemplate.ReadTranscripts(c.Paths.SftTranscripts))
            docs.Add(ChatTemplate.Render(t.Where(m => m.Role != "system")));
        var tools = Recipe.ToolsOf(o, sc).ToDictionary(t => t.Name);
        var rng = new Random(o.Seed * 7919 + 3);
        foreach (var pg in sc.Corpus.OrderBy(_ => rng.Next()).Take(o.ToolOutputDocs).ToList())
        {
            ct.ThrowIfCancellationRequested();
            docs.Add(Protocol.ToolResponse(await tools["search"].CallAsync(new JsonObject { ["query"] = new JsonArray(pg.Title) }, ct).ConfigureAwait(false)));
            docs.Add(Protocol.ToolResponse(await tools["visit"].CallAsync(new JsonObject { ["url"] = new JsonArray(pg.Url), ["goal"] = $"Find facts about {pg.Title}" }, ct).ConfigureAwait(false)));
        }
        docs.AddRange(await DrillsAsync(c, sc, ct).ConfigureAwait(false));
        return docs;
    }

    /// <summary>The run's copy drills (<see cref="RecipeOptions.CopyDrills"/> of them; seeded, train-split questions only) over its corpus.</summary>
    public static Task<List<string>> DrillsAsync(Recipe.StageContext c, WorldEnvironment sc, CancellationToken ct) => DrillsAsync(c, sc, c.Options.CopyDrills, c.Options.Seed, ct);

    /// <summary>300 drills drawn with another seed, for the copy probe.</summary>
    public static Task<List<string>> HeldOutDrillsAsync(Recipe.StageContext c, WorldEnvironment sc, CancellationToken ct) => DrillsAsync(c, sc, 300, c.Options.Seed + 1_000_003, ct);

    private static async Task<List<string>> DrillsAsync(Recipe.StageContext c, WorldEnvironment sc, int count, int seed, CancellationToken ct)
    {
        var search = Recipe.ToolsOf(c.Options, sc).First(t => t.Name == "search");
        var questions = TaskFile.Read(c.Paths.Tasks).Where(t => Recipe.IsTaught(c.Options, t)).Select(t => t.Question).ToList();
        return await CopyDrillsAsync(sc.Corpus.Select(p => p.Title).ToList(), questions, search, count, seed, ct).ConfigureAwait(false);
    }

    /// <summary>
    /// The copy probe: teacher-forced accuracy on the copied part (the last line) of held-out drills, per kind
    /// (<c>copy_names</c>, <c>copy_query</c>, <c>copy_found</c>).
    /// </summary>
    public static Dictionary<string, double> Probe(QuestTransformer model, QuestTokenizer tok, IReadOnlyList<string> drills)
    {
        List<ChatEncoding> Examples(IEnumerable<string> ds) => ds.Select(d =>
        {
            int cut = d.LastIndexOf('\n');
            var a = tok.Encode(d[..(cut + 1)]);
            var b = tok.Encode(d[(cut + 1)..]);
            return new ChatEncoding([.. a, .. b], [.. a.Select(_ => false), .. b.Select(_ => true)]);
        }).Where(e => e.Ids.Length < model.Config.MaxSeqLen).ToList();
        // every target token counts here (the copied line is all copy), so report the accuracy over all of them
        double Acc(IEnumerable<string> ds)
        {
            var p = Probes.CopyAccuracy(model, Examples(ds), 100);
            long n = p.CopyTokens + p.OtherTokens;
            return n == 0 ? 0 : Math.Round((double)(p.CopyCorrect + p.OtherCorrect) / n, 4);
        }
        return new Dictionary<string, double>
        {
            ["copy_names"] = Acc(drills.Where(d => d.StartsWith("Names: ", StringComparison.Ordinal))),
            ["copy_query"] = Acc(drills.Where(d => d.Contains("\nQuery: ", StringComparison.Ordinal))),
            ["copy_found"] = Acc(drills.Where(d => d.StartsWith(Protocol.ToolResponseOpen, StringComparison.Ordinal))),
        };
    }

    /// <summary>
    /// <paramref name="count"/> copy drills, a third of each kind: <c>Names: A; B; C.\nFound: A; B; C.</c> (names drawn
    /// from <paramref name="titles"/>); <c>QUESTION\nQuery: FIRST SENTENCE</c>; a search response for a random title
    /// followed by <c>Found: TITLE OF RESULT 1; LINK OF RESULT 1.</c>
    /// </summary>
    public static async Task<List<string>> CopyDrillsAsync(IReadOnlyList<string> titles, IReadOnlyList<string> questions, ITool search, int count, int seed, CancellationToken ct = default)
    {
        var rng = new Random(seed * 104_729 + 17);
        var drills = new List<string>(count);
        for (int i = 0; i < count; i++)
        {
            ct.ThrowIfCancellationRequested();
            switch (i % 3)
            {
                case 0:
                    var names = Enumerable.Range(0, rng.Next(2, 5)).Select(_ => titles[rng.Next(titles.Count)]).ToList();
                    drills.Add($"Names: {string.Join("; ", names)}.\nFound: {string.Join("; ", names)}.");
                    break;
                case 1 when questions.Count > 0:
                    var q = questions[rng.Next(questions.Count)];
                    drills.Add($"{q}\nQuery: {GroundedTeacher.FirstSentence(q)}");
                    break;
                default:
                    var title = titles[rng.Next(titles.Count)];
                    var text = await search.CallAsync(new JsonObject { ["query"] = new JsonArray(title) }, ct).ConfigureAwait(false);
                    var first = FirstResult(text);
                    if (first is null) goto case 0;
                    drills.Add($"{Protocol.ToolResponse(text)}\nFound: {first.Value.Title}; {first.Value.Link}.");
                    break;
            }
        }
        return drills;
    }

    /// <summary>Title and link of the first result of a search response, or null.</summary>
    public static (string Title, string Link)? FirstResult(string searchText)
    {
        var lines = searchText.Split('\n');
        int t = Array.FindIndex(lines, l => l.StartsWith("1. Title: ", StringComparison.Ordinal));
        if (t < 0 || t + 1 >= lines.Length || !lines[t + 1].StartsWith("Link: ", StringComparison.Ordinal)) return null;
        return (lines[t]["1. Title: ".Length..].Trim(), lines[t + 1]["Link: ".Length..].Trim());
    }
}
