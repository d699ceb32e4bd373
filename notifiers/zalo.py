"""Apprise notification service for a Zalo Official Account (OA): `zalo://` sends customer-service text messages.

    zalo://{access_token}@{oa_id}/{user_id}/{user_id}...?refresh_token=...&app_id=...&secret_key=...
    zalo://{oa_id}/{user_id}...?refresh_token=...&app_id=...&secret_key=...   (the first access token is fetched)

Zalo OA API v3: `POST {api}/v3.0/oa/message/cs` with an `access_token` header and
`{"recipient": {"user_id": ...}, "message": {"text": ...}}`; the answer is `{"error": 0, "message": "Success"}`, any
other `error` is a failure. Text is limited to 2,000 characters, so longer notices go in pieces cut at line breaks.
Access tokens live 25 hours; given a refresh token and the app's id and secret key, an answer saying the token is
invalid or expired leads to one refresh (`POST {oauth}/v4/oa/access_token`, form-encoded, `secret_key` header) and
one resend. Refresh tokens are single-use, so the new pair is kept in a TokenStore when kehoach gives one (see
notifiers/zalo_tokens.py), else in memory.
Sources: docs.zaloplatforms.com/docs/OA/tin-nhan/tin-tu-van/gui-tin-tu-van-dang-van-ban (message, 2,000
characters), .../OA/bat-dau/xac-thuc-va-uy-quyen-cho-ung-dung-new (refresh), .../OA/phu-luc/ma-loi (error codes).
"""

from __future__ import annotations

import threading
from contextlib import nullcontext
from typing import Any

import requests
from apprise.common import NotifyFormat, NotifyType, OverflowMode
from apprise.exception import AppriseImproperlyConfigured
from apprise.locale import gettext_lazy as _
from apprise.plugins.base import NotifyBase
from apprise.url import PrivacyMode
from apprise.utils.parse import parse_list, validate_regex

from notifiers import masking
from notifiers.zalo_tokens import Tokens, TokenStore, TokenStoreError, fingerprint

API_URL = "https://openapi.zalo.me"
OAUTH_URL = "https://oauth.zaloapp.com"
MESSAGE_PATH = "/v3.0/oa/message/cs"
TOKEN_PATH = "/v4/oa/access_token"
TEXT_LIMIT = 2000
# Zalo's error table (OA/phu-luc/ma-loi): -216 "Access token is invalid", -220 "access_token is expired or removed".
TOKEN_ERRORS = frozenset({-216, -220})
ID = r"^[0-9]{1,32}$"

_refreshing = threading.Lock()  # one refresh at a time in this process; the store's file lock covers the others


