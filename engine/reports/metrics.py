"""How wide a text is in Times New Roman: advance widths of the letters a draft uses, so that its layout (column
widths, where an agency name breaks) is decided before Word or LibreOffice sees it.

The widths are those of Liberation Serif, which has Times New Roman's letter widths (a line breaks at the same
word in both). They are kept in `times_widths.json` so that drafting needs no font on the machine; regenerate it
from the fonts with `python -m engine.reports.metrics` (reads Debian's fonts-liberation2 by default).
"""

from __future__ import annotations

import json
import re
import struct
import sys
import unicodedata
from functools import cache
from pathlib import Path

TABLE = Path(__file__).with_name("times_widths.json")
FONT_DIR = Path("/usr/share/fonts/truetype/liberation2")
STYLES = {"regular": "Regular", "bold": "Bold", "italic": "Italic", "bold_italic": "BoldItalic"}
PT_MM = 25.4 / 72
_BREAKS = re.compile(r"[ \t\n]+")  # where a line may break (not at a no-break space)
# Every letter of Vietnamese (precomposed), ASCII, Latin-1 and the punctuation of official texts.
CHARACTERS = "".join(chr(c) for c in [*range(0x20, 0x7F), *range(0xA0, 0x180), 0x1A0, 0x1A1, 0x1AF, 0x1B0,
                                      *range(0x1EA0, 0x1EFA), *range(0x2010, 0x2027), 0x2030, 0x20AB, 0x2116])


@cache
def _widths() -> tuple[int, dict[str, dict[str, int]]]:
    data = json.loads(TABLE.read_text(encoding="utf-8"))
    chars = data["characters"]
    return data["units_per_em"], {s: dict(zip(chars, data[s])) for s in STYLES}


def style_of(bold: bool, italic: bool) -> str:
    return ("bold_" if bold else "") + "italic" if italic else ("bold" if bold else "regular")


def width(text: str, size: float, bold: bool = False, italic: bool = False) -> float:
    """The width of one line of `text` at `size` points, in millimetres (a letter the table lacks counts as
    an 'M', so a guess errs wide)."""
    units, table = _widths()
    widths = table[style_of(bold, italic)]
    wide = widths["M"]
    if not text.isascii():
        text = unicodedata.normalize("NFC", text)
    return sum(widths.get(c, wide) for c in text) * size / units * PT_MM


def widest_word(text: str, size: float, bold: bool = False, italic: bool = False) -> float:
    """The width of the longest unbreakable piece of `text` (its widest word), in millimetres."""
    return max((width(w, size, bold, italic) for w in _BREAKS.split(text) if w), default=0.0)


# ---------------------------------------------------------------------------------------------------------------
# Reading the widths from a TrueType font (the table is regenerated with this; drafting never reads a font)


def _tables(data: bytes) -> dict[bytes, tuple[int, int]]:
    count = struct.unpack_from(">H", data, 4)[0]
    out = {}
    for i in range(count):
        tag, _, offset, length = struct.unpack_from(">4sIII", data, 12 + 16 * i)
        out[tag] = (offset, length)
    return out


def _cmap(data: bytes, offset: int) -> dict[int, int]:
    """Code point -> glyph id from the Windows Unicode subtable (format 4, or 12)."""
    _, count = struct.unpack_from(">HH", data, offset)
    subtables = [struct.unpack_from(">HHI", data, offset + 4 + 8 * i) for i in range(count)]
    for platform, encoding, sub in sorted(subtables, key=lambda s: (s[0], s[1]) != (3, 10)):
        start = offset + sub
        fmt = struct.unpack_from(">H", data, start)[0]
        if fmt == 12 and (platform, encoding) == (3, 10):
            groups = struct.unpack_from(">I", data, start + 12)[0]
            out = {}
            for g in range(groups):
                first, last, glyph = struct.unpack_from(">III", data, start + 16 + 12 * g)
                out.update({c: glyph + c - first for c in range(first, last + 1)})
            return out
        if fmt == 4 and (platform, encoding) == (3, 1):
            segs = struct.unpack_from(">H", data, start + 6)[0] // 2
            ends = struct.unpack_from(f">{segs}H", data, start + 14)
            starts = struct.unpack_from(f">{segs}H", data, start + 16 + 2 * segs)
            deltas = struct.unpack_from(f">{segs}h", data, start + 16 + 4 * segs)
            ranges_at = start + 16 + 6 * segs
            ranges = struct.unpack_from(f">{segs}H", data, ranges_at)
            out = {}
            for i in range(segs):
                for c in range(starts[i], ends[i] + 1):
                    if c == 0xFFFF:
                        continue
                    if ranges[i] == 0:
                        out[c] = (c + deltas[i]) & 0xFFFF
                    else:
                        at = ranges_at + 2 * i + ranges[i] + 2 * (c - starts[i])
                        glyph = struct.unpack_from(">H", data, at)[0]
                        out[c] = (glyph + deltas[i]) & 0xFFFF if glyph else 0
            return out
    raise ValueError("no Unicode cmap subtable")


def font_widths(path: Path, characters: str = CHARACTERS) -> tuple[int, list[int]]:
    """(units per em, advance width of each character) read from a TrueType font."""
    data = path.read_bytes()
    tables = _tables(data)
    units = struct.unpack_from(">H", data, tables[b"head"][0] + 18)[0]
    metrics = struct.unpack_from(">H", data, tables[b"hhea"][0] + 34)[0]
    hmtx = tables[b"hmtx"][0]
    advances = [struct.unpack_from(">H", data, hmtx + 4 * i)[0] for i in range(metrics)]
    cmap = _cmap(data, tables[b"cmap"][0])
    return units, [advances[min(cmap.get(ord(c), 0), metrics - 1)] for c in characters]


def build_table(font_dir: Path = FONT_DIR) -> dict[str, object]:
    """The width table of the four Liberation Serif styles in `font_dir`."""
    table: dict[str, object] = {"font": "Liberation Serif (Times New Roman metrics)", "characters": CHARACTERS}
    for style, suffix in STYLES.items():
        units, widths = font_widths(font_dir / f"LiberationSerif-{suffix}.ttf")
        table["units_per_em"] = units
        table[style] = widths
    return table


def main(argv: list[str] | None = None) -> int:
    """`python -m engine.reports.metrics [FONT_DIR]`: rewrite times_widths.json from the fonts."""
    args = sys.argv[1:] if argv is None else argv
    table = build_table(Path(args[0]) if args else FONT_DIR)
    TABLE.write_text(json.dumps(table, ensure_ascii=False, separators=(",", ":")) + "\n", encoding="utf-8")
    print(f"wrote {TABLE} ({len(CHARACTERS)} characters, {len(STYLES)} styles)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
