"""Helpers shared by the test modules (kernels, git, the CLI, notebooks, chunkings)."""
