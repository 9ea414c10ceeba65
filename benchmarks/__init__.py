"""On-demand benchmarks: scripts that print figures to compare between runs on one
machine (never timed assertions in tests)."""
