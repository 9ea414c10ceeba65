"""The Faust agents: `join` (change events → upsert commands) and the two sinks."""
