"""Render stage: one resolved book, three writers (print PDF, EPUB 3, HTML site)."""
