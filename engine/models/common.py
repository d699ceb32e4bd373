"""Base model and the small value types shared by every part of a plan file."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, StringConstraints, WithJsonSchema

from engine.dates import parse_date, parse_day_month

DATE_PATTERN = r"^(\d{1,2}/\d{1,2}/\d{4}|\d{4}-\d{1,2}-\d{1,2})$"


class Model(BaseModel):
    """Strict base: unknown keys are errors, values are not coerced between types."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True, populate_by_name=True)


def _plan_date(value: Any) -> date:
    return parse_date(value)


PlanDate = Annotated[
    date,
    BeforeValidator(_plan_date),
    WithJsonSchema(
        {"type": "string", "pattern": DATE_PATTERN, "examples": ["20/03/2022", "2022-03-20"]},
        mode="validation",
    ),
]
"""A date written dd/mm/yyyy (as officials write it) or ISO yyyy-mm-dd."""


def _day_month(value: str) -> str:
    parse_day_month(value)
    return value


DayMonth = Annotated[
    str,
    AfterValidator(_day_month),
    WithJsonSchema({"type": "string", "pattern": r"^\d{1,2}/\d{1,2}$", "examples": ["31/10"]}, mode="validation"),
]
"""A day of every year, dd/mm."""

ID_PATTERN = r"^[a-z0-9][a-z0-9-]*$"
StepId = Annotated[str, StringConstraints(pattern=ID_PATTERN, max_length=64)]
UnitId = Annotated[str, StringConstraints(pattern=ID_PATTERN, max_length=64)]
Tag = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$", max_length=64)]
Text = Annotated[str, StringConstraints(min_length=1, max_length=4000)]
ShortText = Annotated[str, StringConstraints(min_length=1, max_length=128)]
"""A number or symbol the state store keeps in a column of 128 characters (a plan's number)."""

NonWorkingDayPolicy = Literal["keep", "previous", "next"]


def described(description: str, **kwargs: Any) -> Any:
    """A Field with a (Vietnamese first) description, the hover text an editor shows."""
    return Field(description=description, **kwargs)
