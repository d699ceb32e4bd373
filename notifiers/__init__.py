"""Apprise delivery of the notification outbox."""
