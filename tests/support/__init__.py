"""Helpers the tests share (fixtures, PDFs, processes); no test lives here."""
