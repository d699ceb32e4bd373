"""engine.state and engine.runtime.materialize: URLs, migrations, idempotent inserts, and plan edits keeping history."""

from __future__ import annotations

import re
from datetime import date

import pytest
from sqlalchemy import func, inspect, select, text

from engine.language.plan import load_plan
from engine.runtime.people import confirm
from engine.runtime.status import plan_status
from engine.runtime.tick import tick
from engine.state.db import close_store, database_url, make_engine, migrate, open_store
from engine.state.models import (
    CANCELLED,
    DONE,
    OPEN,
    ConfirmationRecord,
    EventRecord,
    OccurrenceRecord,
    PlanRecord,
)
from engine.state.store import insert_ignore, insert_many_ignore
from tests.engine.state_helpers import (
    STEPS,
    at,
    count,
    effects,
    no_documents,
    plan_at,
    row,
    sessions_for,
    write_plan,
)


class TestDatabaseUrl:
    def test_flag_then_environment_then_a_sqlite_file(self, monkeypatch):
        monkeypatch.delenv("KEHOACH_DATABASE_URL", raising=False)
        assert database_url() == "sqlite:///.kehoach/state.db"
        monkeypatch.setenv("KEHOACH_DATABASE_URL", "sqlite:////tmp/env.db")
        assert database_url() == "sqlite:////tmp/env.db"
        assert database_url("sqlite:////tmp/flag.db") == "sqlite:////tmp/flag.db"

    def test_a_plain_postgresql_url_uses_psycopg(self):
        assert database_url("postgresql://u@h:5432/d") == "postgresql+psycopg://u@h:5432/d"
        assert database_url("postgres://u@h/d") == "postgresql+psycopg://u@h/d"

    def test_the_sqlite_folder_is_created(self, tmp_path):
        url = f"sqlite:///{tmp_path / 'deep' / 'er' / 'state.db'}"
        open_store(url)
        assert (tmp_path / "deep" / "er" / "state.db").is_file()
        close_store(url)


def _sqlite(path, *statements):
    import sqlite3

    with sqlite3.connect(path) as conn:
        for statement in statements:
            conn.execute(statement)
    conn.close()


def _damage(path):
    """Overwrite the cell pointers of the occurrences table's root page, as a disk or a copy cut short would."""
    import sqlite3

    _sqlite(path, "PRAGMA wal_checkpoint(TRUNCATE)")
    with sqlite3.connect(path) as conn:
        (root,) = conn.execute("SELECT rootpage FROM sqlite_master WHERE name = 'occurrences'").fetchone()
        (size,) = conn.execute("PRAGMA page_size").fetchone()
    conn.close()
    data = bytearray(path.read_bytes())
    start = (root - 1) * size + 8  # past the b-tree page header (a leaf's is 8 bytes, an interior page's 12)
    data[start: start + 200] = b"\xff" * 200
    path.write_bytes(data)


