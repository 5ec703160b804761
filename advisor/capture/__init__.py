"""Run the user's script and record raw samples; nothing else happens in the user's process.

Importing this package must not import pandas, jinja2 or xlsxwriter (a test checks it).
"""
