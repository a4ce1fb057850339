namespace Quest.Rubrics;
// Placeholder so the project builds before its first type lands.