class TestOpeningAStore:
    """A store that cannot be used is refused when opened, in one line, its password masked; nothing is written."""

    @pytest.fixture
    def filled(self, tmp_path):
        """A SQLite store holding the seed plan's first two years."""
        from engine.runtime.simulate import ConfirmPolicy, simulate
        from engine.state.db import session_factory
        from tests.conftest import SEED

        url = f"sqlite:///{tmp_path / 'state.db'}"
        simulate(load_plan(SEED), session_factory(open_store(url)), date(2022, 3, 15), date(2023, 12, 31),
                 ConfirmPolicy.parse("on-time"))
        close_store(url)
        return tmp_path / "state.db"

    def _refused(self, url, match):
        from engine.errors import StateError

        with pytest.raises(StateError) as info:
            open_store(url)
        message = str(info.value)
        assert "\n" not in message and "sqlalche.me" not in message and "CREATE TABLE" not in message
        assert re.search(match, message), message
        return message

    def test_an_unreachable_server_is_one_line_without_the_password(self):
        message = self._refused("postgresql://kehoach:S3cret/Pass@127.0.0.1:1/kehoach",
                                r"^không mở được kho dữ liệu postgresql://kehoach:\*\*\*@127\.0\.0\.1:1/kehoach: "
                                r"connection failed: .*Connection refused")
        assert "S3cret" not in message and "Pass" not in message

    def test_a_file_that_is_not_a_database(self, tmp_path):
        (tmp_path / "notes.db").write_text("ghi chú\n")
        self._refused(f"sqlite:///{tmp_path / 'notes.db'}", r"notes\.db: tệp không phải cơ sở dữ liệu SQLite$")

    def test_another_applications_database_is_left_untouched(self, tmp_path):
        path = tmp_path / "other.db"
        _sqlite(path, "CREATE TABLE plans (x INTEGER)", "CREATE TABLE notes (y TEXT)")
        self._refused(f"sqlite:///{path}", r"other\.db không phải kho dữ liệu của Kehoach \(có các bảng khác: notes, "
                                           r"plans\): chỉ kho khác bằng --db$")
        _sqlite(path, "CREATE TABLE alembic_version (a INTEGER, b TEXT)")
        self._refused(f"sqlite:///{path}", r"bảng alembic_version không phải của Kehoach")
        import sqlite3

        tables = {r[0] for r in sqlite3.connect(path).execute("SELECT name FROM sqlite_master WHERE type='table'")}
        assert tables == {"plans", "notes", "alembic_version"}  # none of ours was added

    def test_a_store_of_a_newer_kehoach(self, filled):
        _sqlite(filled, "UPDATE alembic_version SET version_num = '0099'")
        self._refused(f"sqlite:///{filled}", r"lược đồ của kho ở phiên bản 0099, không thuộc 0001, .* \(do một Kehoach mới hơn")

    def test_a_damaged_file_is_refused_before_anything_is_read(self, filled):
        _damage(filled)
        self._refused(f"sqlite:///{filled}", r"state\.db bị hỏng \(SQLite: .*\): khôi phục từ bản sao lưu")

    def test_a_read_only_store_reads_but_refuses_a_write_at_once(self, filled):
        from engine.cli.common import sessions
        from engine.errors import StateError

        url = f"sqlite:///file:{filled}?mode=ro&uri=true"  # read-only for SQLite, even for root
        with sessions(url, create=False)() as session:
            assert session.scalar(select(func.count()).select_from(OccurrenceRecord)) > 0
        with pytest.raises(StateError, match=r"^không ghi được vào kho dữ liệu .*state\.db\?mode=ro&uri=true: "
                                             r"kho chỉ đọc được \(attempt to write a readonly database\)"):
            sessions(url)
        close_store(url)


class TestMigrations:
    TABLES = {"plans", "occurrences", "confirmations", "events", "outbox", "documents", "alembic_version"}

    def test_a_new_store_is_created_at_the_newest_revision(self, store_url):
        engine = open_store(store_url)
        assert self.TABLES <= set(inspect(engine).get_table_names())
        with engine.connect() as c:
            assert c.execute(text("SELECT version_num FROM alembic_version")).scalar() == "0005"
        assert "next_on" in {c["name"] for c in inspect(engine).get_columns("occurrences")}

    def test_the_migrated_schema_is_the_models_schema(self, store_url):
        from alembic.autogenerate import compare_metadata
        from alembic.migration import MigrationContext

        from engine.state.models import Base

        with open_store(store_url).connect() as c:
            assert compare_metadata(MigrationContext.configure(c), Base.metadata) == []

    def test_migrating_twice_is_harmless(self, store_url):
        engine = open_store(store_url)
        migrate(engine)
        with engine.connect() as c:
            assert c.execute(text("SELECT count(*) FROM alembic_version")).scalar() == 1

    def test_upgrade_from_0001_keeps_rows_and_lets_the_next_tick_look_at_active_ones(self, store_url):
        from alembic import command
        from alembic.config import Config

        from engine.state.db import MIGRATIONS

        engine = make_engine(store_url)
        cfg = Config()
        cfg.set_main_option("script_location", str(MIGRATIONS))
        with engine.begin() as conn:
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "0001")
        with engine.begin() as conn:
            conn.execute(text("INSERT INTO plans (id, number, path, version) VALUES ('p', '1', 'p.yaml', 'v1')"))
            for key, status in (("a", "open"), ("b", "done")):
                conn.execute(text(
                    "INSERT INTO occurrences (plan_id, step_id, key, kind, status, opens_on, due_on, orphaned, "
                    "plan_version) VALUES ('p', 's', :k, 'report', :st, '2024-02-01', '2024-02-20', false, 'v1')"),
                    {"k": key, "st": status})
        migrate(engine)
        with engine.connect() as conn:
            got = dict(conn.execute(text("SELECT key, next_on FROM occurrences ORDER BY key")).all())
        assert {k: (str(v) if v else None) for k, v in got.items()} == {"a": "2024-02-01", "b": None}
        engine.dispose()


