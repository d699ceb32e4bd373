"""JSON Schemas generated from the models, for editors (yaml-language-server) and for the committed copies."""

from __future__ import annotations

import json
from pathlib import Path

from engine.models import AgencyFile, PlanFile

SCHEMA_FILES = {"plan": "plan.schema.json", "agency": "agency.schema.json"}


def schema_text(kind: str = "plan") -> str:
    """The JSON Schema of a plan file ('plan') or an agency file ('agency'), as stable text."""
    model = PlanFile if kind == "plan" else AgencyFile
    schema = model.model_json_schema(by_alias=True)
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "Kế hoạch (Kehoach plan file)" if kind == "plan" else "Tệp cơ quan (Kehoach agency file)"
    return json.dumps(schema, ensure_ascii=False, indent=2, sort_keys=True) + "\n"


def write_schemas(folder: Path) -> list[Path]:
    """Write both schemas into `folder` (the plan_definitions folder)."""
    out = []
    for kind, name in SCHEMA_FILES.items():
        target = folder / name
        target.write_text(schema_text(kind), encoding="utf-8")
        out.append(target)
    return out
