"""engine.runtime.tick: opening, reminders, overdue and escalation, idempotency, crashes, concurrent workers, cost."""

from __future__ import annotations

import threading
from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import event, select

from engine.runtime.people import confirm
from engine.runtime.tick import apply, decide, next_check, next_escalation, plan_today, sync, tick
from engine.state.models import (
    DONE,
    NO_TARGET,
    OPEN,
    OVERDUE,
    PENDING,
    SCHEDULED,
    EventRecord,
    OccurrenceRecord,
    OutboxRecord,
)
from tests.engine.state_helpers import (
    at,
    count,
    effects,
    no_documents,
    outbox_keys,
    plan_at,
    row,
    sessions_for,
    snapshot,
)

# Days on which the small plan has something to do (a opens 01/02, reminders 7 and 3 days before its due date
# 20/02 moved off Tết and a Saturday to 07/02 and 16/02, overdue and first escalation 21/02, the second 7 working
# days later: 01/03), with idle days between them.
FEBRUARY = [date(2024, 2, d) for d in (1, 2, 7, 8, 16, 17, 20, 21, 22, 28, 29)] + [date(2024, 3, 1)]


def run_days(plan, sessions, days, **kw):
    for d in days:
        tick(plan, sessions, at(d), documents=no_documents, **kw)


def sign(plan, sessions, step, day, key=None, **evidence):
    with sessions() as s, s.begin():
        return confirm(plan, s, step, key=key, by="Nguyễn Văn A", at=day, now=at(day, 16),
                       evidence=evidence or {"document_number": "12/BC"})


class TestOpening:
    def test_an_occurrence_opens_on_its_day_and_tells_owner_and_audience(self, plan, sessions):
        run_days(plan, sessions, [date(2024, 1, 31)])
        assert effects(sessions) == []
        run_days(plan, sessions, [date(2024, 2, 1)])
        assert effects(sessions) == [("01/02/2024", "a", "once", "opened")]
        r = row(sessions, plan.id, "a", "once")
        assert (r.status, r.opened_on, r.plan_version) == (OPEN, date(2024, 2, 1), plan.version)
        with sessions() as s:
            notices = {(o.reason, o.unit_id, o.tag, o.status) for o in s.scalars(select(OutboxRecord))}
        # the owner on both of its tags; the audience unit has no tag: a visible 'no target' row
        assert notices == {("opened", "vp", "vp", PENDING), ("opened", "vp", "vp-chat", PENDING),
                           ("disseminate", "ngoai", None, NO_TARGET)}

    def test_a_step_waits_for_its_dependency_then_opens_the_day_after_it_is_confirmed(self, plan, sessions):
        sign(plan, sessions, "a", date(2024, 2, 20))
        run_days(plan, sessions, [date(2024, 3, 11)])
        assert row(sessions, plan.id, "b", "2024-03").status == OPEN  # a was done before b opened

    def test_a_blocked_occurrence_says_so_once_then_sleeps_until_its_predecessor_is_done(self, plan, sessions):
        run_days(plan, sessions, [date(2024, 3, 11), date(2024, 3, 12)])
        r = row(sessions, plan.id, "b", "2024-03")
        # b opens 11/03 but waits for a: its owner (also a's owner) is told once what waits on what; it is looked
        # at again on its escalation day (due 25/03 -> 26/03) unless a is confirmed before
        assert (r.status, r.next_on) == (SCHEDULED, date(2024, 3, 26))
        assert [e for e in effects(sessions) if e[1] == "b"] == [("11/03/2024", "b", "2024-03", "blocked")]
        with sessions() as s:
            blocked = [(o.template, o.unit_id, o.context["waiting_for"]) for o in s.scalars(
                select(OutboxRecord).where(OutboxRecord.reason == "blocked"))]
        assert blocked == [("blocked", "vp", "Việc A")] * 2  # two tags
        sign(plan, sessions, "a", date(2024, 3, 12))
        assert row(sessions, plan.id, "b", "2024-03").next_on == date(2024, 3, 12)  # woken by the confirmation
        run_days(plan, sessions, [date(2024, 3, 13)])
        assert ("13/03/2024", "b", "2024-03", "opened") in effects(sessions)

    def test_a_blocked_occurrence_past_due_is_escalated_to_leadership(self, plan, sessions):
        run_days(plan, sessions, [date(2024, 3, 11), date(2024, 3, 26)])
        with sessions() as s:
            got = sorted((o.reason, o.template, o.unit_id) for o in s.scalars(
                select(OutboxRecord).where(OutboxRecord.step_id == "b")))
        assert got == [("blocked", "blocked", "vp"), ("blocked", "blocked", "vp"),
                       ("escalation-1", "escalation", "ld")]
        assert row(sessions, plan.id, "b", "2024-03").status == SCHEDULED  # it never opened

    def test_coordinate_partners_are_asked_to_work_with_the_owner(self, plan, sessions):
        sign(plan, sessions, "a", date(2024, 2, 20))
        run_days(plan, sessions, [date(2024, 3, 11)])
        with sessions() as s:
            got = {(o.reason, o.unit_id) for o in s.scalars(select(OutboxRecord).where(OutboxRecord.step_id == "b"))}
        assert got == {("opened", "vp"), ("coordinate", "ld")}

    def test_now_must_carry_a_time_zone(self, plan):
        with pytest.raises(ValueError, match="timezone-aware"):
            plan_today(plan, datetime(2024, 2, 1, 7, 30))

    def test_the_day_is_taken_in_the_plans_time_zone(self, plan):
        from zoneinfo import ZoneInfo

        late_utc = datetime(2024, 1, 31, 20, 0, tzinfo=ZoneInfo("UTC"))  # 03:00 on 01/02 in Hanoi
        assert plan_today(plan, late_utc) == date(2024, 2, 1)


