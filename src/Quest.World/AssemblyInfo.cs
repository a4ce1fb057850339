namespace Quest.World;
// Placeholder so the project builds before its first type lands.
