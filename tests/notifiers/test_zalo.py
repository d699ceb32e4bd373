"""zalo:// (notifiers/zalo.py) against a server on 127.0.0.1 that answers like the Zalo OA API."""

from __future__ import annotations

import logging
import os
import re
import sqlite3
import stat
from datetime import timedelta

import pytest
from apprise.common import NotifyFormat
from apprise.exception import AppriseImproperlyConfigured

from engine.state.models import DELIVERED, FAILED
from notifiers.channels import Channels, load_channels
from tests.notifiers.test_delivery import separate
from notifiers.delivery import deliver_outbox
from notifiers.masking import mask, url_secrets
from notifiers.zalo import NotifyZalo
from tests.conftest import SEED
from tests.notifiers.conftest import SEED_TAGS, at, closed_port, outbox, queue_notices, write_channels
from tests.notifiers.test_cli_notify import kehoach
from tests.notifiers.test_delivery import DAY1

USER_A, USER_B = "2468013579086420975", "7193850264173958026"
TITLE = "[28/KH-KHCN] Giao nhiệm vụ: quán triệt Đề án"
BODY = "Kính gửi: Văn phòng Sở\n\nHạn hoàn thành: 18/03/2022 (còn 2 ngày).\n"


def channels_with(tmp_path, text: str, name: str = "channels.txt") -> Channels:
    return load_channels(write_channels(tmp_path / name, text))


def send(channels: Channels, tag: str = "van-phong", body: str = BODY, title: str = TITLE) -> bool:
    (service,) = channels.for_tag(tag)
    return bool(service.apprise().notify(body=body, title=title, body_format=NotifyFormat.TEXT))


def token_file(tmp_path, name: str = "channels.txt"):
    return tmp_path / f"{name}.zalo-tokens.json"


class TestUrl:
    def test_the_url_round_trips_and_its_privacy_form_hides_every_credential(self, zalo):
        plugin = NotifyZalo(**NotifyZalo.parse_url(zalo.url(USER_A, USER_B)))
        again = NotifyZalo(**NotifyZalo.parse_url(plugin.url()))
        assert again.url() == plugin.url()
        assert (again.oa_id, again.targets, again.access_token) == (zalo.OA_ID, [USER_A, USER_B], zalo.access_token)
        private = plugin.url(privacy=True)
        assert private.startswith(f"zalo://****@{zalo.OA_ID}/{USER_A}/{USER_B}/?") and zalo.APP_ID in private
        credentials = {zalo.access_token, zalo.refresh_token, zalo.SECRET_KEY}
        assert not [c for c in credentials if c in private]
        assert credentials <= url_secrets(plugin.url(), private)  # what the channels file registers for masking

    def test_yaml_options_carry_the_refresh_credentials(self, tmp_path, zalo):
        base = f"http://127.0.0.1:{zalo.port}"
        ch = channels_with(tmp_path, f"""\
urls:
  - zalo://{zalo.OA_ID}/{USER_A}?api={base}&oauth={base}:
      - tag: van-phong
        refresh_token: {zalo.refresh_token}
        app_id: {zalo.APP_ID}
        secret_key: {zalo.SECRET_KEY}
""", name="channels.yaml")  # app_id unquoted: YAML reads a number
        (service,) = ch.for_tag("van-phong")
        plugin = service.plugin
        assert (plugin.refresh_token, plugin.zalo_app_id, plugin.secret_key) == (
            zalo.refresh_token, zalo.APP_ID, zalo.SECRET_KEY)
        assert plugin.access_token is None and send(ch)  # the first access token is fetched

    @pytest.mark.parametrize("url, reason", [
        ("zalo://tok12345@579745863508352884", "chưa có mã người nhận"),
        ("zalo://tok12345@579745863508352884/84abc/8412", "mã người dùng Zalo không hợp lệ: 84abc (chỉ gồm chữ số)"),
        ("zalo://tok12345@van-phong/8412", "mã Official Account (OA) không hợp lệ ('van-phong')"),
        ("zalo://579745863508352884/8412", "cần access token, hoặc refresh_token cùng app_id và secret_key"),
        ("zalo://tok12345@579745863508352884/8412?refresh_token=r1234&app_id=1", "làm mới access token cần thêm secret_key"),
        ("zalo://tok12345@579745863508352884/8412?api=openapi.zalo.me", "không phải openapi.zalo.me"),
    ])
    def test_configuration_errors_raise(self, url, reason):
        with pytest.raises(AppriseImproperlyConfigured, match=re.escape(reason)):
            NotifyZalo(**NotifyZalo.parse_url(url))

    def test_query_credentials_are_masked_in_any_text(self):
        text = "zalo://1234/8412?refresh_token=Rt-abc123&secret_key=Sk-def456&app_id=99&access_token=At-xyz"
        assert mask(text) == "zalo://1234/8412?refresh_token=***&secret_key=***&app_id=99&access_token=***"


