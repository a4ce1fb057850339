using System.Globalization;
using System.Text;
using Quest.Eval;
using Quest.Agent.Rollout;
using Quest.Core;
using Quest.Synthesis;

namespace Quest.Recipe;

/// <summary>One model on one test set across runs (seeds): each run's mean reward, their mean, and a 95% interval over seeds and tasks.</summary>
public sealed record SeedRow
{
    /// <summary>The test set (<see cref="TestSets"/>).</summary>
    public string Set { get; init; } = "";
    /// <summary>The model, or <c>FROM→TO</c> for a stage difference.</summary>
    public string Model { get; init; } = "";
    /// <summary>Each run's value, in the order the runs were given (NaN where the run has no such rollouts).</summary>
    public IReadOnlyList<double> PerRun { get; init; } = [];
    /// <summary>The mean of the runs' values.</summary>
    public double Mean { get; init; }
    /// <summary>Lower end of the 95% interval (two-level bootstrap: runs, then tasks within each run).</summary>
    public double Lo { get; init; }
    /// <summary>Upper end.</summary>
    public double Hi { get; init; }
}

/// <summary>
/// Several recipe runs that differ only by seed, taken together: a claim about a stage needs more than one run (SFT alone
/// moved MT+SFT between 0.31 and 0.48 with float rounding). For each test set, each model's per-run mean reward and each
/// stage difference (paired over tasks within a run) are listed per run, averaged over runs, and given a 95% interval
/// from a two-level bootstrap: draw runs with replacement, then tasks with replacement within each drawn run, so the
/// interval carries both the seed-to-seed and the task-to-task spread.
/// </summary>
public static class SeedAggregate
{
    /// <summary>The stage differences reported (each stage against the one before it, and RL against MT).</summary>
    public static readonly IReadOnlyList<(string From, string To)> Differences = [("untrained", "mt"), ("mt", "sft"), ("sft", "rl"), ("mt", "rl")];

    /// <summary>
    /// A run's eval rollouts, read once: for each test set its task ids and where its rollouts are, and for each model
    /// its per-task mean rewards on a set (<see cref="Evaluation.PerTaskRewards"/>; policy errors left out).
    /// </summary>
    private sealed class RunRollouts
    {
        private readonly Dictionary<string, (string Dir, HashSet<string> Ids)> _sets;

        public RunRollouts(string runDir)
        {
            var p = new RecipePaths(Path.GetFullPath(runDir));
            var options = RecipeSummary.Read(p.Root).Options ?? throw new QuestInputException(p.Summary, null, null, "summary.json has no options", "a summary written by quest recipe");
            _sets = new()
            {
                [TestSets.FreshWorld] = (p.EvalFresh, File.Exists(p.FreshTasks) ? TaskFile.Read(p.FreshTasks).Select(t => t.Id).ToHashSet() : []),
                [TestSets.HeldOut] = (p.Eval, RecipeEval.Tasks(options, p).Where(t => t.Split == "test").Select(t => t.Id).ToHashSet()),
            };
        }

        public Dictionary<string, double> PerTask(string set, string model)
        {
            var (dir, ids) = _sets[set];
            var file = Path.Combine(dir, model, RolloutRunner.TrajectoriesFile);
            return File.Exists(file) ? Evaluation.PerTaskRewards(RolloutRunner.ReadTrajectories(file).Where(t => ids.Contains(t.TaskId))) : [];
        }
    }

    /// <summary>The aggregate of <paramref name="runDirs"/>: per set, a row per model and per stage difference.</summary>
    public static List<SeedRow> Of(IReadOnlyList<string> runDirs, int reps = 2000, int seed = 0)
    {
        if (runDirs.Count == 0) throw new QuestInputException(null, null, null, "no run directories", "one or more recipe run directories");
        var rows = new List<SeedRow>();
        var runs = runDirs.Select(r => new RunRollouts(r)).ToList();
        foreach (var set in new[] { TestSets.FreshWorld, TestSets.HeldOut })
        {
            var per = RecipeEval.Models(new RecipePaths("")).Select(m => m.Name)
                .ToDictionary(m => m, m => runs.Select(r => r.PerTask(set, m)).ToList());
            foreach (var (model, perRun) in per)
                if (perRun.Any(r => r.Count > 0)) rows.Add(Row(set, model, [.. perRun.Select(r => r.Values.ToArray())], reps, seed));
            foreach (var (from, to) in Differences)
            {
                var diffs = runDirs.Select((_, i) => per[from][i].Keys.Where(per[to][i].ContainsKey).Order(StringComparer.Ordinal)
                    .Select(k => per[to][i][k] - per[from][i][k]).ToArray()).ToList();
                if (diffs.Any(d => d.Length > 0)) rows.Add(Row(set, $"{from}→{to}", diffs, reps, seed));
            }
        }
        return rows;
    }

    /// <summary>One row: per-run means of <paramref name="runs"/> (each a run's per-task values) and the two-level bootstrap interval.</summary>
    public static SeedRow Row(string set, string model, IReadOnlyList<double[]> runs, int reps = 2000, int seed = 0)
    {
        var present = runs.Where(r => r.Length > 0).ToList();
        var perRun = runs.Select(r => r.Length == 0 ? double.NaN : r.Average()).ToList();
        if (present.Count == 0) return new SeedRow { Set = set, Model = model, PerRun = perRun, Mean = double.NaN, Lo = double.NaN, Hi = double.NaN };
        var rng = new Random(seed);
        var means = new double[reps];
        for (int b = 0; b < reps; b++)
        {
            double total = 0;
            for (int s = 0; s < present.Count; s++)
            {
                var run = present[rng.Next(present.Count)];
                double sum = 0;
                for (int i = 0; i < run.Length; i++) sum += run[rng.Next(run.Length)];
                total += sum / run.Length;
            }
            means[b] = total / present.Count;
        }
        var (lo, hi) = Evaluation.Interval95(means);
        return new SeedRow { Set = set, Model = model, PerRun = perRun, Mean = present.Average(r => r.Average()), Lo = lo, Hi = hi };
    }

    /// <summary>The aggregate as Markdown tables, one per test set, with the runs named in the header.</summary>
    public static string ToMarkdown(IReadOnlyList<string> runDirs, IReadOnlyList<SeedRow> rows)
    {
        var sb = new StringBuilder();
        var names = runDirs.Select(r => Path.GetFileName(Path.GetFullPath(r).TrimEnd('/'))).ToList();
        foreach (var set in rows.Select(r => r.Set).Distinct())
        {
            sb.AppendLine($"### {(set == TestSets.FreshWorld ? "Fresh world" : "Held-out split")} ({runDirs.Count} runs)");
            sb.AppendLine();
            sb.AppendLine($"| model | {string.Join(" | ", names)} | mean | 95% interval (runs × tasks) |");
            sb.AppendLine($"|---|{string.Concat(names.Select(_ => "---|"))}---|---|");
            foreach (var r in rows.Where(r => r.Set == set))
            {
                bool diff = r.Model.Contains('→');
                string F(double v) => double.IsNaN(v) ? "–" : v.ToString(diff ? "+0.000;-0.000;0.000" : "0.000", CultureInfo.InvariantCulture);
                sb.AppendLine($"| {r.Model} | {string.Join(" | ", r.PerRun.Select(F))} | **{F(r.Mean)}** | [{F(r.Lo)}, {F(r.Hi)}]{(diff && r.Lo > 0 ? " *" : "")} |");
            }
            sb.AppendLine();
        }
        return sb.ToString();
    }
}
