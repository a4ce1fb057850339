using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Quest.Core;
using Quest.Models.Tokenization;
using Quest.Synthesis;
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
        using var sc = SynthCorpus.Load(c.Paths.World);
        var docs = sc.Corpus.Select(pg => $"# {pg.Title}\n\n{pg.Text}").ToList();
        foreach (var t in ChatTemplate.ReadTranscripts(c.Paths.SftTranscripts))
            docs.Add(ChatTemplate.Render(t.Where(m => m.Role != "system")));
        var tools = Recipe.ToolsOf(o, sc).ToDictionary(t => t.Name);
        var rng = new Random(o.Seed * 7919 + 3);
        foreach (var pg in sc.Corpus.OrderBy(_ => rng.Next()).Take(o.ToolOutputDocs).ToList())
        {
            ct.ThrowIfCancellationRequested();
            docs.Add(Protocol.ToolResponse(await CallAsync(tools["search"], new JsonObject { ["query"] = new JsonArray(pg.Title) }, ct).ConfigureAwait(false)));
            docs.Add(Protocol.ToolResponse(await CallAsync(tools["visit"], new JsonObject { ["url"] = new JsonArray(pg.Url), ["goal"] = $"Find facts about {pg.Title}" }, ct).ConfigureAwait(false)));
        }
        var questions = TaskFile.Read(c.Paths.Tasks).Where(t => t.Split == "train").Select(t => t.Question).ToList();
        docs.AddRange(await CopyDrillsAsync(sc.Corpus.Select(p => p.Title).ToList(), questions, tools["search"], o.CopyDrills, o.Seed, ct).ConfigureAwait(false));
        return docs;
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
                    var text = await CallAsync(search, new JsonObject { ["query"] = new JsonArray(title) }, ct).ConfigureAwait(false);
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

    private static async Task<string> CallAsync(ITool tool, JsonObject args, CancellationToken ct)
    {
        using var doc = JsonDocument.Parse(args.ToJsonString());
        return await tool.CallAsync(doc.RootElement, ct).ConfigureAwait(false);
    }
}
