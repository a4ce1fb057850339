using System.IO.Compression;
using System.Text;
using System.Text.Json;
using Quest.Core;
using Quest.World.Corpus;
using Quest.World.Search;
using Quest.World.Tools;
using Xunit;

namespace Quest.World.Tests;

public class ImporterTests
{
    // A tiny FOLDOC-style dictionary written in dictd format, so the parser is tested without the package.
    private static readonly string[] Entries =
    [
        "Lisp\n\n   <language> LISt Processing language, invented by\n   {John McCarthy} at {MIT}. See {Nowhere Entry} and\n   {the FAQ (http://x.org/faq)}.\n\n   (1995-04-16)\n\n",
        "John McCarthy\n\n   <person, artificial intelligence> He invented {Lisp}\n   at {MIT}.\n\n   (2003-08-06)\n\n",
        "Massachusetts Institute of Technology\n\n   <body> A university.  See {Lisp}.\n\n   (1999-01-01)\n\n",
    ];

    private static void WriteDict(string dir, string name, IReadOnlyList<string> entries, IReadOnlyList<string[]> headwords,
        Func<byte[], byte[]>? mangleData = null, Func<string, string>? mangleIndex = null, bool gzip = true, IReadOnlyList<byte[]>? rawEntries = null)
    {
        var data = new MemoryStream();
        var index = new StringBuilder();
        index.Append($"00-database-short\t{DictdReader.Encode(0)}\t{DictdReader.Encode(0)}\n");
        for (int i = 0; i < entries.Count; i++)
        {
            var bytes = rawEntries?[i] ?? Encoding.UTF8.GetBytes(entries[i]);
            long off = data.Length;
            data.Write(bytes);
            foreach (var h in headwords[i]) index.Append($"{h}\t{DictdReader.Encode(off)}\t{DictdReader.Encode(bytes.Length)}\n");
        }
        var raw = data.ToArray();
        byte[] file = raw;
        if (gzip)
        {
            var ms = new MemoryStream();
            using (var gz = new GZipStream(ms, CompressionLevel.Optimal, leaveOpen: true)) gz.Write(raw);
            file = ms.ToArray();
        }
        if (mangleData is not null) file = mangleData(file);
        File.WriteAllBytes(Path.Combine(dir, name + (gzip ? ".dict.dz" : ".dict")), file);
        var idx = index.ToString();
        File.WriteAllText(Path.Combine(dir, name + ".index"), mangleIndex is null ? idx : mangleIndex(idx));
    }

    private static readonly string[][] Heads = [["lisp"], ["john mccarthy", "mccarthy"], ["massachusetts institute of technology", "mit"]];

    [Fact]
    public void Dictd_numbers_round_trip()
    {
        foreach (var n in new long[] { 0, 1, 63, 64, 4095, 5578809, 1L << 40 })
        {
            Assert.True(DictdReader.TryDecode(DictdReader.Encode(n), out var back));
            Assert.Equal(n, back);
        }
        Assert.True(DictdReader.TryDecode("K2+v", out var lisp)); // FOLDOC's real offset of "lisp"
        Assert.Equal(10 * 64 * 64 * 64 + 54 * 64 * 64 + 62 * 64 + 47, lisp);
        Assert.False(DictdReader.TryDecode("ab-c", out _));
        Assert.False(DictdReader.TryDecode("", out _));
    }

    [Fact]
    public void Foldoc_style_entries_become_linked_pages_with_category_date_and_aliases()
    {
        using var tmp = TestWorld.Temp();
        WriteDict(tmp.Path, "foldoc", Entries, Heads);
        var c = DictdImporter.ImportDirectory(DictdFlavor.Foldoc, tmp.Path);
        Assert.Equal(3, c.Count);
        var lisp = c.Find("https://foldoc.org/Lisp")!;
        Assert.Equal("language", lisp.Category);
        Assert.Equal("1995-04-16", lisp.Date);
        Assert.Contains("[John McCarthy](https://foldoc.org/John+McCarthy)", lisp.Text);
        Assert.Contains("[MIT](https://foldoc.org/Massachusetts+Institute+of+Technology)", lisp.Text); // alias resolves
        Assert.Contains("See Nowhere Entry and", lisp.Text);                                             // dangling ref -> text
        Assert.Contains("[the FAQ](http://x.org/faq)", lisp.Text);                                       // external link
        Assert.Equal(["https://foldoc.org/John+McCarthy", "https://foldoc.org/Massachusetts+Institute+of+Technology"], lisp.Links);
        Assert.DoesNotContain("(1995-04-16)", lisp.Text);
        var jmc = c.Find("foldoc.org/john mccarthy")!;
        Assert.Equal("person, artificial intelligence", jmc.Facts!["categories"]);
        Assert.Equal("mccarthy", jmc.Facts!["aliases"]);
        Assert.Empty(c.Info.Warnings);
    }

