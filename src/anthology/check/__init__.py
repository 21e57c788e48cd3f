"""Check stage: the book's inputs checked without building, and the printer's PDF preflighted."""
