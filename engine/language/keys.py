"""Occurrence keys: a period ('2023-H1', 'once', 'yc-2024-05-02'), and for one owner of a step with several the
period and the unit ('2023-H1@ubnd-nho-quan')."""

from __future__ import annotations

UNIT_SEP = "@"


def unit_key(period: str, unit: str) -> str:
    """The key of one owner's occurrence of a step with several owners: '2023-H1@ubnd-nho-quan'."""
    return f"{period}{UNIT_SEP}{unit}"


def split_key(key: str) -> tuple[str, str | None]:
    """An occurrence key as (period, unit): ('2023-H1', 'ubnd-nho-quan'), or (key, None) for a one-owner key."""
    period, sep, unit = key.partition(UNIT_SEP)
    return (period, unit) if sep else (key, None)
