"""The state store: occurrences, confirmations, audit events, notification outbox, drafted documents."""
