"""Only the optional C stack reader is declared here; everything else is in pyproject.toml.

``optional=True``: where no C compiler is available the install still succeeds and advisor falls back
to a pure-Python stack reader (docs/how-it-works.md, "Reading the stack").
"""

import sys

from setuptools import Extension, setup

ext = []
if sys.implementation.name == "cpython" and (3, 10) <= sys.version_info[:2] <= (3, 13):
    ext.append(Extension("advisor.capture._stackread", ["advisor/capture/_stackread.c"], optional=True))

setup(ext_modules=ext)
