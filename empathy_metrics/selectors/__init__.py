"""Reads of the empathy metrics (CONVENTIONS.md section 2), one module per area."""
