"""Tests of watcher/."""
