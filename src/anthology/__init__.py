"""Build a print-ready PDF, an EPUB 3 and an HTML edition of an anthology from one book folder."""

__version__ = "0.1.0"
