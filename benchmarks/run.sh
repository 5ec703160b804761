#!/bin/sh
# Run the benchmarks and write benchmarks/RESULTS.md; pass --quick for a short run.
cd "$(dirname "$0")/.." && exec python -m benchmarks "$@"
