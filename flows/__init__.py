"""Prefect flows that run plan ticks and confirmations."""