    [Fact]
    public void A_truncated_compressed_file_is_reported_never_a_silent_partial_corpus()
    {
        using var tmp = TestWorld.Temp();
        WriteDict(tmp.Path, "foldoc", Entries, Heads, mangleData: b => b[..(b.Length / 2)]);
        var ex = Assert.Throws<QuestInputException>(() => DictdImporter.ImportDirectory(DictdFlavor.Foldoc, tmp.Path));
        Assert.Contains("foldoc.", ex.Message);
        Assert.True(ex.Message.Contains("truncated") || ex.Message.Contains("corrupt"), ex.Message);
    }

    [Fact]
    public void Bad_index_lines_stop_with_the_line_or_are_skipped_with_a_warning()
    {
        using var tmp = TestWorld.Temp();
        WriteDict(tmp.Path, "foldoc", Entries, Heads, gzip: false,
            mangleIndex: s => s.Replace("mccarthy\t", "mccarthy\t#!").Replace("lisp\t", "lisp only one field\n"));
        var ex = Assert.Throws<QuestInputException>(() => DictdImporter.ImportDirectory(DictdFlavor.Foldoc, tmp.Path));
        Assert.EndsWith("foldoc.index", ex.FileName);
        Assert.Equal(2, ex.Line);

        var c = DictdImporter.ImportDirectory(DictdFlavor.Foldoc, tmp.Path, new ImportOptions { OnError = OnBadRecord.Skip });
        // lisp's line is split in two bad lines and both McCarthy lines are bad: only MIT's entry survives.
        Assert.Equal(["Massachusetts Institute of Technology"], c.Select(p => p.Title));
        Assert.Equal(4, c.Info.Warnings.Count);
        Assert.Contains(c.Info.Warnings, w => w.Contains("foldoc.index:2:"));
        Assert.Throws<QuestInputException>(() => DictdImporter.ImportDirectory(DictdFlavor.Foldoc, tmp.Path, new ImportOptions { OnError = OnBadRecord.Skip, MaxErrors = 1 }));
    }

    [Fact]
    public void An_entry_past_the_end_of_the_data_names_the_index_line()
    {
        using var tmp = TestWorld.Temp();
        WriteDict(tmp.Path, "foldoc", Entries, Heads, gzip: false, mangleIndex: s => s + "ghost\tZZZZ\tBA\n");
        var ex = Assert.Throws<QuestInputException>(() => DictdImporter.ImportDirectory(DictdFlavor.Foldoc, tmp.Path));
        Assert.Equal(7, ex.Line);
        Assert.Contains("past the end", ex.Message);
    }

    [Fact]
    public void Non_utf8_entries_are_read_as_latin1_with_a_warning()
    {
        using var tmp = TestWorld.Temp();
        var latin = Encoding.Latin1.GetBytes("Caf\u00e9\n\n   <food> A caf\u00e9 serves {Lisp}.\n\n");
        WriteDict(tmp.Path, "foldoc", [Entries[0], "x"], [["lisp"], ["cafe"]], rawEntries: [Encoding.UTF8.GetBytes(Entries[0]), latin]);
        var c = DictdImporter.ImportDirectory(DictdFlavor.Foldoc, tmp.Path);
        Assert.Contains("A café serves", c.Find("https://foldoc.org/Caf%C3%A9")!.Text);
        Assert.Single(c.Info.Warnings);
        Assert.Contains("Latin-1", c.Info.Warnings[0]);
    }

