"""A mistake in a command line is one Vietnamese line on stderr, exit 2 (engine.cli.usage): an official who mistypes
the command a notice gave them reads what to fix, not click's English usage block."""

from __future__ import annotations

import pytest

from tests.conftest import SEED
from tests.conftest import run_cli as run

PLAN = "kh-28-khcn-2022"


@pytest.mark.parametrize("args, said", [
    (("confirm", PLAN, "quan-triet", "--bi", "Nguyễn Văn A"),
     "kehoach confirm: không có tùy chọn --bi - ý bạn là '--by'? (xem kehoach confirm --help)"),
    (("confirm", PLAN, "quan-triet", "--by", "A", "--evidense", "date=17/03/2022"),
     "kehoach confirm: không có tùy chọn --evidense - ý bạn là '--evidence'? (xem kehoach confirm --help)"),
    (("status", PLAN, "--zz"), "kehoach status: không có tùy chọn --zz (xem kehoach status --help)"),
    (("confirm", PLAN), "kehoach confirm: thiếu mã bước (xem kehoach confirm --help)"),
    (("confirm", PLAN, "quan-triet"),
     "kehoach confirm: thiếu tùy chọn --by: họ tên người xác nhận (xem kehoach confirm --help)"),
    (("confirm", PLAN, "quan-triet", "--at"),
     "kehoach confirm: tùy chọn --at cần một giá trị đi sau (xem kehoach confirm --help)"),
    (("stauts", PLAN), "kehoach: không có lệnh 'stauts' - ý bạn là 'status'? (xem kehoach --help)"),
    (("status", SEED, "--format", "xml"), "kehoach status: giá trị của --format / -f không hợp lệ: 'xml' không "
                                          "phải một trong 'table', 'json' (xem kehoach status --help)"),
    (("outbox", "--limit", "0"),
     "kehoach outbox: giá trị của --limit không hợp lệ: phải lớn hơn hoặc bằng 1 (xem kehoach outbox --help)"),
    (("outbox", "--limit", "abc"),
     "kehoach outbox: giá trị của --limit không hợp lệ: phải là một số nguyên (xem kehoach outbox --help)"),
    (("run",), "kehoach run: thiếu tệp hoặc thư mục kế hoạch (xem kehoach run --help)"),
    (("confirm", PLAN, "quan-triet", "--by", "Nguyễn", "Văn", "A", "--evidence", "date=17/03/2022"),
     'kehoach confirm: thừa đối số: Văn A - giá trị có dấu cách phải đặt trong ngoặc kép: --by "Nguyễn Văn A" '
     "(xem kehoach confirm --help)"),
    (("confirm", PLAN, "quan-triet", "--by", "B", "--result", "Đã", "tổ", "chức"),
     'kehoach confirm: thừa đối số: tổ chức - giá trị có dấu cách phải đặt trong ngoặc kép: --result "Đã tổ chức" '
     "(xem kehoach confirm --help)"),
    (("status", PLAN, "thêm"), "kehoach status: thừa đối số: thêm (xem kehoach status --help)"),
    (("validate", SEED, SEED, "--strict"), "kehoach validate: không có tùy chọn --strict (xem kehoach validate --help)"),
])
def test_a_mistyped_command_is_one_vietnamese_line(capsys, args, said):
    code, out, err = run(capsys, *args)
    assert (code, out) == (2, "")
    assert err.strip() == said
    assert len(err.strip().splitlines()) == 1
    assert not {"Error:", "Usage:", "Missing", "Invalid", "Try"} & set(err.split())


def test_a_bare_command_group_still_shows_its_help(capsys):
    code, out, err = run(capsys)
    assert code in (0, 2) and "confirm" in out + err
