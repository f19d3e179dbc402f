"""Vendor dialects: payload formats described as data (YAML) instead of Python codecs."""