class TestRemindersAndDeadlines:
    def test_reminders_on_their_days_then_the_due_day_notice(self, plan, sessions):
        run_days(plan, sessions, [date(2024, 2, d) for d in range(1, 21)])
        assert [e for e in effects(sessions) if e[1] == "a"] == [
            ("01/02/2024", "a", "once", "opened"),
            ("07/02/2024", "a", "once", "reminder"),  # 13/02 is in the Tết holiday: the working day before it
            ("16/02/2024", "a", "once", "reminder"),  # 17/02 is a Saturday
            ("20/02/2024", "a", "once", "due"),
        ]
        assert row(sessions, plan.id, "a", "once").chased == 3

    def test_after_a_gap_only_the_latest_reminder_is_sent(self, plan, sessions):
        run_days(plan, sessions, [date(2024, 2, 1), date(2024, 2, 18)])
        with sessions() as s:
            reasons = sorted(s.scalars(select(OutboxRecord.reason).where(OutboxRecord.reason.like("reminder%"))))
        assert reasons == ["reminder-2024-02-16"] * 2  # the owner's two tags

    def test_nothing_is_repeated_on_the_day_an_occurrence_opens(self, plan, sessions):
        """Opened on its due day (a first tick late): the opening notice gives the deadline; no reminder, no
        due-day notice beside it."""
        run_days(plan, sessions, [date(2024, 2, 20)])
        assert [e[3] for e in effects(sessions) if e[1] == "a"] == ["opened"]

    def test_overdue_then_escalations_every_seven_working_days_capped_at_max_times(self, plan, sessions):
        run_days(plan, sessions, [date(2024, 2, 1) + timedelta(days=n) for n in range(60)])
        after_due = [e for e in effects(sessions) if e[1] == "a" and e[3] in ("overdue", "escalation")]
        assert after_due == [("21/02/2024", "a", "once", "overdue"), ("21/02/2024", "a", "once", "escalation"),
                             ("01/03/2024", "a", "once", "escalation")]  # max_times: 2
        r = row(sessions, plan.id, "a", "once")
        assert (r.status, r.next_on, r.escalations, r.escalated_on) == (OVERDUE, None, 2, date(2024, 3, 1))
        with sessions() as s:
            to = sorted((o.reason, o.template, o.unit_id) for o in s.scalars(select(OutboxRecord).where(
                OutboxRecord.reason.like("escalation%"), OutboxRecord.step_id == "a")))
        # the owner is told it is late (both tags); the leadership who is late
        assert to == [("escalation-1", "escalation", "ld"), ("escalation-1", "overdue", "vp"),
                      ("escalation-1", "overdue", "vp"), ("escalation-2", "escalation", "ld"),
                      ("escalation-2", "overdue", "vp"), ("escalation-2", "overdue", "vp")]

    def test_after_a_gap_the_next_escalation_is_the_next_number(self, plan, sessions):
        run_days(plan, sessions, [date(2024, 2, 1), date(2024, 2, 21)])
        run_days(plan, sessions, [date(2024, 5, 20)])  # ticks stopped for months
        numbers = [o for o in effects(sessions) if o[3] == "escalation" and o[1] == "a"]
        assert numbers == [("21/02/2024", "a", "once", "escalation"), ("20/05/2024", "a", "once", "escalation")]
        with sessions() as s:
            reasons = sorted(set(s.scalars(select(OutboxRecord.reason).where(OutboxRecord.step_id == "a"))))
        assert "escalation-2" in reasons and "escalation-3" not in reasons

    def test_a_confirmation_stops_everything(self, plan, sessions):
        run_days(plan, sessions, [date(2024, 2, 1), date(2024, 2, 7)])
        sign(plan, sessions, "a", date(2024, 2, 14))
        before = effects(sessions)
        run_days(plan, sessions, [date(2024, 2, 17), date(2024, 2, 20), date(2024, 2, 21), date(2024, 2, 28)])
        assert [e for e in effects(sessions) if e[1] == "a"] == [e for e in before if e[1] == "a"]
        assert row(sessions, plan.id, "a", "once").status == DONE

    def test_escalations_count_working_days(self, plan, sessions):
        from engine.language.models.policy import Escalation

        run_days(plan, sessions, [date(2024, 2, 1)])
        r = row(sessions, plan.id, "a", "once")
        esc = Escalation(after_days=1, every_days=7, max_times=3)
        assert next_escalation(plan, r, esc) == date(2024, 2, 21)  # due Tue 20/02: the next working day
        r.escalations, r.escalated_on = 1, date(2024, 2, 21)
        assert next_escalation(plan, r, esc) == date(2024, 3, 1)  # 7 working days: weekends not counted
        r.due_on = date(2024, 2, 2)  # a Friday: the first escalation is on Monday
        r.escalations, r.escalated_on = 0, None
        assert next_escalation(plan, r, esc) == date(2024, 2, 5)
        r.escalations = 3
        assert next_escalation(plan, r, esc) is None  # all sent
        assert next_escalation(plan, r, Escalation(max_times=0)) is None  # escalation off

    def test_next_check_is_the_next_reminder_due_day_or_escalation(self, plan, sessions):
        run_days(plan, sessions, [date(2024, 2, 1)])
        r = row(sessions, plan.id, "a", "once")
        step = plan.step_by_id["a"]
        assert [next_check(plan, step, r, date(2024, 2, d)) for d in (1, 7, 16, 20)] == [
            date(2024, 2, 7), date(2024, 2, 16), date(2024, 2, 20), date(2024, 2, 21)]
        assert next_check(plan, step, r, date(2024, 2, 21), escalated=True) == date(2024, 3, 1)
        r.escalations, r.escalated_on = 1, date(2024, 2, 21)
        assert next_check(plan, step, r, date(2024, 3, 1), escalated=True) is None  # max_times 2


