"""Unit tests: pure, no cluster, no network."""
