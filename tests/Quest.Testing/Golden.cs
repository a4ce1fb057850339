using System.Runtime.CompilerServices;

namespace Quest.Testing;

/// <summary>
/// Golden-file checks: the exact bytes the kit writes (the system prompt, protocol turns, tool outputs, the chat
/// template) compared with a committed file in the test's <c>Golden/</c> folder. A difference fails with the first
/// differing line of each; <c>QUEST_UPDATE_GOLDEN=1</c> rewrites the files (then review the diff before committing).
/// </summary>
public static class Golden
{
    /// <summary>True when this run rewrites golden files instead of checking them.</summary>
    public static bool Updating => Environment.GetEnvironmentVariable("QUEST_UPDATE_GOLDEN") == "1";

    /// <summary>Checks <paramref name="actual"/> against <c>Golden/NAME</c> beside the calling test's source file.</summary>
    public static void Check(string name, string actual, [CallerFilePath] string caller = "")
    {
        var path = Path.Combine(Path.GetDirectoryName(caller)!, "Golden", name);
        if (Updating)
        {
            Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            File.WriteAllText(path, actual);
            return;
        }
        if (!File.Exists(path)) throw new GoldenMismatchException($"golden file {path} is missing; run the tests with QUEST_UPDATE_GOLDEN=1 to write it, then review it");
        var expected = File.ReadAllText(path);
        if (expected == actual) return;
        var e = expected.Split('\n');
        var a = actual.Split('\n');
        int i = 0;
        while (i < Math.Min(e.Length, a.Length) && e[i] == a[i]) i++;
        string Line(string[] lines) => i < lines.Length ? lines[i] : "<end of text>";
        int col = 0;
        var (el, al) = (Line(e), Line(a));
        while (col < Math.Min(el.Length, al.Length) && el[col] == al[col]) col++;
        throw new GoldenMismatchException($"{name} differs from {path} at line {i + 1}, column {col + 1}:\n  golden: {el}\n  actual: {al}\n"
            + "(if the change is intended, run with QUEST_UPDATE_GOLDEN=1 and review the diff)");
    }
}

/// <summary>A golden-file difference.</summary>
public sealed class GoldenMismatchException(string message) : Exception(message);
