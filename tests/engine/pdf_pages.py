"""A rendered PDF as pages of text blocks and lines with their positions (poppler's `pdftotext -bbox-layout`), to
assert on a draft as a clerk sees it on paper. Positions in points from the top left of the page."""

from __future__ import annotations

import subprocess
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path

_NS = "{http://www.w3.org/1999/xhtml}"
MM = 72 / 25.4  # points per millimetre


@dataclass(frozen=True)
class Line:
    text: str
    x0: float
    y0: float
    x1: float
    y1: float


@dataclass(frozen=True)
class Block:
    """A run of lines pdftotext keeps together: a paragraph, or the text of one table cell."""

    lines: tuple[Line, ...]

    @property
    def text(self) -> str:
        return " ".join(line.text for line in self.lines)

    @property
    def y0(self) -> float:
        return min(line.y0 for line in self.lines)

    @property
    def y1(self) -> float:
        return max(line.y1 for line in self.lines)


@dataclass
class Page:
    number: int
    height: float
    blocks: list[Block] = field(default_factory=list)

    @property
    def lines(self) -> list[Line]:
        return sorted((line for b in self.blocks for line in b.lines), key=lambda ln: (round(ln.y0), ln.x0))

    @property
    def texts(self) -> list[str]:
        return [line.text for line in self.lines]

    def running_head(self) -> str | None:
        """The page number at the top of the page, if any (the lines within 20 mm of the top edge)."""
        top = [line.text for line in self.lines if line.y1 < 20 * MM]
        return " ".join(top) or None


def pages(pdf: Path) -> list[Page]:
    out = subprocess.run(["pdftotext", "-bbox-layout", str(pdf), "-"], check=True, capture_output=True).stdout
    root = ET.fromstring(out)
    result = []
    for n, page in enumerate(root.iter(f"{_NS}page"), 1):
        p = Page(n, float(page.get("height", 0)))
        for block in page.iter(f"{_NS}block"):
            lines = []
            for line in block.iter(f"{_NS}line"):
                words = [w.text or "" for w in line.iter(f"{_NS}word")]
                lines.append(Line(" ".join(words), *(float(line.get(k, 0)) for k in ("xMin", "yMin", "xMax", "yMax"))))
            if lines:
                p.blocks.append(Block(tuple(lines)))
        result.append(p)
    return result
