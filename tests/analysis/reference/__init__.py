"""The per-sample step detection as it was at 89be00d (detect.py, step.py, loopstep.py, verbatim but for
their imports of each other): the oracle ``tests/analysis/test_vectorised.py`` compares the NumPy
implementation with. Kept unchanged on purpose (detect.py is longer than a module should be): it is the
reference, not code to maintain."""
