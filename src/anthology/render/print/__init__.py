"""Print edition: the book's print HTML laid out by WeasyPrint into the printer's and the reader's PDFs."""
