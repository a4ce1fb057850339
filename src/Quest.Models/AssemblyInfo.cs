namespace Quest.Models;
// Placeholder so the project builds before its first type lands.
