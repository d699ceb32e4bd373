"""Text as people read it on one line: a title shortened at a word (graphs, notices, artifacts, tables), a
percentage."""

from __future__ import annotations


def shorten(text: str, limit: int) -> str:
    """`text` on one line, cut at a word boundary to at most `limit` characters (with '…' when cut)."""
    flat = " ".join(text.split())
    if len(flat) <= limit:
        return flat
    cut = flat[: limit - 1]
    if " " in cut:
        cut = cut[: cut.rindex(" ")]
    return cut.rstrip(" ,;:-") + "…"


def percent_vi(value: float) -> str:
    """A percentage as Vietnamese writes it: '2,7%', '100%'."""
    return f"{value:.1f}".rstrip("0").rstrip(".").replace(".", ",") + "%"
