"""Help for plan authors written once, Vietnamese first with an English gloss: the ways of writing a step or
its timing, each with a real example, rendered as editor skeletons, as hover text and as README's tables."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

_PLAIN = re.compile(r"^[^\s:{}\[\],&*#?|<>=!%@`'\"-][^:{}\[\],#]*$")


def flow_yaml(value: Any) -> str:
    """A value as one line of YAML, as a plan writes it: `quarterly: {month: 3, day: 15}`."""
    if isinstance(value, dict):
        return "{" + top_flow_yaml(value) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(flow_yaml(v) for v in value) + "]"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str) and not _PLAIN.match(value):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return str(value)


def top_flow_yaml(mapping: dict[str, Any]) -> str:
    """The keys of a mapping on one line without braces: `start: 01/04/2022, due: 30/06/2022`."""
    return ", ".join(f"{k}: {flow_yaml(v)}" for k, v in mapping.items())


@dataclass(frozen=True)
class Form:
    """One way of writing something (a timing form, a step kind): its name, what it means, a real example."""

    name: str  # Vietnamese: "hằng tháng"
    gloss: str  # English: "monthly"
    meaning: str  # Vietnamese, one or two sentences
    example: dict[str, Any]  # a real value, as a plan writes it
    fixed: tuple[str, ...] = ()  # keys whose example value is not a placeholder (`kind`)
    note: str = ""  # README's last column (English), e.g. the occurrences a timing form makes

    @property
    def label(self) -> str:
        return f"{self.name} ({self.gloss})"

    @property
    def example_yaml(self) -> str:
        return top_flow_yaml(self.example)

    def line(self) -> str:
        """A Markdown list item: name, gloss, example and meaning."""
        return f"- **{self.name}** ({self.gloss}): `{self.example_yaml}` - {self.meaning}"

    def snippet(self) -> dict[str, Any]:
        """A `defaultSnippets` entry: the example with each value a numbered placeholder, in order."""
        counter = iter(range(1, 1000))

        def fill(value: Any, key: str | None) -> Any:
            if isinstance(value, dict):
                return {k: fill(v, k) for k, v in value.items()}
            if isinstance(value, list):
                return [fill(v, None) for v in value]
            if key in self.fixed:
                return value
            text = re.sub(r"[$}\\]", lambda m: "\\" + m.group(0), flow_yaml(value))
            return f"${{{next(counter)}:{text}}}"

        return {"label": self.label, "markdownDescription": f"{self.meaning}\n\n`{self.example_yaml}`",
                "body": fill(self.example, None)}


def enum_help(values: tuple[str, ...], meanings: dict[str, str]) -> dict[str, Any]:
    """`enumDescriptions` for a choice, in the order of its values (shown on hover and completion).

    Raises:
        ValueError: when `meanings` does not name exactly the accepted values.
    """
    if set(meanings) != set(values):
        raise ValueError(f"help for {sorted(meanings)} does not match the values {sorted(values)}")
    return {"enumDescriptions": [meanings[v] for v in values]}
