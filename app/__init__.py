"""Tickets, on-demand: a tickets app served from a tag-keyed cache."""
