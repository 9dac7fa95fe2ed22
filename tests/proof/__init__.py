"""Proof suites: hostile input, site safety, secrets and load (issue 7). Each prints its figures."""
