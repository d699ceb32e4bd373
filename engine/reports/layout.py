"""Layout decided from text widths: table columns that fit their content, and names broken where a clerk breaks
them. Lengths in millimetres; texts measured in Times New Roman (engine.reports.metrics)."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from itertools import combinations

from engine.reports.metrics import widest_word, width

# Words a clerk starts a new line with in an agency name ("ỦY BAN NHÂN DÂN / HUYỆN PHÚ BÌNH",
# "SỞ KHOA HỌC / VÀ CÔNG NGHỆ"), and words a line never ends with.
_BREAK_BEFORE = {"TỈNH", "HUYỆN", "QUẬN", "THỊ", "THÀNH", "XÃ", "PHƯỜNG", "VÀ", "THUỘC", "CỦA", "TRỰC"}
_NEVER_LAST = {"VÀ", "CỦA", "VỀ", "THUỘC", "THỊ", "THÀNH", "VỚI"}
_SLACK = 1.0  # kerning and rounding: what Word or LibreOffice may need beyond the sum of the advance widths


def _fits(text: str, room: float, size: float, bold: bool) -> bool:
    return width(text, size, bold) + _SLACK <= room


def break_name(name: str, room: float, size: float, bold: bool = False) -> list[str]:
    """`name` on as few lines of at most `room` mm as it takes, broken between words where a clerk would break
    it: lines of even length, a new line before the administrative level or 'VÀ', no line of one short word, no
    line ending in 'VÀ'. A name that fits stays on one line; a word longer than `room` gets a line of its own."""
    words = name.split()
    if _fits(name, room, size, bold) or len(words) < 2:
        return [" ".join(words)]
    for count in range(2, len(words) + 1):
        best: tuple[float, list[str]] | None = None
        for cuts in combinations(range(1, len(words)), count - 1):
            bounds = (0, *cuts, len(words))
            lines = [" ".join(words[a:b]) for a, b in zip(bounds, bounds[1:])]
            if not all(_fits(line, room, size, bold) for line in lines):
                continue
            widths = [width(line, size, bold) for line in lines]
            score = max(widths) - min(widths)
            score += sum(20 for a, b in zip(bounds, bounds[1:]) if b - a == 1)
            score += sum(30 for line in lines[:-1] if line.split()[-1] in _NEVER_LAST)
            score -= sum(8 for c in cuts if words[c] in _BREAK_BEFORE)
            if best is None or score < best[0]:
                best = (score, lines)
        if best is not None:
            return best[1]
    return words


def _two_lines(text: str, size: float, bold: bool) -> float:
    """The width a heading needs on at most two lines, broken where the lines come out most even."""
    words = text.split(" ")
    if len(words) < 2:
        return width(text, size, bold)
    return min(max(width(" ".join(words[:i]), size, bold), width(" ".join(words[i:]), size, bold))
               for i in range(1, len(words)))


def column_widths(rows: Sequence[Sequence[str]], total: float, size: float, padding: float,
                  bold_rows: int = 1, nowrap: Collection[int] = ()) -> list[float]:
    """Widths of a table's columns, summing to `total`: each at least as wide as its widest word (a date or a
    number never breaks), the `nowrap` columns as wide as their longest cell ('6 tháng đầu năm 2023' on one
    line), a heading on at most two lines; the room left shared out as each column's longest line needs it (the
    CSS automatic table layout). The first `bold_rows` rows are the heading, set in bold."""
    columns = len(rows[0])
    least, most = [0.0] * columns, [0.0] * columns
    for r, row in enumerate(rows):
        bold = r < bold_rows
        for c, text in enumerate(row):
            for line in text.split("\n"):
                full = width(line, size, bold)
                need = _two_lines(line, size, bold) if bold else full if c in nowrap else \
                    widest_word(line, size, bold)
                least[c] = max(least[c], need)
                most[c] = max(most[c], full)
    least = [w + padding + _SLACK for w in least]
    most = [max(w + padding + _SLACK, lo) for w, lo in zip(most, least)]
    if sum(most) <= total:
        extra = total - sum(most)
        return [w + extra * w / sum(most) for w in most]
    if sum(least) <= total:
        spread = sum(m - lo for m, lo in zip(most, least))
        share = (total - sum(least)) / spread
        return [lo + (m - lo) * share for m, lo in zip(most, least)]
    return [w * total / sum(least) for w in least]


def row_wraps(values: Sequence[str], widths: Sequence[float], size: float, padding: float) -> bool:
    """Whether a table row takes more than one line: some cell's text is wider than its column."""
    return any(width(line, size) + padding + _SLACK > w for value, w in zip(values, widths) for line in value.split("\n"))
