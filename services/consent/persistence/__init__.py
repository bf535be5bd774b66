"""Where the consent service keeps its data (PostgreSQL, or an embedded SQLite file)."""