class NotifyZalo(NotifyBase):
    """Text messages from a Zalo Official Account to the users who follow it."""

    service_name = _("Zalo")
    service_url = "https://oa.zalo.me/"
    secure_protocol = "zalo"
    setup_url = "https://developers.zalo.me/"
    notify_format = NotifyFormat.TEXT
    title_maxlen = 0  # the subject becomes the first line of the text
    body_maxlen = TEXT_LIMIT
    overflow_mode = OverflowMode.SPLIT  # Apprise cuts at line breaks first, and sends the pieces in order
    request_rate_per_sec = 0.015  # the OA API takes 4,000 calls a minute

    templates = (
        "{schema}://{access_token}@{oa_id}/{targets}",
        "{schema}://{oa_id}/{targets}",
    )
    template_tokens = dict(NotifyBase.template_tokens, **{
        "access_token": {"name": _("Access Token"), "type": "string", "private": True},
        "oa_id": {"name": _("Official Account ID"), "type": "string", "regex": (ID, ""), "required": True},
        "target_user": {"name": _("Target User ID"), "type": "string", "regex": (ID, ""), "map_to": "targets"},
        "targets": {"name": _("Targets"), "type": "list:string", "required": True},
    })
    template_args = dict(NotifyBase.template_args, **{
        "to": {"alias_of": "targets"},
        "token": {"alias_of": "access_token"},
        "refresh_token": {"name": _("Refresh Token"), "type": "string", "private": True},
        "app_id": {"name": _("App ID"), "type": "string", "regex": (ID, "")},
        "secret_key": {"name": _("App Secret Key"), "type": "string", "private": True},
        "api": {"name": _("API Base URL"), "type": "string", "default": API_URL},
        "oauth": {"name": _("OAuth Base URL"), "type": "string", "default": OAUTH_URL},
    })

    def __init__(self, oa_id: str, targets: Any = None, access_token: str | None = None,
                 refresh_token: str | None = None, app_id: str | None = None, secret_key: str | None = None,
                 api: str | None = None, oauth: str | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.oa_id = validate_regex(oa_id, ID)
        if not self.oa_id:
            raise self._improper(f"mã Official Account (OA) không hợp lệ ({oa_id!r}): chỉ gồm chữ số")
        self.targets = parse_list(targets)
        if not self.targets:
            raise self._improper("chưa có mã người nhận (zalo://.../{oa_id}/{user_id})")
        wrong = [t for t in self.targets if not validate_regex(t, ID)]
        if wrong:
            raise self._improper(f"mã người dùng Zalo không hợp lệ: {', '.join(wrong)} (chỉ gồm chữ số)")
        # YAML options may arrive as numbers (app_id: 2345678901234567890).
        self.access_token, self.refresh_token, self.secret_key = (
            str(v) if v else None for v in (access_token, refresh_token, secret_key))
        self.zalo_app_id = str(app_id) if app_id else None  # Apprise's own `app_id` names the sending program
        refresh = {"refresh_token": self.refresh_token, "app_id": self.zalo_app_id, "secret_key": self.secret_key}
        if any(refresh.values()):
            missing = [name for name, value in refresh.items() if not value]
            if missing:
                raise self._improper(f"làm mới access token cần thêm {', '.join(missing)}")
        elif not self.access_token:
            raise self._improper("cần access token, hoặc refresh_token cùng app_id và secret_key")
        self.api = (api or API_URL).rstrip("/")
        self.oauth = (oauth or OAUTH_URL).rstrip("/")
        wrong = [url for url in (self.api, self.oauth) if not url.startswith(("https://", "http://"))]
        if wrong:
            raise self._improper(f"api và oauth phải là địa chỉ http(s), không phải {', '.join(wrong)}")
        self.token_store: TokenStore | None = None  # set by notifiers.channels: where refreshed tokens are kept
        self._tokens: Tokens | None = None  # the tokens in use, once known

    def _improper(self, message: str) -> AppriseImproperlyConfigured:
        self.logger.warning(f"Zalo: {message}.")
        return AppriseImproperlyConfigured(message)

    @property
    def refreshable(self) -> bool:
        return self.refresh_token is not None

    @property
    def url_identifier(self) -> tuple[str, ...]:
        return (self.secure_protocol, self.oa_id, self.zalo_app_id or "")

    def __len__(self) -> int:
        return len(self.targets)

    def url(self, privacy: bool = False, *args: Any, **kwargs: Any) -> str:
        """The URL as configured (never a refreshed token, so the service keeps its identity across runs)."""
        params = {}
        if self.refreshable:
            params = {"refresh_token": self.pprint(self.refresh_token, privacy, mode=PrivacyMode.Secret, safe=""),
                      "app_id": self.zalo_app_id,
                      "secret_key": self.pprint(self.secret_key, privacy, mode=PrivacyMode.Secret, safe="")}
        params.update({k: v for k, v, default in (("api", self.api, API_URL), ("oauth", self.oauth, OAUTH_URL))
                       if v != default})
        params.update(self.url_parameters(*args, privacy=privacy, **kwargs))
        auth = ""
        if self.access_token:
            auth = self.pprint(self.access_token, privacy, mode=PrivacyMode.Secret, safe="") + "@"
        targets = "/".join(self.quote(t, safe="") for t in self.targets)
        return f"{self.secure_protocol}://{auth}{self.oa_id}/{targets}/?{self.urlencode(params)}"

    @staticmethod
    def parse_url(url: str) -> dict[str, Any] | None:
        results = NotifyBase.parse_url(url, verify_host=False)
        if not results:
            return results
        qsd = results["qsd"]
        results["oa_id"] = NotifyZalo.unquote(results["host"] or "")
        results["targets"] = NotifyZalo.split_path(results["fullpath"]) + parse_list(qsd.get("to", ""))
        token = qsd.get("token") or NotifyZalo.unquote(results["user"] or "")
        results["access_token"] = token or None
        for name in ("refresh_token", "app_id", "secret_key", "api", "oauth"):
            if qsd.get(name):
                results[name] = qsd[name]
        return results

    def send(self, body: str, title: str = "", notify_type: NotifyType = NotifyType.INFO, **kwargs: Any) -> bool:
        text = body.replace("\r\n", "\n")  # Apprise joins the subject to the body with CRLF
        return all([self._send_to(user_id, text) for user_id in self.targets])  # a list: every user is tried

    def _send_to(self, user_id: str, text: str) -> bool:
        try:
            token = self._access_token() or self._refresh(None)  # with only a refresh token, fetch the first one
            if token is None:
                return False  # the refresh has said why
            code, message = self._post_message(token, user_id, text)
            if code in TOKEN_ERRORS and self.refreshable:
                self.logger.info(f"Zalo rejected the access token (error={code}); refreshing it.")
                token = self._refresh(token)
                if token is None:
                    return False
                code, message = self._post_message(token, user_id, text)
        except TokenStoreError as exc:
            self.logger.warning(f"Failed to send Zalo notification to {user_id}: {exc}.")
            return False
        if code != 0:
            self.logger.warning(f"Failed to send Zalo notification to {user_id}: {message}"
                                f"{'' if code is None else f' (error={code})'}.")
            return False
        self.logger.info(f"Sent Zalo notification to {user_id}.")
        return True

    def _post_message(self, token: str, user_id: str, text: str) -> tuple[int | None, str]:
        """Zalo's error code (0 is success) and message; code None when no Zalo answer came back."""
        payload = {"recipient": {"user_id": user_id}, "message": {"text": text}}
        answer = self._post(self.api + MESSAGE_PATH, headers={"access_token": token}, json=payload)
        if isinstance(answer, str):
            return None, answer
        try:
            return int(answer.get("error")), str(answer.get("message") or "")
        except (TypeError, ValueError):
            return None, f"unexpected answer from Zalo: {str(answer)[:200]}"

    def _post(self, url: str, **request: Any) -> dict[str, Any] | str:
        """The JSON object Zalo answered, or why there is none."""
        self.throttle()
        try:
            r = requests.post(url, verify=self.verify_certificate, timeout=self.request_timeout,
                              allow_redirects=False, **request)
        except requests.RequestException as exc:
            self.logger.debug(f"Zalo connection error: {exc!s}")
            return f"connection error ({type(exc).__name__})"
        if r.status_code != requests.codes.ok:
            status = self.http_response_code_lookup(r.status_code)
            return f"HTTP {r.status_code}{' ' + status if status else ''}"
        try:
            answer = r.json()
        except ValueError:
            answer = None
        return answer if isinstance(answer, dict) else f"unexpected answer from Zalo: {r.text[:200]!r}"

    def _key(self) -> str:
        return f"{self.zalo_app_id}:{self.oa_id}"

    def _access_token(self) -> str | None:
        """The access token to use: the one kept after the last refresh, else the configured one."""
        if self._tokens is None:
            stored = None
            if self.token_store is not None and self.refreshable:
                stored = self.token_store.load(self._key(), fingerprint(self.refresh_token))
            self._use(stored or Tokens(self.access_token, self.refresh_token or ""))
        return self._tokens.access_token

    def _use(self, tokens: Tokens) -> None:
        masking.register([t for t in (tokens.access_token, tokens.refresh_token) if t])
        self._tokens = tokens

    def _refresh(self, rejected: str | None) -> str | None:
        """A new access token after `rejected` was refused (None: there was none); None when Zalo says no.

        Another delivery may have refreshed meanwhile: its tokens are taken rather than spending the refresh token
        it has already used up.
        """
        store = self.token_store
        with _refreshing, store.locked() if store is not None else nullcontext():
            if store is not None:
                stored = store.load(self._key(), fingerprint(self.refresh_token))
                if stored is not None:
                    self._use(stored)
            if self._tokens.access_token and self._tokens.access_token != rejected:
                return self._tokens.access_token
            form = {"app_id": self.zalo_app_id, "grant_type": "refresh_token",
                    "refresh_token": self._tokens.refresh_token}
            answer = self._post(self.oauth + TOKEN_PATH, headers={"secret_key": self.secret_key}, data=form)
            if isinstance(answer, str) or not answer.get("access_token") or not answer.get("refresh_token"):
                self.logger.warning(f"Failed to refresh the Zalo access token: {_oauth_reason(answer)}.")
                return None
            self._use(Tokens(str(answer["access_token"]), str(answer["refresh_token"])))
            if store is not None:
                store.save(self._key(), fingerprint(self.refresh_token), self._tokens)
            self.logger.info("Refreshed the Zalo access token.")
            return self._tokens.access_token


def _oauth_reason(answer: dict[str, Any] | str) -> str:
    """Zalo's words for a refused refresh: its OAuth answers carry error_description/error_reason, not message."""
    if isinstance(answer, str):
        return answer
    words = next((str(answer[k]) for k in ("error_description", "error_reason", "error_name", "message")
                  if answer.get(k)), "no new tokens in the answer")
    return f"{words} (error={answer['error']})" if "error" in answer else words


def register() -> None:
    """Make `zalo://` known to Apprise (once); notifiers.channels calls it before reading a channels file."""
    from apprise.manager_plugins import NotificationManager

    manager = NotificationManager()
    if NotifyZalo.secure_protocol not in manager:
        manager.add(NotifyZalo)
