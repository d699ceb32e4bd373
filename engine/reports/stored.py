"""Stored drafts whose DOCX is made when first asked for: the tick keeps the draft's content, not its rendering.

A report or review drafted when its occurrence opens is stored in both formats at once, but rendering a DOCX costs
about a hundred times the Markdown, and most DOCX drafts of a long simulation are never opened. So the tick stores
the Markdown and, in the DOCX row, the draft's content (`Draft`, compressed JSON behind a marker no DOCX starts
with - a DOCX is a zip, starting 'PK'). Whoever reads a stored document reads it through `document_bytes`: the
first read of a DOCX renders it, exactly as the tick would have (same content, same date), and stores the result in
the caller's transaction, so later reads get the same bytes.
"""

from __future__ import annotations

import json
import zlib
from datetime import date
from functools import lru_cache
from typing import Any

from engine.reports import docx
from engine.reports.content import Draft
from engine.reports.sections import Para, Table

MARKER = b"KEHOACH-DRAFT\x00v1\n"


def _plain(value: Any) -> Any:
    if isinstance(value, date):
        return {"date": value.isoformat()}
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


def _dated(value: Any) -> Any:
    if isinstance(value, dict):
        return date.fromisoformat(value["date"]) if set(value) == {"date"} else {k: _dated(v) for k, v in value.items()}
    return value


def pending_docx(draft: Draft, drafted_on: date | None) -> bytes:
    """What the DOCX row of a draft holds until the DOCX is first read: its content and its drafting day.

    The JSON of `{"drafted_on", "draft", "blocks", "meta"}` as `json.dumps` writes it, each block's JSON kept:
    the drafts of one tick share most of their blocks (engine.reports.sections).
    """
    fields = {name: getattr(draft, name) for name in Draft.__dataclass_fields__ if name not in ("blocks", "meta")}
    head = _json({"drafted_on": drafted_on.isoformat() if drafted_on else None, "draft": fields})
    text = (f'{head[:-1]}, "blocks": [{", ".join(map(_block_json, draft.blocks))}], '
            f'"meta": {_json(_plain(draft.meta))}}}')
    return MARKER + zlib.compress(text.encode("utf-8"), 1)


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


@lru_cache(maxsize=2048)
def _block_json(b: Para | Table) -> str:
    return _json({"table": [b.headers, b.rows, b.nowrap]} if isinstance(b, Table) else {"para": [b.text, b.style]})


def is_pending(content: bytes) -> bool:
    return content.startswith(MARKER)


def render_pending(content: bytes) -> bytes:
    """The DOCX of a pending draft, as `docx.render` made it when the draft was stored."""
    data = json.loads(zlib.decompress(content[len(MARKER):]))
    fields = data["draft"]
    blocks: list[Para | Table] = [
        Table(tuple(b["table"][0]), tuple(tuple(r) for r in b["table"][1]), tuple(b["table"][2])) if "table" in b
        else Para(*b["para"]) for b in data["blocks"]]
    draft = Draft(**{**fields, "signer": tuple(fields["signer"]), "blocks": blocks, "meta": _dated(data["meta"])})
    drafted_on = date.fromisoformat(data["drafted_on"]) if data["drafted_on"] else None
    return docx.render(draft, drafted_on)


def document_bytes(document: Any) -> bytes:
    """A stored document's bytes (a DocumentRecord): a pending DOCX is rendered now and kept on the row, which
    the caller's transaction stores."""
    content = document.content
    if is_pending(content):
        content = render_pending(content)
        document.content = content
    return content
