"""HTML edition: one page per text, from Jinja2 templates."""
