"""Reads ceci pipeline stage classes from Python sources without importing them."""
