using System.CommandLine;

namespace Quest.Cli.Commands;

/// <summary>Train a model stage: pretrain (mid-training) or sft.</summary>
public static class TrainCommands
{
    /// <summary>Builds the command.</summary>
    public static Command Create() => new("train", "Train a model stage: pretrain (mid-training) or sft.");
}
