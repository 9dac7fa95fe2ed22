"""Tests of the app layer (CLI, offline demo, packaging) and of the floor plan."""
