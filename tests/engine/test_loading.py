"""Reading plan files safely: no object is ever built from a tag, bombs and huge or deep files are refused fast."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from engine.errors import PlanError
from engine.language.loading import DEFAULT_MAX_BYTES, MAX_NESTING, max_plan_bytes, nesting_bound, read_source
from engine.language.plan import PlanLoader

INVALID = Path(__file__).resolve().parent / "invalid"
VALID = (INVALID / "unknown-key.yaml").read_text(encoding="utf-8").replace("    particpants: [lanh-dao]\n", "")


def problems_of(path: Path) -> list[str]:
    """The problems reading `path` gives (an empty list when it reads cleanly)."""
    source, problems = read_source(path)
    assert (source is None) == bool(problems)
    return [f"{p.line}:{p.column}: {p.message}" for p in problems]


def write(tmp_path: Path, text: str, name: str = "plan.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


class TestBaseline:
    def test_the_plan_the_tests_mutate_is_valid(self, tmp_path):
        PlanLoader().load(write(tmp_path, VALID))


class TestTags:
    """yaml-rs would silently drop these tags; the loader refuses them before any parser builds anything."""

    PAYLOADS = {
        "apply-system": 'material: !!python/object/apply:os.system ["touch {marker}"]',
        "apply-open": 'material: !!python/object/apply:builtins.open ["{marker}", "w"]',
        "new-open": 'material: !!python/object/new:builtins.open ["{marker}", "w"]',
        "object-mapping": "material: !!python/object:pathlib.Path {{x: '{marker}'}}",
        "subprocess": 'material: !!python/object/apply:subprocess.call [["touch", "{marker}"]]',
        "flow-json-key": 'method: {{"a":!!python/object/apply:os.system ["touch {marker}"]}}',
    }

    def payload_plan(self, tmp_path: Path, payload: str) -> tuple[Path, Path]:
        marker = tmp_path / "pwned"
        line = f"    {payload.format(marker=marker)}\n"
        text = VALID.replace("    audience: [van-phong]\n", "    audience: [van-phong]\n" + line)
        return write(tmp_path, text), marker

    @pytest.mark.parametrize("name", sorted(PAYLOADS))
    def test_a_python_tag_is_refused_and_nothing_is_constructed(self, name, tmp_path):
        path, marker = self.payload_plan(tmp_path, self.PAYLOADS[name])
        with pytest.raises(PlanError, match=r"không được dùng thẻ YAML '!!python/[a-z/]+:[\w.]+'") as info:
            PlanLoader().load(path)
        assert info.value.problems[0].line == 16
        assert not marker.exists()

    def test_the_payloads_are_live(self, tmp_path):
        # The control experiment: an unsafe loader runs the payload, so the test above would see the marker.
        path, marker = self.payload_plan(tmp_path, self.PAYLOADS["apply-system"])
        yaml.unsafe_load(path.read_text(encoding="utf-8"))
        assert marker.exists()

    def test_the_command_leaves_no_trace_either(self, tmp_path):
        path, marker = self.payload_plan(tmp_path, self.PAYLOADS["apply-system"])
        done = subprocess.run([sys.executable, "-c", "from engine.cli.app import main; main()", "validate", str(path)],
                              capture_output=True, text=True, cwd=tmp_path, timeout=120)
        assert done.returncode == 1 and "không được dùng thẻ YAML '!!python/object/apply:os.system'" in done.stdout
        assert not marker.exists() and "Traceback" not in done.stderr

    @pytest.mark.parametrize("text, shown", [
        ("a: !deadline {due: 1}\n", "!deadline"),
        ("a: !!binary aGVsbG8=\n", "!!binary"),
        ("a: !!set {x, y}\n", "!!set"),
        ("a: !<tag:example.com,2024:x> 1\n", "tag:example.com,2024:x"),
        ("a: [1, !!timestamp 2022-01-01]\n", "!!timestamp"),
    ])
    def test_any_tag_beyond_plain_types_is_refused_where_it_is(self, text, shown, tmp_path):
        (problem,) = problems_of(write(tmp_path, text))
        assert problem.startswith("1:") and f"không được dùng thẻ YAML '{shown}'" in problem

    def test_tags_before_a_syntax_error_are_still_refused(self, tmp_path):
        marker = tmp_path / "pwned"
        text = f'a: !!python/object/apply:os.system ["touch {marker}"]\nb: [1, 2\n'
        (problem,) = problems_of(write(tmp_path, text))
        assert problem.startswith("1:4: không được dùng thẻ YAML '!!python/object/apply:os.system'")
        assert not marker.exists()

    def test_every_tag_is_reported(self, tmp_path):
        found = problems_of(write(tmp_path, "a: !x 1\nb:\n  - !y 2\n  - !z 3\n"))
        assert [p.split(": ")[0] for p in found] == ["1:4", "3:5", "4:5"]

    def test_plain_type_tags_and_exclamation_marks_in_text_are_fine(self, tmp_path):
        text = "a: !!str 12\nb: !!int '3'\nc: '!important'\nd: Chú ý! Hạn gấp !\ne: ! 5\n"
        assert problems_of(write(tmp_path, text)) == []


class TestAliasBomb:
    def test_billion_laughs_is_refused_at_the_first_alias_before_it_expands(self, monkeypatch):
        import engine.language.loading

        # The parser stops at its limit of replayed events (a count, not a clock): nothing is expanded or built.
        limits = []
        real = engine.language.loading.yaml_rs.AliasLimits
        monkeypatch.setattr(engine.language.loading.yaml_rs, "AliasLimits", lambda **kw: limits.append(kw) or real(**kw))
        found = problems_of(INVALID / "alias-bomb.yaml")
        assert limits == [{"max_total_replayed_events": engine.language.loading.MAX_ALIAS_EVENTS}]
        assert len(found) == 1 and found[0].startswith("2:8: bí danh YAML ('*tên') làm dữ liệu phình ra quá lớn")

    def test_a_few_aliases_are_fine(self, tmp_path):
        assert problems_of(write(tmp_path, "a: &a [1, 2]\nb: *a\nc: *a\n")) == []


class TestLargeFiles:
    """Locating a problem in a large file takes one pass of libyaml's C parser, never ruamel's pure-Python one
    (47 s for a duplicate key in a 4 MiB plan that is valid in 2 s)."""

    STEP = ("  - id: buoc-{i}\n    kind: disseminate\n    title: Bước {i} - Chú ý !\n    owner: van-phong\n"
            "    audience: [van-phong]\n    timing: {{due: 31/03/2023}}\n")

    @pytest.fixture(autouse=True)
    def no_round_trip(self, monkeypatch):
        import engine.language.loading

        class Refused:
            def __init__(self, *args, **kwargs):
                raise AssertionError("ruamel's pure-Python parser was used")

        monkeypatch.setattr(engine.language.loading, "YAML", Refused)

    def large(self, steps: int = 5000) -> str:
        return VALID + "".join(self.STEP.format(i=i) for i in range(steps))

    def test_a_duplicate_key_at_the_end_of_a_large_plan(self, tmp_path):
        text = self.large() + "    owner: lanh-dao\n"
        assert len(text) > 500_000
        lines = text.count("\n")
        (problem,) = problems_of(write(tmp_path, text))
        assert problem == (f"{lines}:5: lỗi YAML: khóa 'owner' bị ghi lặp (đã có ở dòng {lines - 3}) - mỗi khóa chỉ "
                           "được ghi một lần")

    def test_a_duplicate_key_in_a_nested_flow_mapping(self, tmp_path):
        text = "a:\n  - [1, {b: 1, c: [x, y], b: 2}]\n  - {b: 3}\n"
        assert problems_of(write(tmp_path, text)) == [
            "2:27: lỗi YAML: khóa 'b' bị ghi lặp (đã có ở dòng 2) - mỗi khóa chỉ được ghi một lần"]

    def test_a_tag_deep_in_a_large_plan_is_found_by_the_event_parser(self, tmp_path):
        text = self.large() + "    note: !!python/name:os.system ''\n"
        (problem,) = problems_of(write(tmp_path, text))
        assert problem.startswith(f"{text.count(chr(10))}:11: không được dùng thẻ YAML '!!python/name:os.system'")


class TestSizeLimit:
    def test_the_default_limit_is_4_mib(self, monkeypatch):
        monkeypatch.delenv("KEHOACH_MAX_PLAN_BYTES", raising=False)
        assert max_plan_bytes() == DEFAULT_MAX_BYTES == 4 * 1024 * 1024

    def test_a_file_over_4_mib_is_refused_without_parsing(self, tmp_path, monkeypatch):
        monkeypatch.delenv("KEHOACH_MAX_PLAN_BYTES", raising=False)
        line = "# " + "x" * 1021 + "\n"  # 1 KiB of comment
        path = write(tmp_path, VALID + line * 4096)
        import engine.language.loading

        def never(*_args, **_kwargs):
            raise AssertionError("the file was parsed")

        monkeypatch.setattr(engine.language.loading.yaml_rs, "loads", never)
        (problem,) = problems_of(path)
        assert problem == (f"1:1: tệp có {path.stat().st_size} byte, quá giới hạn 4194304 byte "
                           "(KEHOACH_MAX_PLAN_BYTES) - tách kế hoạch thành nhiều tệp hoặc nâng giới hạn")

    def test_the_limit_comes_from_the_environment(self, tmp_path, monkeypatch):
        path = write(tmp_path, VALID)
        size = path.stat().st_size
        monkeypatch.setenv("KEHOACH_MAX_PLAN_BYTES", str(size))
        assert problems_of(path) == []
        monkeypatch.setenv("KEHOACH_MAX_PLAN_BYTES", str(size - 1))
        with pytest.raises(PlanError, match=f"quá giới hạn {size - 1} byte"):
            PlanLoader().load(path)

    def test_an_unreadable_limit_falls_back_to_the_default(self, monkeypatch):
        monkeypatch.setenv("KEHOACH_MAX_PLAN_BYTES", "4MB")
        assert max_plan_bytes() == DEFAULT_MAX_BYTES


class TestEncoding:
    def test_a_legacy_encoding_is_located_in_characters(self, tmp_path):
        path = tmp_path / "plan.yaml"
        path.write_bytes("title: Kế hoạch ".encode() + "café".encode("latin-1"))
        (problem,) = problems_of(path)
        assert problem.startswith("1:20: tệp không được lưu bằng bảng mã UTF-8: không đọc được byte 0xe9")

    def test_a_byte_order_mark_is_accepted(self, tmp_path):
        path = tmp_path / "plan.yaml"
        path.write_bytes(b"\xef\xbb\xbf" + VALID.encode())
        PlanLoader().load(path)

    def test_control_characters_are_located(self, tmp_path):
        found = problems_of(write(tmp_path, "a: x\x00y\nb: \x1bz\n"))
        assert found == [
            "1:5: ký tự điều khiển U+0000 không được có trong tệp YAML (thường sót lại khi sao chép, dán) - xóa ký tự "
            "này",
            "2:4: ký tự điều khiển U+001B không được có trong tệp YAML (thường sót lại khi sao chép, dán) - xóa ký tự "
            "này",
        ]


class TestNesting:
    def test_the_bound_never_underestimates(self):
        text = "a:\n- - - x\n  - b:\n      c: [1]\n"
        assert nesting_bound(text) >= 5

    @pytest.mark.parametrize("levels", [MAX_NESTING + 1, 100_000, 1_000_000])
    def test_deep_nesting_is_refused_without_crashing_the_parser(self, levels, tmp_path):
        # yaml-rs overflows the C stack (the process dies) past about 10,000 levels of "- - - ...".
        (problem,) = problems_of(write(tmp_path, "a:\n" + "- " * levels + "x\n"))
        assert problem.startswith(f"2:{2 * MAX_NESTING - 1}: tệp lồng nhau quá {MAX_NESTING} cấp")

    def test_deep_flow_collections_are_a_located_syntax_error(self, tmp_path):
        (problem,) = problems_of(write(tmp_path, "a: " + "[" * 300 + "]" * 300 + "\n"))
        assert problem.startswith("1:") and "lồng nhau quá sâu" in problem

    def test_aliases_cannot_nest_deeper_than_the_text(self, tmp_path):
        text = "a: &a " + "[" * 40 + "1" + "]" * 40 + "\nb: " + "[" * 40 + "*a" + "]" * 40 + "\n"
        (problem,) = problems_of(write(tmp_path, text))
        assert f"lồng nhau quá {MAX_NESTING} cấp" in problem


class TestDocuments:
    def test_several_documents_point_at_the_second(self, tmp_path):
        (problem,) = problems_of(write(tmp_path, "a: 1\n---\nb: 2\n---\nc: 3\n"))
        assert problem.startswith("2:1: tệp có 3 tài liệu YAML")

    def test_a_leading_document_marker_is_one_document(self, tmp_path):
        assert problems_of(write(tmp_path, "---\na: 1\n")) == []


class TestSyntaxPositions:
    def test_a_tab_is_pointed_at_itself(self, tmp_path):
        (problem,) = problems_of(write(tmp_path, "a:\n  b: 1\n\t c: 2\n"))
        assert problem == "3:1: lỗi cú pháp YAML: thụt lề bằng ký tự tab - thụt lề bằng dấu cách, không dùng tab"

    def test_a_tab_inside_a_value_keeps_positions_for_later_problems(self, tmp_path):
        text = VALID.replace("title: Quán triệt kế hoạch", "title: Quán\ttriệt kế hoạch") + "    extra: 1\n"
        with pytest.raises(PlanError) as info:
            PlanLoader().load(write(tmp_path, text))
        (problem,) = info.value.problems
        assert (problem.line, problem.column, problem.path) == (17, 5, "steps.quan-triet.extra")

    def test_a_duplicate_key_names_both_lines(self, tmp_path):
        (problem,) = problems_of(write(tmp_path, "a: 1\nb: 2\na: 3\n"))
        assert problem == "3:1: lỗi YAML: khóa 'a' bị ghi lặp (đã có ở dòng 1) - mỗi khóa chỉ được ghi một lần"

    def test_an_unreadable_file_is_a_problem_not_a_crash(self, tmp_path):
        (problem,) = problems_of(tmp_path)  # a folder: open() fails as it would on a file without permission
        assert problem == "1:1: không đọc được tệp: đây là thư mục, không phải tệp"
