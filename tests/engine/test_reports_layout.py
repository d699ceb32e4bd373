"""Layout from letter widths (engine/reports/metrics.py, engine/reports/layout.py): how wide a text is in Times New
Roman, where an agency name breaks, how wide each table column is."""

from __future__ import annotations

import json

import pytest

from engine.reports.layout import break_name, column_widths, row_wraps
from engine.reports.metrics import CHARACTERS, FONT_DIR, TABLE, build_table, widest_word, width


class TestWidths:
    def test_measured_as_libreoffice_lays_them_out(self):
        # Widths LibreOffice gave these lines in a PDF (Liberation Serif), in mm.
        assert width("CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", 13, bold=True) == pytest.approx(95.6, abs=0.3)
        assert width("Thái Nguyên, ngày 25 tháng 10 năm 2023", 14, italic=True) == pytest.approx(83.1, abs=0.3)

    def test_every_vietnamese_letter_is_in_the_table(self):
        vietnamese = "ăâđêôơưĂÂĐÊÔƠƯ" + "".join(chr(c) for c in range(0x1EA0, 0x1EFA))
        assert set(vietnamese) <= set(CHARACTERS)

    def test_decomposed_text_measures_as_precomposed(self):
        import unicodedata

        text = "Sở Khoa học và Công nghệ"
        assert width(unicodedata.normalize("NFD", text), 12) == width(text, 12)

    def test_the_widest_word_is_where_a_line_cannot_break(self):
        assert widest_word("hạn 15/12/2023 và", 12) == width("15/12/2023", 12)
        assert widest_word("chủ\u00a0trì", 12) == width("chủ\u00a0trì", 12)  # no break at a no-break space

    @pytest.mark.skipif(not (FONT_DIR / "LiberationSerif-Regular.ttf").exists(), reason="fonts-liberation2 absent")
    def test_the_committed_table_is_what_the_fonts_give(self):
        assert json.loads(TABLE.read_text(encoding="utf-8")) == build_table()


class TestAgencyNames:
    @pytest.mark.parametrize("name, lines", [
        ("SỞ KHOA HỌC VÀ CÔNG NGHỆ", ["SỞ KHOA HỌC VÀ CÔNG NGHỆ"]),
        ("ỦY BAN NHÂN DÂN HUYỆN PHÚ BÌNH", ["ỦY BAN NHÂN DÂN", "HUYỆN PHÚ BÌNH"]),
        ("ỦY BAN NHÂN DÂN THÀNH PHỐ THÁI NGUYÊN", ["ỦY BAN NHÂN DÂN", "THÀNH PHỐ THÁI NGUYÊN"]),
        ("SỞ NÔNG NGHIỆP VÀ PHÁT TRIỂN NÔNG THÔN", ["SỞ NÔNG NGHIỆP", "VÀ PHÁT TRIỂN NÔNG THÔN"]),
        ("TRUNG TÂM PHÁT TRIỂN KHOA HỌC VÀ CÔNG NGHỆ", ["TRUNG TÂM PHÁT TRIỂN", "KHOA HỌC VÀ CÔNG NGHỆ"]),
    ])
    def test_broken_between_words_where_a_clerk_breaks_them(self, name, lines):
        assert break_name(name, 78, 13, bold=True) == lines

    def test_every_line_fits_and_no_word_is_left_alone(self):
        name = "BAN QUẢN LÝ CÁC KHU CÔNG NGHIỆP VÀ KHU CHẾ XUẤT TỈNH THÁI NGUYÊN"
        lines = break_name(name, 60, 13, bold=True)
        assert " ".join(lines) == name and len(lines) > 1
        assert all(width(line, 13, bold=True) < 60 for line in lines)
        assert all(len(line.split()) > 1 for line in lines)
        assert all(line.split()[-1] != "VÀ" for line in lines)


class TestColumns:
    ROWS = [("Kỳ", "Hạn", "Hoàn thành", "Kết quả thực hiện"),
            ("6 tháng đầu năm 2023", "15/06/2023", "14/06/2023 (chậm 5 ngày)", "Quán triệt Kết luận số 120-KL/TW " * 4),
            ("quý II/2023", "20/06/2023", "Chưa hoàn thành (quá hạn 12 ngày)", ""),
            ("quý III/2023", "20/09/2023", "20/09/2023", "Đúng hạn")]

    def test_they_fill_the_width_and_no_date_or_period_breaks(self):
        widths = column_widths(self.ROWS, 165, 12, 2.8, nowrap=(0, 1))
        assert sum(widths) == pytest.approx(165)
        assert widths[0] > width("6 tháng đầu năm 2023", 12) + 2.8  # a nowrap column: its longest cell
        assert widths[2] > width("14/06/2023", 12) + 2.8  # any column: its widest word
        assert widths[3] == max(widths)  # the rest goes to the text

    def test_a_heading_takes_at_most_two_lines(self):
        rows = [("TT", "Đơn vị chủ\u00a0trì"), ("1", "Văn phòng")]
        widths = column_widths(rows, 30, 12, 2.8)
        assert widths[1] > width("Đơn vị", 12, bold=True) and widths[1] > width("chủ\u00a0trì", 12, bold=True)

    def test_which_rows_take_more_than_one_line(self):
        widths = column_widths(self.ROWS, 165, 12, 2.8, nowrap=(0, 1))
        assert [row_wraps(row, widths, 12, 2.8) for row in self.ROWS[1:]] == [True, True, False]
