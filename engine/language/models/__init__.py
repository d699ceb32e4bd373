"""Pydantic models of the plan language: plan files, agency files, steps and timing."""

from engine.language.models.plan import AgencyFile, PlanFile
from engine.language.models.steps import KINDS, Coordinate, Disseminate, Report, Review, Step
from engine.language.models.timing import Timing

__all__ = ["AgencyFile", "PlanFile", "Step", "Disseminate", "Coordinate", "Review", "Report", "KINDS", "Timing"]