    [Fact]
    public void Jsonl_imports_urls_ids_titles_and_links()
    {
        using var tmp = TestWorld.Temp();
        var f = tmp.File("docs.jsonl");
        File.WriteAllLines(f,
        [
            """{"url": "https://a.org/1", "title": "One", "text": "First doc, see [Two](bm25://d2).", "date": "2020-01-02"}""",
            """{"docid": "d2", "contents": "Second document\nwith body text."}""",
            "",
        ]);
        var c = JsonlImporter.Import(f);
        Assert.Equal("docs", c.Name);
        Assert.Equal(2, c.Count);
        Assert.Equal(["bm25://d2"], c[0].Links);
        Assert.Equal("2020-01-02", c[0].Date);
        Assert.Equal("bm25://d2", c[1].Url);
        Assert.Equal("Second document", c[1].Title);
        Assert.Same(c[1], c.Find("bm25://d2"));
    }

    [Fact]
    public void Jsonl_bad_lines_stop_with_file_and_line_or_are_skipped()
    {
        using var tmp = TestWorld.Temp();
        var f = tmp.File("bad.jsonl");
        var good = """{"id": "a", "title": "A", "text": "alpha"}""";
        var bytes = new List<byte>();
        void Line(string s) { bytes.AddRange(Encoding.UTF8.GetBytes(s)); bytes.Add((byte)'\n'); }
        Line(good);
        Line("""{"id": "b", "title": "B", "text": "trunc""");          // 2: torn JSON
        Line("""{"id": "c", "title": "C"}""");                          // 3: no text
        bytes.AddRange([(byte)'{', (byte)'"', (byte)'x', 0xFF, 0xFE, (byte)'\n']); // 4: not UTF-8
        Line("""{"id": "a", "title": "A again", "text": "dup"}""");    // 5: duplicate
        Line("""["not", "an", "object"]""");                           // 6
        Line("""{"title": "no id", "text": "t"}""");                  // 7
        File.WriteAllBytes(f, bytes.ToArray());
        var ex = Assert.Throws<QuestInputException>(() => JsonlImporter.Import(f));
        Assert.Equal(2, ex.Line);
        Assert.Equal(f, ex.FileName);
        var c = JsonlImporter.Import(f, new ImportOptions { OnError = OnBadRecord.Skip });
        Assert.Single(c);
        Assert.Equal(6, c.Info.Warnings.Count);
        Assert.Equal(Enumerable.Range(2, 6).Select(i => $"bad.jsonl:{i}:"), c.Info.Warnings.Select(w => w[w.IndexOf("bad.jsonl", StringComparison.Ordinal)..][..(w[w.IndexOf("bad.jsonl", StringComparison.Ordinal)..].IndexOf(':', 10) + 1)]));
    }

    [Fact]
    public void Jsonl_with_a_bom_imports_and_invalid_utf8_names_the_byte_offset()
    {
        using var tmp = TestWorld.Temp();
        var f = tmp.File("bom.jsonl");
        var first = Encoding.UTF8.GetBytes("{\"id\": \"a\", \"title\": \"A\", \"text\": \"alpha\"}\n");
        File.WriteAllBytes(f, [0xEF, 0xBB, 0xBF, .. first]);
        Assert.Equal("bm25://a", Assert.Single(JsonlImporter.Import(f)).Url);
        File.WriteAllBytes(f, [.. first, .. "{\"id\": \"b\", \"text\": \"b"u8.ToArray(), 0xFF, .. "\"}\n"u8.ToArray()]);
        var e = Assert.Throws<QuestInputException>(() => JsonlImporter.Import(f));
        Assert.Equal(2, e.Line);
        Assert.Contains($"invalid UTF-8 at byte offset {first.Length + 22}", e.Message);
    }

    [Fact]
    public void Jsonl_without_any_usable_record_is_an_error()
    {
        using var tmp = TestWorld.Temp();
        var f = tmp.File("empty.jsonl");
        File.WriteAllText(f, "\n\n");
        Assert.Throws<QuestInputException>(() => JsonlImporter.Import(f));
        Assert.Throws<QuestInputException>(() => JsonlImporter.Import(tmp.File("missing.jsonl")));
    }
}
