"""Renderers: Analysis/Advice → text or bytes. No arithmetic here beyond formatting."""
