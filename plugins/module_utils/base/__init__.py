"""Leaf helpers that import nothing of ours: value syntaxes (Go durations, file modes, TLS names, API resources) and PyYAML."""