class TestIdempotency:
    def test_ticking_twice_at_the_same_now_changes_nothing_the_second_time(self, plan, sessions):
        for d in FEBRUARY:
            tick(plan, sessions, at(d), documents=no_documents)
            before = snapshot(sessions)
            again = tick(plan, sessions, at(d), documents=no_documents)
            assert again.applied == []
            assert snapshot(sessions) == before

    def test_a_crash_half_way_then_a_rerun_writes_each_effect_once(self, plan, store_url, tmp_path):
        sessions = sessions_for(store_url)
        reference = sessions_for(f"sqlite:///{tmp_path / 'reference.db'}")
        def crashing_tick(day):
            """The tick's own steps, dying after the first action is applied and before the commit."""
            with sessions() as s, s.begin():
                sync(plan, s, day, at(day))
                actions = decide(plan, s, day)
                apply(plan, s, actions[:1], day, at(day), no_documents)
                s.flush()
                raise RuntimeError("simulated crash")

        for d in FEBRUARY:
            tick(plan, reference, at(d), documents=no_documents)
            with pytest.raises(RuntimeError, match="simulated crash"):
                crashing_tick(d)
            tick(plan, sessions, at(d), documents=no_documents)
        assert effects(sessions) == effects(reference)
        assert outbox_keys(sessions) == outbox_keys(reference)
        assert count(sessions, EventRecord) == len(set(effects(sessions)))

    def test_decide_then_apply_per_step_in_separate_transactions_survives_a_crash_between(self, tmp_path, store_url):
        """The Prefect flow's shape: decide (one transaction), then one transaction per step; it dies after the
        first step, and the rerun of the whole day finishes the rest, each effect once."""
        plan = plan_at(tmp_path / "thu.yaml")
        sessions = sessions_for(store_url)
        reference = sessions_for(f"sqlite:///{tmp_path / 'reference.db'}")
        sign(plan, sessions, "a", date(2024, 2, 20))
        sign(plan, reference, "a", date(2024, 2, 20))
        with sessions() as s, s.begin():
            confirm(plan, s, "b", key="2024-03", by="X", at=date(2024, 3, 1), now=at(date(2024, 3, 1)))
        with reference() as s, s.begin():
            confirm(plan, s, "b", key="2024-03", by="X", at=date(2024, 3, 1), now=at(date(2024, 3, 1)))
        days = [date(2024, 4, 11), date(2024, 4, 18), date(2024, 4, 26), date(2024, 5, 11), date(2024, 5, 26)]

        def prefect_shaped(day, crash_after_steps=None):
            now = at(day)
            with sessions() as s, s.begin():
                sync(plan, s, day, now)
                actions = decide(plan, s, day)
            by_step = {}
            for a in actions:
                by_step.setdefault(a.step_id, []).append(a)
            for i, step_actions in enumerate(by_step.values()):
                if crash_after_steps is not None and i == crash_after_steps:
                    raise RuntimeError("worker died")
                with sessions() as s, s.begin():
                    apply(plan, s, step_actions, day, now, no_documents)

        with sessions() as s, s.begin():  # two steps act on 11/04 (b opens, and an extra request of c)
            from engine.runtime.people import request

            request(plan, s, "c", at=date(2024, 4, 11), now=at(date(2024, 4, 11)), by="ld")
        with reference() as s, s.begin():
            from engine.runtime.people import request

            request(plan, s, "c", at=date(2024, 4, 11), now=at(date(2024, 4, 11)), by="ld")
        for d in days:
            with pytest.raises(RuntimeError, match="worker died"):
                prefect_shaped(d, crash_after_steps=1) if d == days[0] else prefect_shaped(d, crash_after_steps=0)
            prefect_shaped(d)
            tick(plan, reference, at(d), documents=no_documents)
        assert effects(sessions) == effects(reference)
        assert outbox_keys(sessions) == outbox_keys(reference)
        assert ("11/04/2024", "c", "yc-2024-04-11", "opened") in effects(sessions)

    def test_an_action_made_stale_by_a_confirmation_is_dropped(self, plan, sessions):
        run_days(plan, sessions, [date(2024, 2, 1)])
        with sessions() as s, s.begin():
            sync(plan, s, date(2024, 2, 7), at(date(2024, 2, 7)))
            actions = decide(plan, s, date(2024, 2, 7))
        assert [a.event for a in actions] == ["reminder"]
        sign(plan, sessions, "a", date(2024, 2, 7))  # confirmed between decide and apply
        with sessions() as s, s.begin():
            applied, skipped = apply(plan, s, actions, date(2024, 2, 7), at(date(2024, 2, 7)))
        assert (applied, skipped) == ([], 1)
        assert "reminder" not in [e[3] for e in effects(sessions)]

    def test_a_session_kept_across_commits_reads_its_rows_again(self, plan, sessions):
        """Objects outlive a commit (expire_on_commit=False): what `decide` read in an earlier transaction of
        the same session is not trusted by `apply` in a later one."""
        run_days(plan, sessions, [date(2024, 2, 1)])
        day = date(2024, 2, 7)
        with sessions() as s:
            with s.begin():
                sync(plan, s, day, at(day))
                actions = decide(plan, s, day)
            sign(plan, sessions, "a", day)  # another session confirms in between
            with s.begin():
                assert apply(plan, s, actions, day, at(day)) == ([], 1)

    def test_apply_in_decides_transaction_does_not_read_the_rows_again(self, plan, sessions):
        run_days(plan, sessions, [date(2024, 2, 1)])
        day = date(2024, 2, 7)
        loaded = []
        with sessions() as s, s.begin():
            event.listen(s, "loaded_as_persistent", lambda _s, obj: loaded.append(obj))
            sync(plan, s, day, at(day))
            actions = decide(plan, s, day)
            assert [o.step_id for o in loaded if isinstance(o, OccurrenceRecord)] == ["a"]
            applied, _ = apply(plan, s, actions, day, at(day))
        assert [a.event for a in applied] == ["reminder"]
        assert [o.step_id for o in loaded if isinstance(o, OccurrenceRecord)] == ["a"]  # read once, by decide
        assert row(sessions, plan.id, "a", "once").next_on == date(2024, 2, 16)


