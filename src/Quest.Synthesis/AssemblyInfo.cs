namespace Quest.Synthesis;
// Placeholder so the project builds before its first type lands.
