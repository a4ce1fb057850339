using System.Text.Json;
using Quest.World.Corpus;
using Quest.World.Search;
using Quest.World.Tools;
using Xunit;

namespace Quest.World.Tests;

/// <summary>
/// Tests on the real FOLDOC and Jargon File (Debian packages dict-foldoc, dict-jargon). Outside CI they are skipped
/// when the files are absent; in CI (CI=true) absence is a failure, because CI installs the packages.
/// </summary>
public class RealCorpusTests
{
    private static string? Dir(DictdFlavor f)
    {
        var dir = DictdSources.Locate(f);
        if (dir is not null) return dir;
        var msg = $"{DictdImporter.DebianPackage(f)} files not found in {string.Join(", ", DictdSources.SearchPath())} "
                + $"(apt-get install {DictdImporter.DebianPackage(f)}, or `quest corpus fetch {DictdImporter.BaseName(f)}`)";
        if (string.Equals(Environment.GetEnvironmentVariable("CI"), "true", StringComparison.OrdinalIgnoreCase)) Assert.Fail(msg);
        Assert.Skip(msg);
        return null;
    }

    private static readonly Lazy<PageCorpus?> Foldoc = new(() => DictdSources.Locate(DictdFlavor.Foldoc) is { } d ? DictdImporter.ImportDirectory(DictdFlavor.Foldoc, d) : null);

    [Fact]
    public void Foldoc_imports_completely()
    {
        Dir(DictdFlavor.Foldoc);
        var c = Foldoc.Value!;
        Assert.True(c.Count > 10_000, $"{c.Count} pages");
        Assert.True(c.LinkCount > 30_000, $"{c.LinkCount} links");
        Assert.Empty(c.Info.Warnings);
        Assert.All(c.Take(2000), p => Assert.All(p.Links, l => Assert.True(c.Contains(l), $"{p.Url} -> {l}")));
        Assert.True(c.Count(p => p.Date is not null) > c.Count * 0.7);
        Assert.Contains(c, p => p.Category == "person");
    }

    [Fact]
    public async Task Foldoc_cross_reference_chain_can_be_followed_with_the_tools()
    {
        Dir(DictdFlavor.Foldoc);
        var c = Foldoc.Value!;
        using var index = Bm25Index.BuildInMemory(c);
        var tools = ToolRegistry.ForIndex(index);
        var ct = TestContext.Current.CancellationToken;
        // search -> Lisp -> (link) John McCarthy -> (link) Stanford AI lab / MIT: a real three-page chain.
        var s = await tools.CallAsync("search", """{"query": ["Lisp", "who invented Lisp"]}""", ct);
        Assert.StartsWith("A Google search for 'Lisp' found 10 results:\n\n1. Title: Lisp\nLink: https://foldoc.org/Lisp\n", s);
        Assert.Contains("John McCarthy", s[s.IndexOf("'who invented Lisp'", StringComparison.Ordinal)..]);
        var lisp = await tools.CallAsync("visit", """{"url": "https://foldoc.org/Lisp", "goal": "Who invented Lisp?"}""", ct);
        Assert.Contains("[John McCarthy](https://foldoc.org/John+McCarthy)", lisp);
        var jmc = await tools.CallAsync("visit", """{"url": "https://foldoc.org/John+McCarthy", "goal": "Where did John McCarthy work and invent Lisp?"}""", ct);
        Assert.Contains("worked at [SAIL](", jmc);
        var mitLink = Markdown.Links(c.Find("https://foldoc.org/John+McCarthy")!.Text).First(l => l.Anchor == "MIT").Url;
        var mit = c.Find(mitLink)!;
        Assert.Contains("Massachusetts", mit.Title);
        Assert.Contains(c.Find("https://foldoc.org/Lisp")!.Url, c.Backlinks(mit.Url).Select(p => p.Url));
    }

    [Fact]
    public void Jargon_imports_completely()
    {
        var dir = Dir(DictdFlavor.Jargon)!;
        var c = DictdImporter.ImportDirectory(DictdFlavor.Jargon, dir);
        Assert.True(c.Count > 2000, $"{c.Count} pages");
        Assert.Empty(c.Info.Warnings);
        var hacker = c.Find("https://catb.org/jargon/html/H/hacker.html")!;
        Assert.Contains("programmable systems", hacker.Text);
        Assert.Contains(hacker.Links, l => c.Contains(l));
    }
}