class TestSending:
    def test_a_message_arrives_with_the_token_header_and_json(self, tmp_path, zalo):
        ch = channels_with(tmp_path, f"van-phong={zalo.url(USER_A, USER_B)}\n")
        assert send(ch)
        text = f"{TITLE}\n{BODY.rstrip()}"  # the subject is the first line; Zalo has no title
        assert zalo.messages == [(zalo.access_token, {"recipient": {"user_id": user}, "message": {"text": text}})
                                 for user in (USER_A, USER_B)]
        assert zalo.refreshes == []

    def test_a_long_message_arrives_split_at_line_breaks_in_order(self, tmp_path, zalo):
        lines = [f"Dòng {i:02d}: đơn vị báo cáo kết quả thực hiện nhiệm vụ quán triệt, triển khai Đề án."
                 for i in range(60)]
        body = "\n".join(lines)
        assert len(body) > 2 * 2000
        ch = channels_with(tmp_path, f"van-phong={zalo.url(USER_A)}\n")
        assert send(ch, body=body)
        texts = zalo.texts()
        assert len(texts) == 3 and all(len(t) <= 2000 for t in texts)
        assert "\n".join(texts) == f"{TITLE}\n{body}"  # nothing lost, nothing reordered
        assert all(set(t.split("\n")) <= {TITLE, *lines} for t in texts)  # cut only at line breaks


