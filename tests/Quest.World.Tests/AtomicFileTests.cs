using Quest.Core;
using Xunit;

namespace Quest.World.Tests;

public class AtomicFileTests
{
    private static string Dir()
    {
        var d = Path.Combine(Path.GetTempPath(), "quest-atomic-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(d);
        return d;
    }

    [Theory]
    [InlineData(true)]    // renameat2 exchange (Linux)
    [InlineData(false)]   // the portable move-aside swap
    public void Concurrent_writers_of_one_directory_all_succeed_and_leave_one_whole_directory(bool exchange)
    {
        // two processes building the same corpus index swap in whole directories; before, the loser's second rename
        // failed with "Directory not empty" when the winner's directory appeared between its two renames
        var target = Path.Combine(Dir(), "index");
        var errors = new System.Collections.Concurrent.ConcurrentBag<Exception>();
        var threads = Enumerable.Range(0, 8).Select(w => new Thread(() =>
        {
            for (int k = 0; k < 25; k++)
            {
                try
                {
                    AtomicFile.WriteDirectory(target, tmp =>
                    {
                        for (int f = 0; f < 3; f++) File.WriteAllText(Path.Combine(tmp, $"part{f}.txt"), $"{w}:{k}");
                    }, exchange);
                }
                catch (Exception e) { errors.Add(e); }
            }
        })).ToList();
        threads.ForEach(t => t.Start());
        threads.ForEach(t => t.Join());
        Assert.Empty(errors.Select(e => e.Message));
        // one writer's whole directory, not a mix, and no temporary directories left behind
        var parts = Directory.GetFiles(target).Order().Select(File.ReadAllText).ToList();
        Assert.Equal(3, parts.Count);
        Assert.Single(parts.Distinct());
        Assert.Equal(["index"], Directory.GetFileSystemEntries(Path.GetDirectoryName(target)!).Select(Path.GetFileName));
    }

    [Fact]
    public void A_symlink_is_written_through_and_stays_a_link()
    {
        var d = Dir();
        var target = Path.Combine(d, "real.txt");
        File.WriteAllText(target, "old");
        var link = Path.Combine(d, "link.txt");
        File.CreateSymbolicLink(link, target);
        AtomicFile.WriteAllText(link, "new");
        Assert.NotNull(new FileInfo(link).LinkTarget);                 // still a link
        Assert.Equal("new", File.ReadAllText(target));                 // the file it points at was replaced
        Assert.Empty(Directory.GetFiles(d, "*.tmp"));
    }

    [Fact]
    public void Devices_pipes_and_directories_are_refused_and_left_alone()
    {
        if (!OperatingSystem.IsLinux()) return;
        var ex = Assert.Throws<QuestInputException>(() => AtomicFile.WriteAllText("/dev/full", "x"));
        Assert.Contains("not a regular file", ex.Message);
        Assert.False(AtomicFile.IsRegularFile("/dev/null"));
        Assert.True(File.Exists("/dev/full") && !AtomicFile.IsRegularFile("/dev/full"));   // the device is still a device
        var d = Dir();
        Assert.Contains("is a directory", Assert.Throws<QuestInputException>(() => AtomicFile.WriteAllText(d, "x")).Message);
        var f = Path.Combine(d, "plain.txt");
        File.WriteAllText(f, "x");
        Assert.True(AtomicFile.IsRegularFile(f));
    }

    [Fact]
    public void An_unwritable_location_says_cannot_create_and_a_full_disk_keeps_the_old_file()
    {
        var ex = Assert.Throws<QuestInputException>(() => AtomicFile.WriteAllText("/proc/quest-nope/out.json", "x"));
        Assert.Contains("cannot create", ex.Message);
        var d = Dir();
        var f = Path.Combine(d, "out.txt");
        AtomicFile.WriteAllText(f, "previous");
        // a writer that fails like a full disk: the previous file stays, no temporary file is left
        var io = Assert.Throws<IOException>(() => AtomicFile.Write(f, s => { s.WriteByte(1); throw new IOException("No space left on device"); }));
        Assert.Contains(f, io.Message);
        Assert.Equal("previous", File.ReadAllText(f));
        Assert.Empty(Directory.GetFiles(d, "*.tmp"));
    }
}
