using Microsoft.Extensions.AI;
using Quest.Core;

namespace Quest.Agent.Policies;

/// <summary>
/// Policies named by a string, as the command line takes them:
/// <c>openai:URL[,URL2…]#MODEL</c> (or a bare <c>http(s)://…</c> URL list with an optional <c>#MODEL</c>),
/// <c>scripted:FILE</c>, and <c>local:CHECKPOINT_DIR</c> (needs a loader, since only Quest.Models loads TorchSharp).
/// </summary>
public static class PolicySpec
{
    /// <summary>The model name used when a spec names none (QUEST's served name).</summary>
    public const string DefaultModel = "deepresearch";

    /// <summary>Creates the policy a spec names.</summary>
    /// <param name="spec">The spec.</param>
    /// <param name="localLoader">Loads <c>local:DIR</c> (e.g. <c>Quest.Models.Generation.LocalChatClient.Load</c>); null = unsupported.</param>
    /// <param name="endpointOptions">Adjusts the endpoint pool settings (retries, timeouts) for <c>openai:</c> specs.</param>
    public static IChatClient Create(string spec, Func<string, IChatClient>? localLoader = null, Func<EndpointOptions, EndpointOptions>? endpointOptions = null)
    {
        if (string.IsNullOrWhiteSpace(spec))
            throw new QuestInputException(null, null, null, "--policy is empty", "openai:URL[,URL2]#MODEL, scripted:FILE or local:CHECKPOINT_DIR");
        spec = spec.Trim();
        if (spec.StartsWith("scripted:", StringComparison.OrdinalIgnoreCase))
            return ScriptedChatClient.FromFile(spec["scripted:".Length..]);
        if (spec.StartsWith("local:", StringComparison.OrdinalIgnoreCase))
        {
            var dir = spec["local:".Length..];
            if (localLoader is null) throw new QuestInputException(null, null, null, $"policy '{spec}': local models are not available here", "openai:URL#MODEL or scripted:FILE");
            if (!Directory.Exists(dir)) throw new QuestInputException(dir, null, null, "checkpoint directory not found", "local:CHECKPOINT_DIR with a trained stage");
            return localLoader(dir);
        }
        var rest = spec.StartsWith("openai:", StringComparison.OrdinalIgnoreCase) ? spec["openai:".Length..] : spec;
        if (!rest.StartsWith("http://", StringComparison.OrdinalIgnoreCase) && !rest.StartsWith("https://", StringComparison.OrdinalIgnoreCase))
            throw new QuestInputException(null, null, null, $"unknown policy '{spec}'", "openai:URL[,URL2]#MODEL, scripted:FILE or local:CHECKPOINT_DIR");
        int hash = rest.LastIndexOf('#');
        var model = hash >= 0 ? rest[(hash + 1)..].Trim() : DefaultModel;
        if (model.Length == 0)
            throw new QuestInputException(null, null, null, $"policy '{spec}' has an empty model name after '#'", $"openai:URL#MODEL, or no '#' for the default model '{DefaultModel}'");
        var urls = hash >= 0 ? rest[..hash] : rest;
        return Endpoints(urls, model, endpointOptions);
    }

    /// <summary>
    /// Checks that <paramref name="policy"/> answers before a run relies on it: an endpoint pool gets one tiny request per
    /// endpoint (<see cref="EndpointPoolChatClient.ProbeAsync"/>), each line reported to <paramref name="log"/>; other
    /// policies (local, scripted) need no check. Throws <see cref="PolicyException"/> when no endpoint answers.
    /// </summary>
    public static async Task EnsureReachableAsync(IChatClient policy, TextWriter log, CancellationToken ct = default, TimeSpan? timeout = null)
    {
        if (policy.GetService(typeof(EndpointPoolChatClient)) is not EndpointPoolChatClient pool) return;
        log.WriteLine($"checking the policy: {pool.Options.Endpoints.Count} endpoint(s), model '{pool.Options.Model}' …");
        foreach (var line in await pool.ProbeAsync(timeout ?? TimeSpan.FromSeconds(15), ct).ConfigureAwait(false)) log.WriteLine("  " + line);
    }

    /// <summary>An endpoint pool over a comma-separated URL list.</summary>
    public static EndpointPoolChatClient Endpoints(string urls, string? model, Func<EndpointOptions, EndpointOptions>? adjust = null)
    {
        List<Uri> list;
        try { list = urls.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(EndpointOptions.NormalizeEndpoint).ToList(); }
        catch (ArgumentException ex) { throw new QuestInputException(null, null, null, ex.Message, "http(s)://HOST:PORT[/v1]"); }
        if (list.Count == 0) throw new QuestInputException(null, null, null, "no endpoint URL given", "http(s)://HOST:PORT[/v1]");
        var o = new EndpointOptions
        {
            Endpoints = list, Model = string.IsNullOrWhiteSpace(model) ? DefaultModel : model,
            ApiKey = Environment.GetEnvironmentVariable("OPENAI_API_KEY") is { Length: > 0 } k ? k : "EMPTY",
        };
        return new EndpointPoolChatClient(adjust is null ? o : adjust(o));
    }
}
