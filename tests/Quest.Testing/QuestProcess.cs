using System.Diagnostics;

namespace Quest.Testing;

/// <summary>Runs the real <c>quest</c> binary (the test output's quest.dll) as a child process, the way a user does.</summary>
public static class QuestProcess
{
    /// <summary>
    /// How <c>quest ARGS</c> is started in <paramref name="workDir"/> (<c>QUEST_ARTIFACTS=WORKDIR/artifacts</c>, no colour,
    /// stdout and stderr redirected), for tests that start, signal or kill the child themselves.
    /// </summary>
    public static ProcessStartInfo StartInfo(string workDir, IEnumerable<string> args)
    {
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = workDir, UseShellExecute = false };
        psi.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "quest.dll"));
        foreach (var a in args) psi.ArgumentList.Add(a);
        psi.Environment["QUEST_ARTIFACTS"] = Path.Combine(workDir, "artifacts");
        psi.Environment["NO_COLOR"] = "1";
        return psi;
    }

    /// <summary>
    /// Runs <c>quest ARGS</c> in <paramref name="workDir"/> with <c>QUEST_ARTIFACTS=WORKDIR/artifacts</c> and no colour;
    /// returns the exit code, stdout and stderr.
    /// </summary>
    public static async Task<(int Code, string Out, string Err)> RunAsync(string workDir, IEnumerable<string> args, CancellationToken ct)
    {
        using var p = Process.Start(StartInfo(workDir, args))!;
        var o = p.StandardOutput.ReadToEndAsync(ct);
        var e = p.StandardError.ReadToEndAsync(ct);
        await p.WaitForExitAsync(ct);
        return (p.ExitCode, await o, await e);
    }
}
