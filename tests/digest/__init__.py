"""Tests of digest/."""