class TestRefresh:
    @pytest.mark.parametrize("code", [-216, -220])
    def test_an_expired_token_is_refreshed_once_and_the_message_resent(self, tmp_path, zalo, code):
        ch = channels_with(tmp_path, f"van-phong={zalo.url(USER_A)}\n")
        old_access, old_refresh = zalo.access_token, zalo.refresh_token
        zalo.expired = code
        assert send(ch)
        assert [token for token, _ in zalo.messages] == [old_access, zalo.access_token]
        ((headers, form),) = zalo.refreshes
        assert form == {"app_id": zalo.APP_ID, "grant_type": "refresh_token", "refresh_token": old_refresh}
        assert headers["secret_key"] == zalo.SECRET_KEY
        assert headers["Content-Type"] == "application/x-www-form-urlencoded"
        assert zalo.texts() == [f"{TITLE}\n{BODY.rstrip()}"]

    def test_refreshed_tokens_are_kept_beside_the_channels_file_for_the_next_delivery(self, tmp_path, zalo):
        path = write_channels(tmp_path / "channels.txt", f"van-phong={zalo.url(USER_A)}\n")
        zalo.expired = -220
        assert send(load_channels(path))
        kept = token_file(tmp_path)
        assert stat.S_IMODE(os.stat(kept).st_mode) == 0o600
        assert zalo.access_token in kept.read_text() and zalo.refresh_token in kept.read_text()
        assert send(load_channels(path))  # a later delivery starts with the refreshed token
        assert zalo.messages[-1][0] == zalo.access_token and len(zalo.refreshes) == 1
        zalo.expired = -216
        assert send(load_channels(path))  # ... and refreshes with the refresh token it was given last
        assert len(zalo.refreshes) == 2 and len(zalo.texts()) == 3

    def test_a_refresh_token_written_anew_in_the_channels_file_wins_over_the_kept_one(self, tmp_path, zalo):
        path = write_channels(tmp_path / "channels.txt", f"van-phong={zalo.url(USER_A)}\n")
        zalo.expired = -216
        assert send(load_channels(path)) and token_file(tmp_path).exists()
        zalo.access_token, zalo.refresh_token = zalo._issue()  # the office authorises the app again
        write_channels(path, f"van-phong={zalo.url(USER_A)}\n")
        assert send(load_channels(path))
        assert zalo.messages[-1][0] == zalo.access_token and len(zalo.refreshes) == 1

    def test_an_unreadable_token_file_is_a_failure_and_is_left_alone(self, tmp_path, zalo, caplog):
        ch = channels_with(tmp_path, f"van-phong={zalo.url(USER_A)}\n")
        token_file(tmp_path).write_text("{not json", encoding="utf-8")
        caplog.set_level(logging.WARNING)
        assert not send(ch) and zalo.messages == [] and zalo.refreshes == []
        assert f"tệp token Zalo {token_file(tmp_path)} không phải là một đối tượng JSON: sửa hoặc xóa tệp" in caplog.text
        assert token_file(tmp_path).read_text(encoding="utf-8") == "{not json"

    def test_a_channel_with_only_a_refresh_token_fetches_its_first_access_token(self, tmp_path, zalo):
        assert send(channels_with(tmp_path, f"van-phong={zalo.url(USER_A, access=False)}\n"))
        assert len(zalo.refreshes) == 1 and zalo.messages == [(zalo.access_token, zalo.accepted[0])]

    def test_a_refused_refresh_fails_with_zalos_reason_and_is_not_repeated(self, tmp_path, zalo, caplog):
        url = zalo.url(USER_A, USER_B).replace(zalo.SECRET_KEY, "zWrongSecret-0000")
        zalo.expired = -216
        caplog.set_level(logging.WARNING)
        assert not send(channels_with(tmp_path, f"van-phong={url}\n"))
        assert len(zalo.refreshes) == 2 and len(zalo.messages) == 2  # once per user: no loop
        assert ("Failed to refresh the Zalo access token: Refresh token is invalid or has been used "
                "(error=-14014)") in caplog.text
        assert not token_file(tmp_path).exists()

    def test_notices_in_flight_at_once_refresh_the_token_once(self, tmp_path, sessions, zalo):
        queue_notices(sessions, 24)
        zalo.expired = -216
        path = write_channels(tmp_path / "channels.txt", f"t={zalo.url(USER_A)}\n")
        report = deliver_outbox(sessions, at(DAY1), path, concurrency=8, plans=separate)  # 24 messages at once
        assert (report.delivered, report.failed) == (24, 0)
        assert len(zalo.refreshes) == 1 and len(zalo.texts()) == 24

    def test_a_token_another_delivery_refreshed_is_taken_not_refreshed_again(self, tmp_path, zalo):
        path = write_channels(tmp_path / "channels.txt", f"van-phong={zalo.url(USER_A)}\n")
        this, other = load_channels(path), load_channels(path)  # two processes
        assert send(this)  # this one holds the first access token
        zalo.expired = -216
        assert send(other) and len(zalo.refreshes) == 1  # the other refreshes, spending the refresh token
        assert send(this)  # rejected, then takes the other's tokens from the file
        assert len(zalo.refreshes) == 1 and [t for t, _ in zalo.messages[-2:]] == [zalo.messages[0][0],
                                                                                    zalo.access_token]


