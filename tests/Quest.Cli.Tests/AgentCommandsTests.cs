using Quest.Core;
using System.Diagnostics;
using System.Text;
using System.Text.Json;
using Quest.Agent;
using Quest.Agent.Policies;
using Quest.Agent.Rollout;
using Quest.Testing;
using Xunit;

namespace Quest.Cli.Tests;

/// <summary>`quest ask` and `quest rollout` run as child processes (the real binary, real exit codes, real kills).</summary>
public sealed class AgentCommandsTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "quest-cli-agent", Guid.NewGuid().ToString("N"));
    public AgentCommandsTests() => Directory.CreateDirectory(_dir);
    public void Dispose() { try { Directory.Delete(_dir, true); } catch (IOException) { } }
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static string Call(string name, string args) => Protocol.ToolCallTurn("look it up", name, System.Text.Json.Nodes.JsonNode.Parse(args)!.AsObject());
    private static string Answer(string a) => Protocol.AnswerTurn("done", a);

    private ProcessStartInfo Quest(params string[] args) => QuestProcess.StartInfo(_dir, args);

    /// <summary>
    /// <see cref="Quest"/> with SIGINT at its default disposition. A shell without job control starts background commands
    /// with SIGINT ignored, children inherit that, and .NET then keeps ignoring it (as a nohup'd program should): a test
    /// run launched that way saw the child finish every episode and exit 0 after the "Ctrl-C". GNU env resets it.
    /// </summary>
    private ProcessStartInfo QuestWithDefaultSigint(params string[] args)
    {
        var psi = Quest(args);
        if (!OperatingSystem.IsLinux()) return psi;
        psi.ArgumentList.Insert(0, "dotnet");
        psi.ArgumentList.Insert(0, "--default-signal=INT");
        psi.FileName = "env";   // env execs dotnet: the pid the test signals stays the program's
        return psi;
    }

    private Task<(int Code, string Out, string Err)> RunAsync(params string[] args) => QuestProcess.RunAsync(_dir, args, Ct);

    [Fact]
    public async Task Ask_completes_an_episode_against_a_loopback_openai_server()
    {
        using var server = new OpenAICompatibleServer(new ScriptedChatClient([Call("search", "{\"query\": [\"x\"]}"), Answer("Ada Example")]));
        var (code, stdout, stderr) = await RunAsync("ask", "Who founded it?", "--endpoint", server.BaseUrl.ToString(), "--model", "qm", "--corpus", "none", "--date", "2026-02-03", "--retries", "1");
        Assert.True(code == 0, stderr + stdout);
        Assert.Contains("Answer: Ada Example", stdout);
        Assert.Contains("[tool call] search", stdout);
        Assert.Contains("[Tool Error] Unknown tool: search", stdout); // no corpus, no tools
        Assert.Contains("Termination: answer", stdout);
        Assert.Equal(2, server.Requests.Count);
        Assert.Equal("qm", server.Requests[0].Model);
        Assert.EndsWith("Current date: 2026-02-03", server.Requests[0].Messages[0].Content);
        Assert.Equal(["\n<tool_response>", "<tool_response>"], server.Requests[0].Stop);
    }

    [Fact]
    public async Task Ask_uses_the_generated_world_by_default_and_can_print_json()
    {
        using var server = new OpenAICompatibleServer(new ScriptedChatClient([Call("search", "{\"query\": [\"society founded\"]}"), Answer("done")]));
        var (code, stdout, stderr) = await RunAsync("ask", "Which society?", "--endpoint", server.BaseUrl.ToString(), "--json");
        Assert.True(code == 0, stderr + stdout);
        var t = JsonSerializer.Deserialize<Trajectory>(stdout, RolloutRunner.JsonOptions)!;
        Assert.Equal(Termination.Answer, t.Termination);
        Assert.Contains("A Google search for 'society founded' found", t.Messages[3].Content);
        Assert.Contains("\"name\": \"visit\"", t.Messages[0].Content);
        Assert.True(Directory.Exists(Path.Combine(_dir, "artifacts")));

        // --system-prompt FILE: the file's text verbatim, the date appended (QUEST's prompt for its released models).
        var prompt = Path.Combine(_dir, "prompt.txt");
        File.WriteAllText(prompt, "You are QUEST's agent.\nCurrent date: \n");
        using var server2 = new OpenAICompatibleServer(new ScriptedChatClient([Answer("done")]));
        var (code2, stdout2, stderr2) = await RunAsync("ask", "Which society?", "--endpoint", server2.BaseUrl.ToString(), "--json", "--corpus", "none",
            "--system-prompt", prompt, "--date", "2026-02-03");
        Assert.True(code2 == 0, stderr2 + stdout2);
        Assert.Equal("You are QUEST's agent.\nCurrent date: 2026-02-03", JsonSerializer.Deserialize<Trajectory>(stdout2, RolloutRunner.JsonOptions)!.Messages[0].Content);
        var (code3, _, stderr3) = await RunAsync("ask", "q", "--endpoint", server2.BaseUrl.ToString(), "--corpus", "none", "--system-prompt", prompt + ".missing");
        Assert.Equal(2, code3);
        Assert.Contains("prompt.txt.missing: file not found", stderr3);
    }

    [Fact]
    public async Task Ask_reports_an_unreachable_endpoint_with_exit_code_1()
    {
        var (code, _, stderr) = await RunAsync("ask", "q", "--endpoint", "http://127.0.0.1:9/v1", "--corpus", "none", "--retries", "1");
        Assert.Equal(1, code);
        Assert.Contains("the policy failed", stderr);
    }

    [Theory]
    [InlineData("--corpus", "none")]                                   // no policy at all
    [InlineData("--policy", "ftp://nope")]                             // unknown policy
    [InlineData("--policy", "scripted:/no/such/file.txt")]
    [InlineData("--memory-strategy", "shred")]
    [InlineData("--policy", "local:/no/such/checkpoint")]
    public async Task Ask_rejects_bad_input_with_exit_code_2(string opt, string value)
    {
        var args = new List<string> { "ask", "q", opt, value };
        if (opt != "--policy" && opt != "--corpus") args.AddRange(["--endpoint", "http://127.0.0.1:9"]);
        var (code, _, stderr) = await RunAsync([.. args]);
        Assert.Equal(2, code);
        Assert.StartsWith("quest: ", stderr);
    }

    private string WriteTasks(int n)
    {
        var path = Path.Combine(_dir, "tasks.jsonl");
        File.WriteAllLines(path, Enumerable.Range(0, n).Select(i => JsonSerializer.Serialize(new { id = $"t{i}", question = $"Question {i}?", answer = $"A{i}" })));
        return path;
    }

    private string WriteScript(int n, int delayMs)
    {
        var path = Path.Combine(_dir, "policy.jsonl");
        var d = delayMs > 0 ? $"!delay {delayMs}\n" : "";
        File.WriteAllLines(path, Enumerable.Range(0, n).Select(i => JsonSerializer.Serialize(new { question = $"Question {i}?", turns = new[] { d + Call("search", "{\"query\": [\"q\"]}"), d + Answer(i % 2 == 0 ? $"A{i}" : "wrong") } })));
        return path;
    }

    /// <summary>Waits until <paramref name="file"/> holds <paramref name="count"/> lines (at most a minute).</summary>
    private static async Task WaitForLinesAsync(string file, int count)
    {
        var sw = Stopwatch.StartNew();
        while (sw.Elapsed < TimeSpan.FromSeconds(60) && (!File.Exists(file) || File.ReadAllLines(file).Length < count)) await Task.Delay(50, Ct);
    }

    private static List<Trajectory> Lines(string outDir) => RolloutRunner.ReadTrajectories(Path.Combine(outDir, "trajectories.jsonl")).ToList();

    [Fact]
    public async Task Rollout_and_eval_give_a_synthesized_task_the_same_score_and_eval_of_a_scripted_policy_never_loads_libtorch()
    {
        // tasks synthesized over world-tiny, answered right but without citations: a task that needs citations then scores
        // 0.75 under its reward (the citation term is 0), which the rubric alone would have scored 1
        using var sc = global::Quest.World.WorldEnvironment.Open("world-tiny");
        var all = (await new global::Quest.Synthesis.Synthesizer(sc.Graph).RunAsync(new global::Quest.Synthesis.SynthesisOptions { Count = 12, Seed = 4, TestFraction = 0.5 }, null, Ct)).Tasks;
        var picked = all.Where(t => t.NeedCitation).Take(2).Concat(all.Where(t => !t.NeedCitation && t.Family != "report").Take(2)).ToList();
        Assert.True(picked.Count(t => t.NeedCitation) > 0, "no citation task synthesized");
        var tasks = Path.Combine(_dir, "synth.jsonl");
        global::Quest.Synthesis.TaskFile.Write(tasks, picked);
        var script = Path.Combine(_dir, "answers.jsonl");
        File.WriteAllLines(script, picked.Select(t => JsonSerializer.Serialize(new { question = t.Question, turns = new[] { Answer(t.Answer) } })));
        var ro = await RunAsync("rollout", "--tasks", tasks, "--policy", "scripted:" + script, "--out", Path.Combine(_dir, "ro"), "--corpus", "world-tiny", "--no-progress");
        Assert.True(ro.Code == 0, ro.Err + ro.Out);
        // eval runs with the dynamic loader's trace on: a scripted (or endpoint) policy must not load libtorch
        var psi = Quest("eval", "--tasks", tasks, "--policy", "scripted:" + script, "--out", Path.Combine(_dir, "ev"), "--corpus", "world-tiny");
        psi.Environment["LD_DEBUG"] = "files";
        using (var p = Process.Start(psi)!)
        {
            var o = p.StandardOutput.ReadToEndAsync(Ct); var e = p.StandardError.ReadToEndAsync(Ct);
            await p.WaitForExitAsync(Ct);
            var (evOut, evErr) = (await o, await e);
            Assert.True(p.ExitCode == 0, evErr[^Math.Min(evErr.Length, 4000)..] + evOut);
            if (OperatingSystem.IsLinux())
            {
                Assert.Contains("libcoreclr", evErr);                 // the trace works here
                Assert.DoesNotContain("libtorch", evErr);            // and libtorch was never opened
            }
        }
        var byRollout = Lines(Path.Combine(_dir, "ro")).ToDictionary(t => t.TaskId, t => t.Reward);
        var byEval = Lines(Path.Combine(_dir, "ev")).ToDictionary(t => t.TaskId, t => t.Reward);
        Assert.Equal(picked.Count, byRollout.Count);
        foreach (var t in picked) Assert.Equal(byEval[t.Id], byRollout[t.Id]);
        Assert.All(picked.Where(t => t.NeedCitation), t => Assert.InRange(byRollout[t.Id]!.Value, 0, 0.75 + 1e-9));   // the citation term counted
    }

    [Fact]
    public async Task Rollout_writes_scored_episodes_and_refuses_to_overwrite_without_resume()
    {
        var tasks = WriteTasks(4); var script = WriteScript(4, 0); var outDir = Path.Combine(_dir, "out");
        var (code, stdout, stderr) = await RunAsync("rollout", "--tasks", tasks, "--policy", "scripted:" + script, "--out", outDir, "--samples", "2", "--parallel", "3", "--corpus", "none");
        Assert.True(code == 0, stderr + stdout);
        var ts = Lines(outDir);
        Assert.Equal(8, ts.Count);
        Assert.Equal(8, ts.Select(t => (t.TaskId, t.Sample)).Distinct().Count());
        Assert.Equal(4, ts.Count(t => t.Reward == 1));
        Assert.Contains("mean reward 0.5", stdout);

        var again = await RunAsync("rollout", "--tasks", tasks, "--policy", "scripted:" + script, "--out", outDir, "--corpus", "none");
        Assert.Equal(2, again.Code);
        Assert.Contains("--resume", again.Err);
        var resumed = await RunAsync("rollout", "--tasks", tasks, "--policy", "scripted:" + script, "--out", outDir, "--samples", "2", "--resume", "--corpus", "none");
        Assert.Equal(0, resumed.Code);
        Assert.Contains("0 written, 8 skipped", resumed.Out);
        Assert.Equal(8, Lines(outDir).Count);
    }

    [Fact]
    public async Task Rollout_against_a_dead_endpoint_fails_before_any_episode()
    {
        var tasks = WriteTasks(3); var outDir = Path.Combine(_dir, "dead");
        var (code, stdout, stderr) = await RunAsync("rollout", "--tasks", tasks, "--policy", "http://127.0.0.1:1", "--out", outDir, "--corpus", "none", "--no-progress");
        Assert.True(code == 1, $"exit {code}: {stderr}{stdout}");
        Assert.Contains("could not be reached", stderr);
        Assert.False(File.Exists(Path.Combine(outDir, "trajectories.jsonl")));
    }

    [Fact]
    public async Task Rollout_killed_midway_resumes_without_duplicating_or_losing_episodes()
    {
        const int n = 10;
        var tasks = WriteTasks(n); var script = WriteScript(n, 250); var outDir = Path.Combine(_dir, "out");
        var file = Path.Combine(outDir, "trajectories.jsonl");
        using (var p = Process.Start(Quest("rollout", "--tasks", tasks, "--policy", "scripted:" + script, "--out", outDir, "--parallel", "2", "--corpus", "none"))!)
        {
            _ = p.StandardOutput.ReadToEndAsync(Ct); _ = p.StandardError.ReadToEndAsync(Ct);
            await WaitForLinesAsync(file, 3);
            p.Kill(entireProcessTree: true);
            await p.WaitForExitAsync(Ct);
        }
        var before = Lines(outDir);
        Assert.InRange(before.Count, 3, n - 1);

        var (code, stdout, stderr) = await RunAsync("rollout", "--tasks", tasks, "--policy", "scripted:" + script, "--out", outDir, "--parallel", "4", "--resume", "--corpus", "none");
        Assert.True(code == 0, stderr + stdout);
        var after = Lines(outDir);
        Assert.Equal(n, after.Count);
        Assert.Equal(Enumerable.Range(0, n).Select(i => $"t{i}").Order(), after.Select(t => t.TaskId).Order());
        Assert.All(before, b => Assert.Contains(after, a => a.EpisodeId == b.EpisodeId)); // finished episodes kept as they were
    }

    [System.Runtime.InteropServices.DllImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static extern int Kill(int pid, int signal);

    [Fact]
    public async Task Rollout_interrupted_with_ctrl_c_keeps_finished_episodes_and_says_how_to_resume()
    {
        if (!OperatingSystem.IsLinux() && !OperatingSystem.IsMacOS()) return;
        const int n = 10;
        // 1 s a turn: the 8 episodes left take at least 8 s, so a loaded machine cannot finish them before the signal lands
        var tasks = WriteTasks(n); var script = WriteScript(n, 1000); var outDir = Path.Combine(_dir, "out");
        var file = Path.Combine(outDir, "trajectories.jsonl");
        using var p = Process.Start(QuestWithDefaultSigint("rollout", "--tasks", tasks, "--policy", "scripted:" + script, "--out", outDir, "--parallel", "2", "--corpus", "none", "--no-progress"))!;
        var o = p.StandardOutput.ReadToEndAsync(Ct); var e = p.StandardError.ReadToEndAsync(Ct);
        await WaitForLinesAsync(file, 2);
        Assert.Equal(0, Kill(p.Id, 2)); // SIGINT, as Ctrl+C sends it
        await p.WaitForExitAsync(Ct);
        var stdout = await o;
        Assert.Equal(130, p.ExitCode);
        Assert.Contains("cancelled: rerun with --resume", stdout);
        var kept = Lines(outDir);
        Assert.InRange(kept.Count, 2, n - 1);
        Assert.All(kept, t => Assert.Equal(Termination.Answer, t.Termination));
    }
}
