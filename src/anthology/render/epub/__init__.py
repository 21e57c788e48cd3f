"""EPUB edition: pandoc's EPUB 3 writer, finished with the print edition's page markers and metadata."""