@pytest.mark.postgres
class TestConcurrentWorkers:
    def test_two_ticks_of_the_same_plan_at_once_write_each_effect_once(self, plan, pg_url, postgres_cluster, tmp_path):
        sessions = sessions_for(pg_url)
        reference = sessions_for(f"sqlite:///{tmp_path / 'reference.db'}")
        plan.occurrences("a")  # warm the plan's caches before threads share it
        errors: list[BaseException] = []

        def worker(barrier, day):
            try:
                barrier.wait(timeout=30)
                tick(plan, sessions, at(day), documents=no_documents)
            except BaseException as exc:  # noqa: BLE001 - reported by the main thread
                errors.append(exc)

        days = FEBRUARY + [date(2024, 3, 11), date(2024, 3, 18)]
        for d in days:
            if d == date(2024, 3, 11):
                sign(plan, sessions, "a", date(2024, 3, 1))
                sign(plan, reference, "a", date(2024, 3, 1))
            barrier = threading.Barrier(2)
            threads = [threading.Thread(target=worker, args=(barrier, d)) for _ in range(2)]
            for t in threads:
                t.start()
            for t in threads:
                t.join(timeout=60)
            tick(plan, reference, at(d), documents=no_documents)
        assert errors == []
        assert effects(sessions) == effects(reference)
        assert count(sessions, EventRecord) == count(reference, EventRecord)
        assert count(sessions, OutboxRecord) == count(reference, OutboxRecord)
        assert outbox_keys(sessions) == outbox_keys(reference)

    def test_two_prefect_shaped_workers_apply_each_effect_once(self, plan, pg_url, tmp_path):
        """Both decide before either applies (the worst interleaving), then apply step by step."""
        sessions = sessions_for(pg_url)
        reference = sessions_for(f"sqlite:///{tmp_path / 'reference.db'}")
        plan.occurrences("a")
        day = date(2024, 2, 21)
        run_days(plan, sessions, [date(2024, 2, 1)])
        run_days(plan, reference, [date(2024, 2, 1), day])
        decided = []
        for _ in range(2):
            with sessions() as s, s.begin():
                sync(plan, s, day, at(day))
                decided.append(decide(plan, s, day))
        barrier = threading.Barrier(2)
        results = []

        def worker(actions):
            barrier.wait(timeout=30)
            with sessions() as s, s.begin():
                results.append(apply(plan, s, actions, day, at(day), no_documents))

        threads = [threading.Thread(target=worker, args=(a,)) for a in decided]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=60)
        assert sorted(len(applied) for applied, _ in results) == [0, 2]  # overdue + escalation, once
        assert effects(sessions) == effects(reference)
        assert outbox_keys(sessions) == outbox_keys(reference)


