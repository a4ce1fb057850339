using System.Diagnostics;
using System.Text.Json.Nodes;
using Quest.Core;
using Quest.Models.Tokenization;
using Quest.Synthesis;
using Quest.Synthesis.Teacher;

namespace Quest.Recipe;

/// <summary>
/// Stage 3 of the recipe: the BPE tokenizer, trained before the teacher so that the teacher can check every turn against
/// the student's own view of the episode (<see cref="AgentView"/> over this tokenizer) rather than a guess in characters.
/// </summary>
public static class TokenizerStage
{
    /// <summary>
    /// Stage 3: trains the tokenizer (<see cref="RecipeOptions.VocabSize"/>) on what mid-training reads apart from the
    /// teacher's transcripts (pages, tool outputs, copy drills: <see cref="MidTraining.DocumentsAsync"/>) and on the
    /// protocol's turns written out for every taught task (<see cref="ProtocolSamples"/>), so tool calls, notes and
    /// answers tokenize as compactly as the transcripts they stand for. An existing tokenizer is kept.
    /// </summary>
    public static async Task<Dictionary<string, double>> RunAsync(Recipe.StageContext c, CancellationToken ct)
    {
        var sw = Stopwatch.StartNew();
        if (!File.Exists(Path.Combine(c.Paths.Tokenizer, QuestTokenizer.ConfigFile)))
        {
            var docs = await MidTraining.DocumentsAsync(c, ct, withTranscripts: false).ConfigureAwait(false);
            var samples = ProtocolSamples(TaskFile.Read(c.Paths.Tasks).Where(t => Recipe.IsTaught(c.Options, t)));
            var tok = BpeTrainer.Train(docs.Concat(samples), new BpeTrainerOptions { VocabSize = c.Options.VocabSize });
            AtomicFile.WriteDirectory(c.Paths.Tokenizer, tok.Save);
            c.Progress($"tokenizer trained: {tok.VocabSize} tokens on {docs.Count} documents and {samples.Count} protocol samples in {sw.Elapsed.TotalSeconds:0.0}s", null);
        }
        var loaded = Load(c.Paths);
        return new() { ["vocab"] = loaded.VocabSize };
    }

    /// <summary>The run's tokenizer (<see cref="RecipePaths.Tokenizer"/>).</summary>
    /// <exception cref="QuestInputException">The tokenizer stage has not run.</exception>
    public static QuestTokenizer Load(RecipePaths p) =>
        File.Exists(Path.Combine(p.Tokenizer, QuestTokenizer.ConfigFile)) ? QuestTokenizer.Load(p.Tokenizer)
            : throw new QuestInputException(p.Tokenizer, null, null, "no tokenizer", "the tokenizer stage run first (quest recipe --stages tokenizer)");

    /// <summary>
    /// The agent protocol's turns for each task, rendered in the chat template: the question, a search with its first
    /// sentence, a visit of each page of its reference path with the question as goal (cut as the recipe's teacher cuts it), and the reference answer with a
    /// note of the answer. Tool responses are left out (mid-training's tool-output documents hold them).
    /// </summary>
    public static List<string> ProtocolSamples(IEnumerable<SynthTask> tasks)
    {
        var samples = new List<string>();
        foreach (var t in tasks)
        {
            var turns = new List<ChatTurn>
            {
                new(Roles.User, t.Question),
                new(Roles.Assistant, Protocol.ToolCallTurn(null, "search", new JsonObject { ["query"] = new JsonArray(GroundedTeacher.FirstSentence(t.Question)) })),
            };
            foreach (var (kind, step) in OracleTeacher.PlanOf(t).Where(p => p.Kind == "visit"))
                turns.Add(new(Roles.Assistant, Protocol.ToolCallTurn(step.Entity is null ? null : $"Found: {step.Entity}.", "visit",
                    new JsonObject { ["url"] = new JsonArray(step.Url!), ["goal"] = GroundedTeacher.Goal(t.Question, GroundedTeacherOptions.DefaultMaxGoalChars) })));
            turns.Add(new(Roles.Assistant, Protocol.AnswerTurn($"Found: {t.Answer}.", t.Reference.AnswerText)));
            samples.Add(Protocol.RenderChat(turns));
        }
        return samples;
    }
}
