"""Rendering: the measures as console tables, a Markdown page and its plots."""
