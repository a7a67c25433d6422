"""Chaos tests: kill points, external SIGKILLs and reruns of the real pipeline."""
