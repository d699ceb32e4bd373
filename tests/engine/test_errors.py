"""Located problems print as `file:line:column: path: message`, and never carry a secret into a log."""

from __future__ import annotations

import pytest

from engine.errors import PlanError, Problem, accepted, did_you_mean, redact


class TestProblem:
    def test_prints_file_line_column_path_message(self):
        assert str(Problem("kh.yaml", 41, 17, "steps.so-ket.depends_on[0]", "unknown step 'x'")) == (
            "kh.yaml:41:17: steps.so-ket.depends_on[0]: unknown step 'x'"
        )

    def test_a_problem_of_the_whole_file_has_no_path(self):
        assert str(Problem("kh.yaml", 1, 1, "", "file is empty")) == "kh.yaml:1:1: file is empty"


class TestPlanError:
    def test_problems_come_sorted_by_file_and_position_without_duplicates(self):
        b = Problem("b.yaml", 1, 1, "", "x")
        a2 = Problem("a.yaml", 10, 2, "", "y")
        a1 = Problem("a.yaml", 2, 30, "", "z")
        error = PlanError([b, a2, a1, b])
        assert error.problems == [a1, a2, b]
        assert str(error).splitlines() == ["a.yaml:2:30: z", "a.yaml:10:2: y", "b.yaml:1:1: x"]

    def test_a_password_quoted_by_any_message_is_masked(self):
        problem = Problem("kh.yaml", 3, 5, "units.vp.notify[0]",
                          "'mailto://vp:MatKhau1@mail.vn' is not a valid tag")
        with pytest.raises(PlanError, match=r"'mailto://vp:\*\*\*@mail\.vn' is not a valid tag") as info:
            raise PlanError([problem])
        assert "MatKhau1" not in str(info.value)


class TestRedact:
    @pytest.mark.parametrize("text, masked", [
        ("https://u:pw@host/x", "https://u:***@host/x"),
        ("smtp://:pw@host", "smtp://:***@host"),
        ("a https://u:p@ss@host b", "a https://u:***@host b"),
        ("https://host/x?token=t0k&a=1", "https://host/x?token=***&a=1"),
        ("'https://host/?Password=pw'", "'https://host/?Password=***'"),
        ("https://u@host/x, vp@example.vn", "https://u@host/x, vp@example.vn"),
        ("postgresql://kehoach:S3cret/Pass@127.0.0.1:1/x", "postgresql://kehoach:***@127.0.0.1:1/x"),
        ("mailto://u:pw@host?to=a@b.vn", "mailto://u:***@host?to=a@b.vn"),
        ("tgram://123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw/-100123", "tgram://123456789:***/-100123"),
        ("slack://T1JJ3T3L2/A1BRTD4JD/TIiajkdnlazkcOXrIdevi7FQ/#ch", "slack://T1JJ3T3L2/A1BRTD4JD/***/#ch"),
        ("slack://xoxb-1234-1234-abc124/#ch", "slack://xoxb-***/#ch"),
        ("json://h/p?+X-Token=abc123&+Accept=json", "json://h/p?+X-Token=***&+Accept=json"),
        ("json://h/?+Authorization=Bearer%20abcdefgh123", "json://h/?+Authorization=***"),
        ("Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.abc", "Authorization: Bearer ***"),
    ])
    def test_masks_only_the_secret(self, text, masked):
        assert redact(text) == masked


class TestSuggestions:
    def test_a_close_match_is_offered(self):
        assert did_you_mean("quan-tiet", ["quan-triet", "so-ket"]) == " - ý bạn là 'quan-triet'?"

    def test_nothing_close_gives_nothing(self):
        assert did_you_mean("bao-cao", ["quan-triet", "so-ket"]) == ""

    def test_long_lists_are_shortened(self):
        assert accepted([f"u{i:02d}" for i in range(15)], limit=3) == "'u00', 'u01', 'u02', ... (tổng 15)"
