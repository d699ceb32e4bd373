"""Apprise delivery of the notification outbox (the messages' templates are the plan language's:
engine.language.templates)."""
