"""An empty script: what a profiler costs per run before the script does anything (start-up, analysis,
output writing)."""
