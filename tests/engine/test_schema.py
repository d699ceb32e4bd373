"""The committed JSON Schemas match the models, carry the help editors show, and every plan file points its
editor at them; README's tables are that help."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
import yaml
from pydantic import TypeAdapter

from engine.language.models.steps import STEP_KINDS, Step
from engine.language.models.timing import FORMS, Timing
from engine.language.schema import SCHEMA_FILES, readme_tables, schema_dict, schema_text
from tests.conftest import PLANS, ROOT, VIETNAMESE
from tests.lsp import expand_snippet


class TestCommittedSchema:
    @pytest.mark.parametrize("kind", sorted(SCHEMA_FILES))
    def test_committed_schema_is_current(self, kind):
        committed = (PLANS / SCHEMA_FILES[kind]).read_text(encoding="utf-8")
        assert committed == schema_text(kind), (
            f"plan_definitions/{SCHEMA_FILES[kind]} is stale: run `kehoach schema --write plan_definitions`"
        )

    def test_every_plan_file_names_its_schema(self):
        files = sorted(PLANS.glob("*.yaml")) + sorted(PLANS.glob("agencies/*.yaml"))
        assert files
        for f in files:
            first = f.read_text(encoding="utf-8").splitlines()[0]
            expected = "plan.schema.json" if f.parent == PLANS else "../agency.schema.json"
            assert first == f"# yaml-language-server: $schema={expected}", f

    def test_descriptions_are_vietnamese(self):
        text = schema_text("plan")
        for phrase in ("Đơn vị chủ trì", "Hạn hoàn thành", "Nhắc trước hạn"):
            assert phrase in text


def _properties(schema: dict) -> list[tuple[str, str, dict]]:
    """Every (where, key, property schema) of a JSON Schema, nested ones included."""
    out, stack = [], [("", schema)]
    while stack:
        where, node = stack.pop()
        if isinstance(node, dict):
            properties = (node.get("properties") or {}).items()
            out += [(where, key, prop) for key, prop in properties if isinstance(prop, dict)]
            stack += [(f"{where}/{key}", value) for key, value in node.items()]
        elif isinstance(node, list):
            stack += [(where, value) for value in node]
    return out


def _filled(body: Any) -> Any:
    """A snippet body as the editor leaves it when every placeholder keeps its default, read as YAML."""
    if isinstance(body, dict):
        return {k: _filled(v) for k, v in body.items()}
    if isinstance(body, list):
        return [_filled(v) for v in body]
    return yaml.safe_load(expand_snippet(body)) if isinstance(body, str) else body


class TestEditorHelp:
    """What the YAML language server shows comes from the schema: these hold for every key, today's and
    tomorrow's."""

    @pytest.mark.parametrize("kind", sorted(SCHEMA_FILES))
    def test_every_key_has_vietnamese_help_and_an_example(self, kind):
        for where, key, prop in _properties(schema_dict(kind)):
            assert prop.get("title") == key, f"{where}.{key}: titled {prop.get('title')!r}, not with its key"
            first = prop.get("description", "").split("(")[0]
            assert VIETNAMESE.search(first), f"{where}.{key}: the description does not start in Vietnamese"
            shown = ("examples", "enum", "const", "markdownDescription")
            assert any(k in prop for k in shown), f"{where}.{key}: no example"

    @pytest.mark.parametrize("kind", sorted(SCHEMA_FILES))
    def test_no_null_no_class_names_no_raw_patterns(self, kind):
        text = schema_text(kind)
        assert '"null"' not in text and '"default": null' not in text
        schema = schema_dict(kind)
        models = {d for d in schema["$defs"]}
        stack = [schema]
        while stack:
            node = stack.pop()
            if isinstance(node, dict):
                title = node.get("title")
                assert not isinstance(title, str) or title not in models, title
                if "pattern" in node:
                    assert VIETNAMESE.search(node.get("patternErrorMessage", "")), node["pattern"]
                stack += list(node.values())
            elif isinstance(node, list):
                stack += node

    def test_skeletons_are_the_examples_and_the_examples_are_valid(self):
        forms = [*FORMS.values(), *STEP_KINDS.values()]
        for form in forms:
            body = form.snippet()["body"]
            assert _filled(body) == form.example, form.label
            numbers = re.findall(r"\$\{(\d+):", json.dumps(body))
            assert len(numbers) == len(set(numbers)), f"{form.label}: placeholders repeat"
        for form in FORMS.values():
            TypeAdapter(Timing).validate_python(form.example)
        for form in STEP_KINDS.values():
            TypeAdapter(Step).validate_python(form.example)


class TestReadme:
    def test_tables_are_the_help(self):
        readme = (ROOT / "README.md").read_text(encoding="utf-8")
        for table in readme_tables():
            assert table in readme, f"README.md's table is not the help in engine/language/models; it should be:\n{table}"
