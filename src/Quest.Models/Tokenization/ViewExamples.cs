using Quest.Core;

namespace Quest.Models.Tokenization;

/// <summary>Supervised examples of a transcript under an <see cref="AgentView"/>: the prompts the model is given as an agent, then its turn.</summary>
public static class ViewExamples
{
    /// <summary>
    /// SFT examples of <paramref name="transcript"/> under <paramref name="view"/> (over a <see cref="ChatTemplate"/>), each
    /// at most <paramref name="seqLen"/> tokens with a mask on the tokens the loss is taken on. One example per assistant
    /// turn: the prompt a rollout gives the model before that turn (<see cref="AgentView.Prompt"/> within
    /// <see cref="AgentView.PromptBudget"/> of the window and <paramref name="replyTokens"/>), then the turn's tokens and
    /// <c>&lt;|im_end|&gt;</c>, cut to the reply budget. Under a view that shows the whole history when it fits
    /// (<see cref="AgentView.ShowsWholeHistory"/>: <c>full</c>), a transcript that fits the prompt budget whole is one example with every assistant turn masked in: the same prompts and targets, since a
    /// causal model sees exactly the earlier tokens.
    /// </summary>
    /// <param name="view">The model's view; its codec must be a <see cref="ChatTemplate"/> (the mask needs the template).</param>
    /// <param name="transcript">A chat: system prompt (optional), question, then assistant and tool-response turns.</param>
    /// <param name="seqLen">The model's context window.</param>
    /// <param name="replyTokens">Tokens a turn may generate at rollout (<see cref="AgentView.ReplyTokens"/> caps it at half the window).</param>
    public static IEnumerable<ChatEncoding> TrainingExamples(this AgentView view, IReadOnlyList<ChatTurn> transcript, int seqLen, int replyTokens = AgentView.DefaultReplyTokens)
    {
        var template = view.Codec as ChatTemplate ?? throw new ArgumentException("training examples need a view over a ChatTemplate (a tokenizer's chat template)", nameof(view));
        int reply = AgentView.ReplyTokens(seqLen, replyTokens), budget = seqLen - reply;
        if (view.ShowsWholeHistory)
        {
            var whole = template.Encode(transcript);
            if (whole.Ids.Length <= budget)
            {
                yield return whole;
                yield break;
            }
        }
        for (int i = 0; i < transcript.Count; i++)
        {
            if (transcript[i].Role != Roles.Assistant) continue;
            var turn = template.Encode([transcript[i]]);
            // the turn's own tokens: after "<|im_start|>assistant\n", through <|im_end|> (the trailing newline is prompt)
            var target = turn.Ids.Where((_, k) => turn.AssistantMask[k]).ToArray();
            if (target.Length > reply) target = target[..reply];
            var prompt = view.Prompt(transcript.Take(i).ToList(), budget);
            yield return new ChatEncoding([.. prompt, .. target], [.. Enumerable.Repeat(false, prompt.Length), .. Enumerable.Repeat(true, target.Length)]);
        }
    }
}
