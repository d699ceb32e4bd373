"""A plan's id: written (`plan.id`), else derived from its number, year of issue and issuer - never the file name.

The id keys everything the store holds about a plan, names its Prefect deployments and runs, and is what people
type (`kehoach confirm ID ...`). Derived, it reads as officials name a plan: '28/KH-KHCN' issued in 2022 by a body
whose documents are dated 'Thái Nguyên' is `28-kh-khcn-2022-thai-nguyen`. The year is there because plan numbers
start again every year (Decree 30/2020); the issuer's place (else its name) because every People's Committee
issues its own '15/KH-UBND'. Letters are written without diacritics (đ as d), anything else becomes '-'.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Any

MAX_PLAN_ID = 128  # the state store's column for plan ids

_NOT_ALNUM = re.compile(r"[^a-z0-9]+")


def slug(text: str) -> str:
    """`text` in lowercase ASCII letters, digits and '-': 'Đắk Lắk' -> 'dak-lak', '28/KH-KHCN' -> '28-kh-khcn'."""
    text = text.replace("đ", "d").replace("Đ", "D")
    plain = "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))
    return _NOT_ALNUM.sub("-", plain.lower()).strip("-")


def derived_id(number: str, year: int, issuer: Any | None) -> str:
    """The id of a plan that does not give one: its number, its year of issue (unless the number holds it) and
    the issuer's place, else its name (unless the number already ends in it), at most MAX_PLAN_ID characters
    (words dropped from the end). An empty number gives 'ke-hoach'.

    Args:
        number: the plan's number and symbol, '28/KH-KHCN'.
        year: the year it was issued.
        issuer: the issuing body (`place`, `name`), or None.
    """
    words = slug(number).split("-") if slug(number) else ["ke-hoach"]
    if str(year) not in words:
        words.append(str(year))
    where = slug(getattr(issuer, "place", None) or getattr(issuer, "name", None) or "")
    if where and not "-".join(words).endswith(where):
        words += where.split("-")
    while len("-".join(words)) > MAX_PLAN_ID and len(words) > 1:
        words.pop()
    return "-".join(words)[:MAX_PLAN_ID].strip("-")
