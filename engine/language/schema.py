"""JSON Schemas generated from the models, for editors (yaml-language-server) and the committed copies; and
README's tables of the plan language, from the same help.

The schema is pydantic's, shaped for what the YAML language server does with it (its source:
redhat-developer/yaml-language-server, `yamlHover`, `yamlCompletion`, `baseValidator`):
- an optional key is left out rather than written `null`, so it has no `null` branch and no `null` default
  (the server would complete `key: null`, and its hover would join both branches' headings, "Due || Due");
- a default is kept only when it is a real scalar value (the completion inserts it);
- every property is titled with its key (else the hover inherits the nearest title above it - a class name),
  and models carry no class-name title or English docstring, only the Vietnamese help they are given;
- a key whose value is one of several models is `"type": "object"` (the server then completes `key:` and an
  indented line, not a bare `key`), and its own help goes into `allOf` as well: the server shows the first
  title and description it meets, and it meets a matched alternative before the key's own schema;
- a key whose value is one of several types (a unit or a list of units) lists them in `type`, with `oneOf`
  alternatives (`anyOf` branches that all "match" get their headings joined in the hover, "owner || owner");
- the required keys of a model are listed one by one under `allOf`, each with its Vietnamese message (the
  server would say "Missing property"); the server then builds no skeleton of its own from them - models that
  want one give it as `defaultSnippets`, with real example values and distinct placeholders;
- a mapping whose keys are ids flags a key that is not one (pydantic puts the pattern in `patternProperties`
  only, which lets any other key through).
"""

from __future__ import annotations

import inspect
import json
from pathlib import Path
from typing import Any, get_args

from pydantic import BaseModel
from pydantic.json_schema import GenerateJsonSchema, JsonSchemaValue
from pydantic_core import core_schema

from engine.language.models import AgencyFile, PlanFile
from engine.language.models.steps import STEP_KINDS, Step, StepBase
from engine.language.models.timing import FORMS

SCHEMA_FILES = {"plan": "plan.schema.json", "agency": "agency.schema.json"}
HELP_KEYS = ("title", "description", "markdownDescription")


class EditorSchema(GenerateJsonSchema):
    """pydantic's JSON Schema generator, with the changes listed in the module docstring."""

    def sort(self, value: JsonSchemaValue, parent_key: str | None = None) -> JsonSchemaValue:
        return value  # the models' order: skeletons and examples list their keys as a plan writes them

    def nullable_schema(self, schema: core_schema.NullableSchema) -> JsonSchemaValue:
        return self.generate_inner(schema["schema"])

    def default_schema(self, schema: core_schema.WithDefaultSchema) -> JsonSchemaValue:
        json_schema = super().default_schema(schema)
        default = json_schema.get("default")
        real = isinstance(default, (bool, int)) or (isinstance(default, str) and default)
        if not real or "const" in json_schema:  # a second proposal would make the server insert `key: ` bare
            json_schema.pop("default", None)
        return json_schema

    def field_title_should_be_set(self, schema: Any) -> bool:
        return False

    def model_schema(self, schema: core_schema.ModelSchema) -> JsonSchemaValue:
        json_schema = super().model_schema(schema)
        cls = schema["cls"]
        if json_schema.get("title") == cls.__name__:
            del json_schema["title"]
        if cls.__doc__ and json_schema.get("description") == inspect.cleandoc(cls.__doc__):
            del json_schema["description"]
        required = json_schema.pop("required", [])
        if required:
            json_schema["allOf"] = [{"required": [key], "errorMessage": _missing(key)} for key in required]
        return json_schema


def _missing(key: str) -> str:
    return f"Thiếu khóa bắt buộc '{key}' (required key '{key}' is missing)"


def _shape_properties(schema: dict[str, Any]) -> None:
    """Title every property with its key; give a key holding one of several models or types its type and its
    help first; make id-keyed mappings check their keys."""
    defs = schema.get("$defs", {})

    def resolve(node: dict[str, Any]) -> dict[str, Any]:
        ref = node.get("$ref", "")
        return defs.get(ref.rsplit("/", 1)[-1], node) if ref.startswith("#/$defs/") else node

    stack: list[Any] = [schema]
    while stack:
        node = stack.pop()
        if isinstance(node, list):
            stack.extend(node)
            continue
        if not isinstance(node, dict):
            continue
        for key, prop in (node.get("properties") or {}).items():
            if not isinstance(prop, dict):  # `false`: a key a rule forbids
                continue
            prop.setdefault("title", key)
            alternatives = [resolve(a) for a in prop.get("oneOf", prop.get("anyOf", []))]
            types = [a.get("type") for a in alternatives]
            if alternatives and all(t == "object" for t in types):
                prop["type"] = "object"
            elif alternatives and None not in types and len(set(map(str, types))) == len(types):
                prop["type"] = types  # the server completes `key: ` rather than a bare key
                prop["oneOf"] = prop.pop("anyOf", prop.get("oneOf"))  # disjoint types: oneOf means anyOf
            if any(k in a for a in alternatives for k in HELP_KEYS):
                prop["allOf"] = [{k: prop[k] for k in HELP_KEYS if k in prop}]
        patterns = list(node.get("patternProperties") or ())
        if len(patterns) == 1 and isinstance(node.get("propertyNames"), dict):
            node["propertyNames"].setdefault("pattern", patterns[0])
        stack.extend(node.values())


def editor_schema(model: type[BaseModel], title: str) -> dict[str, Any]:
    """The JSON Schema of `model` as the YAML language server should get it (see the module docstring)."""
    schema = model.model_json_schema(by_alias=True, schema_generator=EditorSchema)
    _shape_properties(schema)
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", "title": title, **schema}


def schema_dict(kind: str = "plan") -> dict[str, Any]:
    """The JSON Schema of a plan file ('plan') or an agency file ('agency')."""
    if kind == "plan":
        return editor_schema(PlanFile, "Kế hoạch (Kehoach plan file)")
    return editor_schema(AgencyFile, "Tệp cơ quan (Kehoach agency file)")


def schema_text(kind: str = "plan") -> str:
    """The JSON Schema of a plan file ('plan') or an agency file ('agency'), as stable text."""
    return json.dumps(schema_dict(kind), ensure_ascii=False, indent=2) + "\n"


def write_schemas(folder: Path) -> list[Path]:
    """Write both schemas into `folder` (the plan_definitions folder)."""
    out = []
    for kind, name in SCHEMA_FILES.items():
        target = folder / name
        target.write_text(schema_text(kind), encoding="utf-8")
        out.append(target)
    return out


def _table(header: tuple[str, ...], rows: list[tuple[str, ...]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    return "\n".join(lines + ["| " + " | ".join(cells) + " |" for cells in rows])


def readme_tables() -> list[str]:
    """README's tables of step kinds and timing forms (Markdown), from the help the editor shows."""
    common = set(StepBase.model_fields) | {"kind"}
    models = get_args(get_args(Step)[0])  # Step is Annotated[Disseminate | Coordinate | ..., discriminator]
    own = {get_args(m.model_fields["kind"].annotation)[0]: [f for f in m.model_fields if f not in common]
           for m in models}
    return [
        _table(("kind", "meaning", "kind-specific fields"), [
            (f"`{kind}`", f"{form.name}: {form.meaning}", ", ".join(f"`{f}`" for f in own[kind]))
            for kind, form in STEP_KINDS.items()]),
        _table(("form", "example", "meaning", "occurrences"), [
            (form.label, f"`{form.example_yaml}`", form.meaning, form.note) for form in FORMS.values()]),
    ]
