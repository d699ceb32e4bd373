"""The committed schemas in the real YAML language server, driven over LSP as an editor drives it
(tests/lsp.py).

One server for the module; every document is opened under plan_definitions/ (never written there), so the
modeline finds the committed schemas as it does for an author.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel, TypeAdapter
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq

import engine.language.models
from engine.language.loading import read_source
from engine.language.models.common import Model, UnitId, described
from engine.language.models.steps import Step
from engine.language.models.timing import Timing, Within
from engine.language.schema import editor_schema
from tests.conftest import PLANS, ROOT, SEED, VIETNAMESE
from tests.lsp import LanguageServer, NodeMissing, ServerUnavailable, apply_completion, server_command

PROPERTY = 10  # LSP CompletionItemKind
FILES = sorted(PLANS.glob("*.yaml")) + sorted(PLANS.glob("agencies/*.yaml"))
CLASS_NAMES = sorted({
    cls.__name__ for module in vars(engine.language.models).values() if hasattr(module, "__dict__")
    for cls in vars(module).values()
    if isinstance(cls, type) and issubclass(cls, BaseModel) and cls is not BaseModel
})


@pytest.fixture(scope="module")
def server():
    try:
        command = server_command()
    except NodeMissing as exc:
        pytest.skip(str(exc))
    except ServerUnavailable as exc:
        pytest.fail(str(exc), pytrace=False)
    ls = LanguageServer(command, ROOT)
    yield ls
    ls.close()


_names = iter(range(1_000_000))


def _open(server: LanguageServer, text: str, folder: Path = PLANS) -> str:
    """Open `text` as a new document beside the shipped plans and wait for its first diagnostics."""
    uri = server.open(folder / f"_editor-test-{next(_names)}.yaml", text)
    server.diagnostics(uri)
    return uri


def _keys(node: Any, path: tuple[str, ...] = ()) -> dict[tuple[str, ...], tuple[int, int]]:
    """The first place (0-based line, column) of each key path in a round-trip tree (list items share one)."""
    out: dict[tuple[str, ...], tuple[int, int]] = {}
    if isinstance(node, CommentedMap):
        for key, value in node.items():
            out.setdefault((*path, str(key)), node.lc.key(key))
            out = {**_keys(value, (*path, str(key))), **out}
    elif isinstance(node, CommentedSeq):
        for item in node:
            out = {**_keys(item, (*path, "*")), **out}
    return out


def _help(hover: str) -> str:
    """The hover without its heading: the help a user reads first."""
    return "\n".join(line for line in hover.splitlines() if not line.startswith("#### ")).strip()


def _step_text(step_id: str) -> tuple[str, int, int]:
    """The seed plan, and the first line and indent of the body of step `step_id`."""
    text = SEED.read_text(encoding="utf-8")
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.strip() == f"- id: {step_id}")
    return text, start, lines[start].index("-") + 2


def _parses(tmp_path: Path, text: str) -> dict[str, Any]:
    path = tmp_path / "edited.yaml"
    path.write_text(text, encoding="utf-8")
    source, problems = read_source(path)
    assert not problems, f"{problems[0]}\n--- edited text ---\n{text}"
    return source.data


def _insert_line(text: str, line: int, content: str) -> str:
    lines = text.splitlines(keepends=True)
    return "".join([*lines[:line], content + "\n", *lines[line:]])


class TestShippedFiles:
    @pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
    def test_no_diagnostics(self, server, path):
        uri = server.open(path, path.read_text(encoding="utf-8"))
        assert server.diagnostics(uri) == []

    @pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
    def test_every_key_has_vietnamese_help(self, server, path):
        text = path.read_text(encoding="utf-8")
        uri = _open(server, text, path.parent)
        keys = _keys(YAML(typ="rt").load(text))
        assert len(keys) > 20
        for key_path, (line, col) in keys.items():
            hover = server.hover(uri, line, col + 1)
            where = f"{path.name}:{line + 1}:{col + 1} {'.'.join(key_path)}"
            first = _help(hover).split("(")[0]
            assert VIETNAMESE.search(first), f"{where}: no Vietnamese help first:\n{hover}"
            assert " || " not in hover, f"{where}: doubled heading:\n{hover}"
            named = [name for name in CLASS_NAMES if re.search(rf"\b{name}\b", hover)]
            assert not named, f"{where}: class names {named} in the hover:\n{hover}"


class TestHover:
    def test_timing_lists_the_forms_in_vietnamese(self, server):
        text, start, indent = _step_text("quan-triet")
        uri = _open(server, text)
        line = next(i for i, x in enumerate(text.splitlines()) if i > start and x.strip() == "timing:")
        hover = server.hover(uri, line, indent + 1)
        assert hover.startswith("#### timing\n")
        for phrase in ("hạn hoàn thành", "khoảng thời gian", "mốc trong năm", "hằng tháng", "hằng quý",
                       "thường xuyên", "khi có yêu cầu", "sau một bước", "`monthly: 25`", "`yearly: 31/10`"):
            assert phrase in hover


def _header_text() -> tuple[str, int]:
    """The seed plan with an empty line in its `plan:` header, and that line."""
    text = SEED.read_text(encoding="utf-8")
    line = text.splitlines().index("plan:") + 1
    return _insert_line(text, line, "  "), line


class TestCompletion:
    def _complete(self, server, text: str, line: int, col: int, folder: Path = PLANS) -> list[dict[str, Any]]:
        uri = _open(server, text, folder)
        items = server.completion(uri, line, col)
        assert items, "no completion"
        return items

    PLACES = {  # (text, line, column, folder, the mapping a completed key lands in)
        "a new plan file": ("# yaml-language-server: $schema=plan.schema.json\n\n", 1, 0, PLANS, lambda d: d),
        "a new agency file": ("# yaml-language-server: $schema=../agency.schema.json\n\n", 1, 0,
                              PLANS / "agencies", lambda d: d),
        "the plan header": (*_header_text(), 2, PLANS, lambda d: d["plan"]),
    }

    @pytest.mark.parametrize("place", PLACES)
    def test_every_item_leaves_a_file_that_parses(self, server, tmp_path, place):
        text, line, col, folder, mapping = self.PLACES[place]
        for item in self._complete(server, text, line, col, folder):
            data = _parses(tmp_path, apply_completion(text, item, line, col))
            if item["kind"] == PROPERTY:
                assert item["label"] in mapping(data), item  # the key, with its colon
            assert "null" not in (item.get("insertText") or item["textEdit"]["newText"]), item

    def test_new_key_in_a_step(self, server, tmp_path):
        text, start, indent = _step_text("dang-website")
        text = _insert_line(text, start + 1, " " * indent)
        items = self._complete(server, text, start + 1, indent)
        labels = {item["label"] for item in items}
        assert {"description", "participants", "reminders", "escalation", "on_non_working_day"} <= labels
        for item in items:
            data = _parses(tmp_path, apply_completion(text, item, start + 1, indent))
            step = next(s for s in data["steps"] if s.get("id") == "dang-website")
            if item["kind"] == PROPERTY:
                assert item["label"] in step, item  # the key, with its colon
            assert "null" not in (item.get("insertText") or item["textEdit"]["newText"]), item

    def test_the_timing_key_opens_a_mapping(self, server, tmp_path):
        text, start, indent = _step_text("dang-website")
        lines = text.splitlines(keepends=True)
        timing = next(i for i in range(start, len(lines)) if lines[i].strip() == "timing:")
        text = "".join([*lines[:timing], " " * indent + "tim\n", *lines[timing + 2:]])
        items = self._complete(server, text, timing, indent + 3)
        item = next(i for i in items if i["label"] == "timing")
        edited = apply_completion(text, item, timing, indent + 3)
        assert edited.splitlines()[timing].rstrip() == " " * indent + "timing:"
        assert edited.splitlines()[timing + 1] == " " * (indent + 2)
        step = next(s for s in _parses(tmp_path, edited)["steps"] if s["id"] == "dang-website")
        assert "timing" in step

    def test_under_timing_every_item_parses_and_each_form_is_a_real_timing(self, server, tmp_path):
        text, start, indent = _step_text("dang-website")
        lines = text.splitlines(keepends=True)
        timing = next(i for i in range(start, len(lines)) if lines[i].strip() == "timing:")
        col = indent + 2
        text = "".join([*lines[: timing + 1], " " * col + "\n", *lines[timing + 2:]])
        items = self._complete(server, text, timing + 1, col)
        forms = [i for i in items if "(" in i["label"]]
        assert len(forms) == 11, [i["label"] for i in items]
        for item in items:
            data = _parses(tmp_path, apply_completion(text, item, timing + 1, col))
            value = next(s for s in data["steps"] if s["id"] == "dang-website")["timing"]
            if item in forms:
                TypeAdapter(Timing).validate_python(value)
            else:
                assert item["label"] in value, item

    def test_a_new_step_from_each_skeleton(self, server, tmp_path):
        text = SEED.read_text(encoding="utf-8").rstrip("\n") + "\n\n  - \n"
        line = text.count("\n") - 1
        items = self._complete(server, text, line, 4)
        skeletons = [i for i in items if i["label"].endswith(("(disseminate)", "(coordinate)", "(review)",
                                                               "(report)"))]
        assert len(skeletons) == 4, [i["label"] for i in items]
        for item in skeletons:
            snippet = item.get("insertText") or item["textEdit"]["newText"]
            numbers = re.findall(r"\$\{(\d+):", snippet)
            assert len(numbers) == len(set(numbers)) >= 5, f"placeholders repeat: {snippet}"
            step = _parses(tmp_path, apply_completion(text, item, line, 4))["steps"][-1]
            TypeAdapter(Step).validate_python(step)
        for item in items:
            _parses(tmp_path, apply_completion(text, item, line, 4))


class TestWhileTyping:
    """A mistake typed into a valid plan gets a diagnostic with a Vietnamese message, never a raw pattern."""

    CASES = {
        "impossible date": ("before: 20/03/2022", "before: 31/02/2023"),
        "impossible ISO date": ("before: 20/03/2022", "before: 2022-06-31"),
        "no such day or month": ("before: 20/03/2022", "before: 45/13/2022"),
        "a date with dots": ("before: 20/03/2022", "before: 30.06.2022"),
        "due with before": ("start: 16/03/2022\n      before", "due: 18/03/2022\n      before"),
        "a window with only start": ("before: 20/03/2022   #", "#"),
        "empty timing": ("timing:\n      start: 16/03/2022\n      before: 20/03/2022   # \"thời gian thực hiện "
                         "xong trước ngày 20/3/2022\": hạn cuối 19/3/2022\n", "timing: {}\n"),
        "days with working days": ("working_days: 10}", "working_days: 10, days: 3}"),
        "a missing required key": ("    owner: van-phong\n    participants: [cac-phong-don-vi]\n    audience",
                                   "    participants: [cac-phong-don-vi]\n    audience"),
        "a unit id that is not an id": ("  cong-thong-tin-tinh:", "  Cong Thong Tin:"),
        "29/02 every year": ('yearly: {before: "01/11"}', 'yearly: {before: "29/02"}'),
    }

    @pytest.fixture(scope="class")
    def flagged(self, server) -> dict[str, list[dict[str, Any]]]:
        """Each case typed into its own copy of the seed plan, all at once: {case: its diagnostics}."""
        seed = SEED.read_text(encoding="utf-8")
        uris = {case: server.open(PLANS / f"_typing-{i}.yaml", seed) for i, case in enumerate(self.CASES)}
        assert all(server.diagnostics(uri) == [] for uri in uris.values())
        for case, (old, new) in self.CASES.items():
            assert old in seed, case
            server.change(uris[case], seed.replace(old, new, 1))
        return {case: server.diagnostics(uri) for case, uri in uris.items()}

    @pytest.mark.parametrize("case", CASES)
    def test_flagged_in_vietnamese(self, flagged, case):
        assert flagged[case], f"{case}: not flagged"
        for d in flagged[case]:
            assert VIETNAMESE.search(d["message"]) and "^(" not in d["message"], d["message"]


class TestBrokenCorpus:
    """The broken plans of tests/engine/invalid whose rule a schema can express are flagged in the editor."""

    EXPRESSIBLE = ["after-days-and-working-days", "bad-id-pattern", "bad-unit-id", "date-not-a-date",
                   "duplicate-dependency", "duplicate-key", "impossible-date", "key-not-text", "missing-kind",
                   "missing-required-field", "misspelled-timing-key", "no-steps",
                   "quarterly-month-out-of-range", "reminder-negative-days", "several-timing-forms",
                   "syntax-error", "tab-indentation", "unknown-evidence-kind", "unknown-key", "unknown-kind",
                   "unknown-non-working-day", "unknown-top-level-key", "unsupported-version", "wrong-type",
                   "yearly-29-february"]

    def test_flagged(self, server):
        folder = ROOT / "tests" / "engine" / "invalid"
        modeline = "# yaml-language-server: $schema=../../../plan_definitions/plan.schema.json\n"
        uris = {name: server.open(folder / f"_editor-{name}.yaml",
                                  modeline + (folder / f"{name}.yaml").read_text(encoding="utf-8"))
                for name in self.EXPRESSIBLE}
        missed = [name for name, uri in uris.items() if not server.diagnostics(uri)]
        assert not missed, f"not flagged in the editor: {missed}"


class Owned(Model):
    """Shapes the language may gain (several owners, groups): the same editor support comes with them."""

    owner: UnitId | list[UnitId] = described("Đơn vị chủ trì: một mã hoặc danh sách mã (owner).",
                                             examples=["van-phong"])
    group: Within | None = described("Nhóm thử (a model or nothing).", default=None, examples=[{"days": 3}])
    timing: Timing = described("Thời gian (a union of models).",
                               json_schema_extra={"markdownDescription": "Thời gian"})


class Shapes(Model):
    items: list[Owned] = described("Các mục (items).", examples=[[]])


class TestShapesToCome:
    def test_unions_and_optional_models(self, server, tmp_path):
        schema = json.dumps(editor_schema(Shapes, "Thử"))
        (tmp_path / "shapes.schema.json").write_text(schema, encoding="utf-8")
        text = ("# yaml-language-server: $schema=shapes.schema.json\nitems:\n  - owner: van-phong\n"
                "    group: {days: 3}\n    timing: {monthly: 5}\n"
                "  - owner: [a, b]\n    timing: {due: 30/06/2022}\n")
        uri = server.open(tmp_path / "shapes.yaml", text)
        assert server.diagnostics(uri) == []
        text += "  - owner: c\n    \n"
        server.change(uri, text)
        server.diagnostics(uri)
        for line, col in ((2, 5), (3, 5), (4, 5), (5, 5), (6, 5)):
            hover = server.hover(uri, line, col)
            assert VIETNAMESE.search(_help(hover).split("(")[0]) and " || " not in hover, hover
        items = {i["label"]: i for i in server.completion(uri, 8, 4)}
        assert items["group"]["insertText"].startswith("group:\n")
        assert items["timing"]["insertText"].startswith("timing:\n")
