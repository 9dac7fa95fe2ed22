"""Tests of demos/."""
