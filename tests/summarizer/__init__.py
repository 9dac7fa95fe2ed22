"""Tests of summarizer/."""