class TestInsertIgnore:
    def test_the_second_insert_of_a_key_does_nothing(self, store_url):
        sessions = sessions_for(store_url)
        values = dict(id="p", number="1", path="p.yaml", version="v")
        with sessions() as s, s.begin():
            assert insert_ignore(s, PlanRecord, values) is True
            assert insert_ignore(s, PlanRecord, {**values, "number": "2"}) is False
        with sessions() as s:
            assert s.scalars(select(PlanRecord.number)).all() == ["1"]

    def test_several_rows_at_once_count_only_the_new_ones(self, store_url):
        sessions = sessions_for(store_url)
        rows = [dict(id=f"p{i}", number="1", path="p", version="v") for i in range(3)]
        with sessions() as s, s.begin():
            assert insert_many_ignore(s, PlanRecord, rows[:2]) == 2
            assert insert_many_ignore(s, PlanRecord, rows) == 1
            assert insert_many_ignore(s, PlanRecord, []) == 0
        assert count(sessions, PlanRecord) == 3

    def test_sqlite_rows_are_written_as_sqlalchemys_statement_writes_them(self, tmp_path):
        """SQLite inserts go through a leaner path than the compiled statement (engine.state.store): the same
        columns, defaults, JSON (None too), dates and times, byte for byte, and only new rows returned."""
        from datetime import datetime, timezone

        from engine.state.models import OutboxRecord
        from engine.state.store import _insert_ignore_stmt, inserted_rows

        now = datetime(2024, 3, 1, 7, 30, tzinfo=timezone.utc)
        rows = {
            EventRecord: [dict(effect_key=f"p/s/{i}/opened", plan_id="p", step_id="s", occurrence_key=str(i),
                               event="opened", on_date=date(2024, 3, 1), at=now, detail={"ý": [i, "Sở"]},
                               plan_version="v") for i in range(3)]
            + [dict(effect_key="p/-/-/closed", plan_id="p", step_id=None, occurrence_key=None, event="closed",
                    on_date=date(2024, 3, 2), at=now, actor="Trần Thị B", detail=None, plan_version="v")],
            OutboxRecord: [dict(idempotency_key=f"k{i}", plan_id="p", step_id="s", occurrence_key=str(i),
                                reason="opened", template="opened", unit_id="u", tag=None if i else "t",
                                context={"due": "15/03/2024"}, created_on=date(2024, 3, 1), plan_version="v")
                           for i in range(2)],
        }
        stored = {}
        for name, lean in (("core", False), ("lean", True)):
            sessions = sessions_for(f"sqlite:///{tmp_path / name}.db")
            with sessions() as s, s.begin():
                for model, values in rows.items():
                    if lean:
                        assert len(inserted_rows(s, model, values)) == len(values)
                        assert inserted_rows(s, model, values[:1] + values[:1]) == []
                        assert inserted_rows(s, model, values[-1:], ("id", "plan_id")) == []
                    else:  # row by row: a list of rows is written with the columns of the first
                        for value in values:
                            s.connection().execute(_insert_ignore_stmt("sqlite", model, ()), value)
            with sessions() as s:
                stored[name] = {t: s.connection().exec_driver_sql(f"SELECT * FROM {t} ORDER BY id").all()
                                for t in ("events", "outbox")}
        assert stored["lean"] == stored["core"]
        with sessions() as s:  # the defaults went in: the outbox's status, the JSON null of no detail
            assert s.connection().exec_driver_sql("SELECT DISTINCT status FROM outbox").all() == [("pending",)]
            assert s.connection().exec_driver_sql("SELECT detail FROM events WHERE id = 4").scalar() == "null"


