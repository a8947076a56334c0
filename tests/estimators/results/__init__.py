"""Stored reference values for the estimator tests, each with its provenance."""
