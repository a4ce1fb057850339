using Microsoft.Data.Sqlite;

namespace Quest.World.Web;

/// <summary>
/// A SQLite cache for live-web calls, shaped like QUEST's: <c>search_cache(query PK, result, timestamp)</c> and
/// <c>url_content(url PK, content, ts)</c>. Only successful results are stored. Safe to share between threads
/// (one connection per call; WAL mode).
/// </summary>
public sealed class WebCache
{
    private readonly string _cs;

    /// <summary>Opens (creating) the cache database at <paramref name="path"/>.</summary>
    public WebCache(string path, TimeSpan? maxAge = null)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
        Path_ = path;
        MaxAge = maxAge;
        _cs = new SqliteConnectionStringBuilder { DataSource = path, Mode = SqliteOpenMode.ReadWriteCreate, Cache = SqliteCacheMode.Shared, Pooling = true }.ToString();
        using var c = Open();
        using var cmd = c.CreateCommand();
        cmd.CommandText = """
            PRAGMA journal_mode=WAL;
            CREATE TABLE IF NOT EXISTS search_cache (query TEXT PRIMARY KEY, result TEXT NOT NULL, timestamp INTEGER NOT NULL);
            CREATE TABLE IF NOT EXISTS url_content (url TEXT PRIMARY KEY, content TEXT NOT NULL, ts INTEGER NOT NULL);
            """;
        cmd.ExecuteNonQuery();
    }

    /// <summary>The database file.</summary>
    public string Path_ { get; }

    /// <summary>Entries older than this are ignored (null: forever).</summary>
    public TimeSpan? MaxAge { get; }

    /// <summary>The default cache file under the artifacts directory.</summary>
    public static string DefaultPath => System.IO.Path.Combine(Quest.Core.QuestPaths.ArtifactDir("web-cache"), "web-cache.sqlite");

    private SqliteConnection Open()
    {
        var c = new SqliteConnection(_cs);
        c.Open();
        using var cmd = c.CreateCommand();
        cmd.CommandText = "PRAGMA busy_timeout=5000;";
        cmd.ExecuteNonQuery();
        return c;
    }

    /// <summary>A cached search result (serialised), or null.</summary>
    public string? GetSearch(string key) => Get("SELECT result, timestamp FROM search_cache WHERE query=$k", key);

    /// <summary>Stores a search result.</summary>
    public void PutSearch(string key, string result) => Put("INSERT OR REPLACE INTO search_cache(query, result, timestamp) VALUES($k, $v, $t)", key, result);

    /// <summary>Cached page content, or null.</summary>
    public string? GetPage(string url) => Get("SELECT content, ts FROM url_content WHERE url=$k", url);

    /// <summary>Stores page content.</summary>
    public void PutPage(string url, string content) => Put("INSERT OR REPLACE INTO url_content(url, content, ts) VALUES($k, $v, $t)", url, content);

    /// <summary>Number of cached searches and pages.</summary>
    public (long Searches, long Pages) Count()
    {
        using var c = Open();
        using var cmd = c.CreateCommand();
        cmd.CommandText = "SELECT (SELECT COUNT(*) FROM search_cache), (SELECT COUNT(*) FROM url_content)";
        using var r = cmd.ExecuteReader();
        r.Read();
        return (r.GetInt64(0), r.GetInt64(1));
    }

    private string? Get(string sql, string key)
    {
        using var c = Open();
        using var cmd = c.CreateCommand();
        cmd.CommandText = sql;
        cmd.Parameters.AddWithValue("$k", key);
        using var r = cmd.ExecuteReader();
        if (!r.Read()) return null;
        if (MaxAge is { } age && DateTimeOffset.UtcNow.ToUnixTimeSeconds() - r.GetInt64(1) > age.TotalSeconds) return null;
        return r.GetString(0);
    }

    private void Put(string sql, string key, string value)
    {
        using var c = Open();
        using var cmd = c.CreateCommand();
        cmd.CommandText = sql;
        cmd.Parameters.AddWithValue("$k", key);
        cmd.Parameters.AddWithValue("$v", value);
        cmd.Parameters.AddWithValue("$t", DateTimeOffset.UtcNow.ToUnixTimeSeconds());
        cmd.ExecuteNonQuery();
    }
}
