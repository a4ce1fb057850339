namespace Quest.Agent;
// Placeholder so the project builds before its first type lands.
