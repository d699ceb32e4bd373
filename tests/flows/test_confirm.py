"""The confirmation flow (the Prefect UI's confirmation form), run in-process against the session's server."""

from __future__ import annotations

import re
from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from engine.errors import StateError
from engine.people import EVIDENCE_KINDS
from engine.state.db import open_store, session_factory
from engine.state.models import ConfirmationRecord, EventRecord, OutboxRecord
from engine.tick import tick
from flows.confirm import Evidence, confirm_flow, find_plan
from tests.conftest import PLANS, SEED

PLAN_ID = "kh-28-khcn-2022"


@pytest.fixture
def opened(seed_plan, store):
    """The seed plan ticked to 16/03/2022: 'quan-triet' (needs date and attendees) is open."""
    sessions = session_factory(open_store(store))
    tick(seed_plan, sessions, datetime(2022, 3, 16, 7, 30, tzinfo=ZoneInfo("Asia/Ho_Chi_Minh")))
    return sessions


def counts(sessions) -> tuple[int, int, int]:
    with sessions() as session:
        return tuple(session.scalar(select(func.count()).select_from(m))
                     for m in (ConfirmationRecord, EventRecord, OutboxRecord))


class TestEvidenceForm:
    def test_has_a_field_for_every_kind_of_evidence(self):
        assert set(Evidence.model_fields) == set(EVIDENCE_KINDS)
        assert Evidence.model_fields["attendees"].title == "Số người tham dự"

    def test_records_values_as_the_cli_does(self):
        ev = Evidence(date=date(2022, 3, 18), attendees=45, link=" ", document_number="12/BC-KHCN")
        assert ev.as_strings() == {"date": "18/03/2022", "attendees": "45", "document_number": "12/BC-KHCN"}

    def test_plan_by_id_or_path(self):
        assert find_plan(PLAN_ID, str(PLANS)) == PLANS / f"{PLAN_ID}.yaml"
        assert find_plan(str(SEED)) == SEED
        with pytest.raises(StateError, match="no plan 'kh-28-khcn-202' in .* did you mean 'kh-28-khcn-2022'"):
            find_plan("kh-28-khcn-202", str(PLANS))


class TestConfirmFlow:
    def test_valid_input_records_the_confirmation(self, prefect_api, opened):
        out = confirm_flow(plan=PLAN_ID, plan_dir=str(PLANS), step="quan-triet", by="Nguyễn Văn An",
                           evidence={"date": "2022-03-18", "attendees": 45}, note="Hội nghị toàn Sở",
                           done_on=date(2022, 3, 18))
        assert out == {"plan": PLAN_ID, "step": "quan-triet", "occurrence": "once", "by": "Nguyễn Văn An",
                       "done_on": "2022-03-18", "late_days": 0, "created": True,
                       "evidence": {"date": "18/03/2022", "attendees": "45"}}
        with opened() as session:
            rec = session.scalars(select(ConfirmationRecord)).one()
        assert (rec.source, rec.note, rec.done_on) == ("prefect", "Hội nghị toàn Sở", date(2022, 3, 18))

    def test_confirming_again_changes_nothing(self, prefect_api, opened):
        args = dict(plan=str(SEED), step="quan-triet", by="Nguyễn Văn An",
                    evidence=Evidence(date=date(2022, 3, 18), attendees=45), done_on=date(2022, 3, 18))
        confirm_flow(**args)
        before = counts(opened)
        assert confirm_flow(**{**args, "by": "Trần Thị B"})["created"] is False
        assert counts(opened) == before

    @pytest.mark.parametrize(("changes", "message"), [
        ({"evidence": {"date": "2022-03-18"}},
         "step 'quan-triet' needs evidence: attendees (số người tham dự)"),
        ({"step": "quan-tiet"}, "unknown step 'quan-tiet' - did you mean 'quan-triet'?"),
        ({"by": "  "}, "needs the name of the person confirming"),
        ({"occurrence": "2023"}, "step 'quan-triet' has no occurrence '2023'"),
    ])
    def test_invalid_input_fails_the_run_and_writes_nothing(self, prefect_api, opened, changes, message):
        args = dict(plan=PLAN_ID, plan_dir=str(PLANS), step="quan-triet", by="Nguyễn Văn An",
                    evidence={"date": "2022-03-18", "attendees": 45}, done_on=date(2022, 3, 18))
        before = counts(opened)
        state = confirm_flow(**{**args, **changes}, return_state=True)
        assert state.is_failed()
        assert message in state.message
        with pytest.raises(StateError, match=re.escape(message)):
            state.result()
        assert counts(opened) == before