def run(plan, sessions, *days):
    for d in days:
        tick(plan, sessions, at(d), documents=no_documents)


def sign(plan, sessions, step, day, key=None):
    with sessions() as s, s.begin():
        confirm(plan, s, step, key=key, by="Trần Thị B", at=day, now=at(day, 15),
                evidence={"document_number": "5/VP"})


class TestPlanEdits:
    """Editing the plan file never loses history: rows stay, confirmations stay attached by step id."""

    def test_a_removed_step_keeps_its_rows_and_confirmation_flagged_orphaned(self, tmp_path, store_url):
        sessions = sessions_for(store_url)
        path = tmp_path / "thu.yaml"
        v1 = plan_at(path)
        run(v1, sessions, date(2024, 2, 1))
        sign(v1, sessions, "a", date(2024, 2, 15))
        v2 = plan_at(path, STEPS.replace("    depends_on: [a]\n", "").split("  - id: d")[0]
                     .replace("  - id: a\n", "  - id: a-moi\n"))  # 'a' renamed to 'a-moi', 'd' (after a) removed
        run(v2, sessions, date(2024, 2, 16))
        old = row(sessions, v2.id, "a", "once")
        assert (old.status, old.orphaned, old.done_on) == (DONE, True, date(2024, 2, 15))
        with sessions() as s:
            conf = s.scalars(select(ConfirmationRecord)).one()
            orphaned = s.scalars(select(EventRecord).where(EventRecord.event == "orphaned")).all()
        assert (conf.step_id, conf.occurrence_key, conf.by, conf.plan_version) == ("a", "once", "Trần Thị B", v1.version)
        assert {(e.step_id, e.plan_version) for e in orphaned} == {("a", v2.version), ("d", v2.version)}
        assert row(sessions, v2.id, "a-moi", "once").status == OPEN  # the renamed step starts afresh
        with sessions() as s:
            shown = {(r["step"], r["orphaned"]): r for r in plan_status(v2, s, date(2024, 2, 16))}
        assert shown[("a", True)]["confirmation"]["by"] == "Trần Thị B"
        assert shown[("a", True)]["status_vi"].startswith("mồ côi")

    def test_putting_a_step_back_restores_its_rows(self, tmp_path, store_url):
        sessions = sessions_for(store_url)
        path = tmp_path / "thu.yaml"
        v1 = plan_at(path)
        run(v1, sessions, date(2024, 2, 1))
        v2 = plan_at(path, STEPS.replace("  - id: a\n", "  - id: a2\n").replace("[a]", "[a2]")
                     .replace("step: a,", "step: a2,"))
        run(v2, sessions, date(2024, 2, 2))
        assert row(sessions, v1.id, "a", "once").orphaned is True
        v3 = plan_at(path)
        run(v3, sessions, date(2024, 2, 13))
        r = row(sessions, v1.id, "a", "once")
        assert (r.orphaned, r.status) == (False, OPEN)
        assert ("13/02/2024", "a", "once", "reminder") in effects(sessions)
        assert [e[3] for e in effects(sessions) if e[1] == "a"].count("restored") == 1

    def test_confirmations_survive_edits_and_events_carry_the_version_they_were_made_under(self, tmp_path, store_url):
        sessions = sessions_for(store_url)
        path = tmp_path / "thu.yaml"
        v1 = plan_at(path)
        run(v1, sessions, date(2024, 2, 1))
        sign(v1, sessions, "a", date(2024, 2, 10))
        v2 = plan_at(path, STEPS.replace("title: Việc A", "title: Việc A (sửa tên)"))
        run(v2, sessions, date(2024, 2, 11))
        r = row(sessions, v2.id, "a", "once")
        assert (r.status, r.done_on, r.orphaned) == (DONE, date(2024, 2, 10), False)
        with sessions() as s:
            versions = dict(s.execute(select(EventRecord.event, EventRecord.plan_version)
                                      .where(EventRecord.step_id == "a")).all())
            stored = s.scalars(select(PlanRecord.version)).one()
        assert versions == {"opened": v1.version, "confirmed": v1.version}
        assert stored == v2.version != v1.version

    def test_changed_timing_redates_scheduled_rows_and_cancels_vanished_ones_with_a_reason(self, tmp_path, store_url):
        sessions = sessions_for(store_url)
        path = tmp_path / "thu.yaml"
        v1 = plan_at(path)
        run(v1, sessions, date(2024, 3, 11), date(2024, 4, 11))  # b 2024-03 and 2024-04 stored, waiting for a
        assert row(sessions, v1.id, "b", "2024-04").opens_on == date(2024, 4, 11)
        # b moves to the 20th and ends in March: 2024-03 is re-dated, 2024-04 is no longer in the plan
        v2 = plan_at(path, STEPS.replace("{monthly: 25, from: 01/03/2024, until: 31/05/2024}",
                                         "{monthly: 20, from: 01/03/2024, until: 31/03/2024}"))
        run(v2, sessions, date(2024, 4, 12))
        march, april = row(sessions, v2.id, "b", "2024-03"), row(sessions, v2.id, "b", "2024-04")
        assert (march.opens_on, march.due_on) == (date(2024, 3, 6), date(2024, 3, 20))
        assert april.status == CANCELLED and "không còn trong kế hoạch" in april.reason and v2.version in april.reason
        with sessions() as s:
            redated = s.scalars(select(EventRecord).where(EventRecord.event == "redated")).one()
        assert redated.detail == {"from": {"opens": "2024-03-11", "due": "2024-03-25"},
                                  "to": {"opens": "2024-03-06", "due": "2024-03-20"}}
        assert redated.plan_version == v2.version

    def test_an_open_row_gets_the_new_due_date_and_is_no_longer_overdue(self, tmp_path, store_url):
        sessions = sessions_for(store_url)
        path = tmp_path / "thu.yaml"
        v1 = plan_at(path)
        run(v1, sessions, date(2024, 2, 1), date(2024, 2, 21))
        assert row(sessions, v1.id, "a", "once").status == "overdue"
        v2 = plan_at(path, STEPS.replace("due: 20/02/2024", "due: 29/02/2024"))
        run(v2, sessions, date(2024, 2, 22))
        r = row(sessions, v2.id, "a", "once")
        assert (r.status, r.due_on, r.opens_on) == (OPEN, date(2024, 2, 29), date(2024, 2, 1))
        run(v2, sessions, date(2024, 2, 29), date(2024, 3, 1))
        assert [e for e in effects(sessions) if e[3] in ("due", "overdue")] == [
            ("21/02/2024", "a", "once", "overdue"), ("29/02/2024", "a", "once", "due"),
            ("01/03/2024", "a", "once", "overdue")]

    def test_editing_twice_to_the_same_text_is_one_edit(self, tmp_path):
        sessions = sessions_for(f"sqlite:///{tmp_path / 's.db'}")
        path = tmp_path / "thu.yaml"
        run(plan_at(path), sessions, date(2024, 2, 1))
        v2 = plan_at(path, STEPS.split("  - id: d")[0])
        run(v2, sessions, date(2024, 2, 2))
        run(load_plan(write_plan(path, STEPS.split("  - id: d")[0])), sessions, date(2024, 2, 3))
        assert [e[3] for e in effects(sessions) if e[1] == "d"] == []  # d had no rows: nothing to orphan
        assert count(sessions, OccurrenceRecord) == 1
