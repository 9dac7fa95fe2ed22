"""Tests of the kernel (paperdigest/: storage, settings, logs)."""