class TestCost:
    def _statements(self, sessions_factory, fn):
        engine = sessions_factory.kw["bind"]
        seen: list[str] = []

        def count_it(conn, cursor, statement, *args):  # noqa: ANN001
            seen.append(statement)

        event.listen(engine, "before_cursor_execute", count_it)
        try:
            fn()
        finally:
            event.remove(engine, "before_cursor_execute", count_it)
        return seen

    def test_a_tick_with_nothing_due_reads_no_occurrence_rows_whatever_is_stored(self, plan, store_url):
        sessions = sessions_for(store_url)
        run_days(plan, sessions, [date(2024, 2, 1)])
        with sessions() as s, s.begin():  # many finished occurrences of the same plan
            from engine.state.store import insert_many_ignore

            insert_many_ignore(s, OccurrenceRecord, [dict(
                plan_id=plan.id, step_id="old", key=str(i), kind="report", status=DONE,
                opens_on=date(2023, 1, 1), due_on=date(2023, 1, 2), done_on=date(2023, 1, 2), plan_version="x",
                orphaned=False, next_on=None) for i in range(2000)])
        loaded = []

        def run():
            with sessions() as s, s.begin():
                event.listen(s, "loaded_as_persistent", lambda _s, obj: loaded.append(obj))
                from engine.runtime.tick import tick_in

                result = tick_in(plan, s, at(date(2024, 2, 5)), documents=no_documents)
                assert result.applied == []

        statements = self._statements(sessions, run)
        assert [o for o in loaded if isinstance(o, OccurrenceRecord)] == []
        # lock the plan row, read the due occurrences (none), save the plan's tick time - and nothing else
        assert len([s for s in statements if not s.strip().upper().startswith(("BEGIN", "COMMIT"))]) <= 4, statements

    def test_open_but_idle_occurrences_are_not_read_between_their_dates(self, plan, sessions):
        run_days(plan, sessions, [date(2024, 2, 1)])
        with sessions() as s, s.begin():
            sync(plan, s, date(2024, 2, 5), at(date(2024, 2, 5)))
            assert decide(plan, s, date(2024, 2, 5)) == []
            from engine.state.store import due_occurrences

            assert due_occurrences(s, plan.id, date(2024, 2, 6)) == []
            assert [r.step_id for r in due_occurrences(s, plan.id, date(2024, 2, 7))] == ["a"]
