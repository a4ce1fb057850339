namespace Quest.Interactive;
// Placeholder so the project builds before its first type lands.
