"""Tests of almanac.core."""
