"""A draft rendered as Markdown: the same text as the DOCX, for notices, the Prefect UI and review in a browser."""

from __future__ import annotations

from functools import lru_cache

from engine.reports.content import MOTTO, NAME_HERE, NATIONAL_TITLE, Draft, Para, Table

_PREFIX = {"heading": "### ", "subheading": "#### "}


def _cell(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")


@lru_cache(maxsize=2048)
def _table(t: Table) -> tuple[str, ...]:
    """A table's lines; kept, as the drafts of one tick show the same sections (engine.reports.sections)."""
    lines = ["| " + " | ".join(_cell(h) for h in t.headers) + " |", "|" + "---|" * len(t.headers)]
    lines += ["| " + " | ".join(_cell(c) for c in row) + " |" for row in t.rows]
    return tuple(lines)


def _para(p: Para) -> str:
    if p.style in _PREFIX:
        return _PREFIX[p.style] + p.text
    if p.style == "minor":
        return f"**{p.text}**"
    if p.style == "fill":
        return f"***{p.text}***"
    return p.text


def _is_item(block: Para | Table | None) -> bool:
    return isinstance(block, Para) and block.style == "item"


def render(draft: Draft) -> str:
    """The Markdown text of a draft; its first line is a one-sentence digest of the facts."""
    out = [f"> {draft.digest}", ""]
    if draft.parent:
        out.append(f"{draft.parent.upper()}  ")
    out += [f"**{draft.issuer.upper()}**  ", draft.number, "",
            f"**{NATIONAL_TITLE}**  ", f"**{MOTTO}**  ",
            f"*{draft.place_date}*", "", f"## {draft.doc_type}", "", f"**{draft.summary}**", ""]
    if draft.addressee:
        out += [draft.addressee, ""]
    previous: Para | Table | None = None
    for block in draft.blocks:
        if _is_item(block) and _is_item(previous):
            out.pop()  # dash lines in a row make one list
        out += _table(block) if isinstance(block, Table) else [_para(block)]
        out.append("")
        previous = block
    out += [f"**{line}**  " for line in draft.signer]
    out += [f"**{draft.signer_name}**" if draft.signer_name else f"*{NAME_HERE}*", ""]
    out += ["***Nơi nhận:***"] + [f"- {r}" for r in draft.receivers]
    return "\n".join(out) + "\n"
