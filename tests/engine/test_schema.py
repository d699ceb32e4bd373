"""The committed JSON Schemas match the models, and every plan file points its editor at them."""

from __future__ import annotations

import pytest

from engine.schema import SCHEMA_FILES, schema_text
from tests.conftest import PLANS


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
