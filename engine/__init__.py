"""Kehoach engine: plan language, graph, calendar, state and reports."""