class TestOutbox:
    def test_a_refused_notice_is_recorded_and_retried_like_any_other(self, tmp_path, sessions, tick_days, zalo):
        tick_days(DAY1)
        path = write_channels(tmp_path / "channels.txt",
                              {"van-phong": zalo.url(USER_A), "toan-so": zalo.url(USER_B)})
        zalo.refusal = (-230, "User has not interacted with the OA in the past 7 days")
        first = deliver_outbox(sessions, at(DAY1), path)
        assert (first.failed, first.delivered) == (3, 0)  # 3 notices, in one message per tag
        rows = outbox(sessions)
        assert {r.status for r in rows} == {FAILED} and {r.attempts for r in rows} == {1}
        assert all(f"Zalo zalo://****@{zalo.OA_ID}/" in r.last_error
                   and "User has not interacted with the OA in the past 7 days (error=-230)" in r.last_error
                   for r in rows)
        zalo.refusal = None
        assert deliver_outbox(sessions, at(DAY1, 7, 35), path).outcomes == []  # the retry is not due yet
        second = deliver_outbox(sessions, at(DAY1) + timedelta(minutes=10), path)
        assert second.delivered == 3
        assert {(r.status, r.attempts) for r in outbox(sessions)} == {(DELIVERED, 2)}
        assert sorted(b["recipient"]["user_id"] for b in zalo.accepted) == [USER_A, USER_B]
        assert all(t.startswith("[28/KH-KHCN] ") for t in zalo.texts())

    def test_tokens_appear_nowhere(self, tmp_path, db_url, sessions, tick_days, zalo, capsys, caplog, monkeypatch):
        old_access, old_refresh = zalo.access_token, zalo.refresh_token
        monkeypatch.setenv("ZALO_REFRESH", old_refresh)
        down = zalo.url(USER_B).replace(f"127.0.0.1:{zalo.port}", f"127.0.0.1:{closed_port()}")
        path = write_channels(tmp_path / "channels.yaml", f"""\
urls:
  - {zalo.url(USER_A, refresh=False)}:
      - tag: van-phong
        refresh_token: ${{ZALO_REFRESH}}
        app_id: "{zalo.APP_ID}"
        secret_key: {zalo.SECRET_KEY}
  - {down}:
      - tag: toan-so
""")
        caplog.set_level(logging.DEBUG)  # the most Apprise and requests ever say
        tick_days(DAY1)
        zalo.expired = -216
        first = deliver_outbox(sessions, at(DAY1), path)
        assert (first.delivered, first.failed, len(zalo.refreshes)) == (1, 2, 1)  # refreshed; one channel down
        later = deliver_outbox(sessions, at(DAY1, 9), path)
        texts = [first.markdown(), first.summary(), later.markdown(), *(o.error or "" for o in first.outcomes)]
        out = err = ""
        for args in (["channels", "check", "--channels", path, SEED], ["outbox", "--db", db_url],
                     ["outbox", "--failed", "--format", "json", "--db", db_url],
                     ["deliver", "--channels", path, "--db", db_url, "--at", "17/03/2022"]):
            _, more_out, more_err = kehoach(capsys, *args)
            out, err = out + more_out, err + more_err
        dump = "\n".join(sqlite3.connect(db_url.split("///", 1)[1]).iterdump())
        assert f"zalo://****@{zalo.OA_ID}/{USER_A}" in out and "Connection" in dump  # shown, masked
        assert zalo.access_token in token_file(tmp_path, "channels.yaml").read_text()  # (kept where it belongs)
        for secret in (old_access, old_refresh, zalo.access_token, zalo.refresh_token, zalo.SECRET_KEY):
            for where, text in (("logs", caplog.text), ("CLI output", out + err), ("outbox", dump),
                                ("artifacts", "\n".join(texts))):
                assert secret not in text, f"{secret!r} found in the {where}"


class TestChannelsCheck:
    def test_a_zalo_target_is_shown_masked(self, tmp_path, capsys, zalo, monkeypatch):
        monkeypatch.setenv("ZALO_TOKEN", zalo.access_token)
        lines = {t: f"json://127.0.0.1:9/{t}" for t in SEED_TAGS if t != "van-phong"}
        lines["van-phong"] = zalo.url(USER_A, USER_B).replace(zalo.access_token, "${ZALO_TOKEN}")
        path = write_channels(tmp_path / "c.txt", lines)
        code, out, err = kehoach(capsys, "channels", "check", "--channels", path, SEED)
        assert code == 0, out + err
        block = out.split("Nhãn van-phong:")[1].split("\n\n")[0]
        assert f"Zalo: zalo://****@{zalo.OA_ID}/{USER_A}/{USER_B}\n" in block
        for secret in (zalo.access_token, zalo.refresh_token, zalo.SECRET_KEY):
            assert secret not in out + err
