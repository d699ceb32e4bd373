"""Where this machine serves its plans: plan ids to files, and the server's state store.

`kehoach serve` and `kehoach run` write it; every command that names a plan by id, or is run from a folder that
has no store of its own, reads it - so a command pasted from a notice works from any folder of the machine that
serves the plan. It lives in KEHOACH_HOME (default ~/.kehoach) as `served.json`. A store URL that carries a
password is never written there: the registry then names the environment variable the server read it from.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

ENV_HOME = "KEHOACH_HOME"
FILE = "served.json"


def home() -> Path:
    return Path(os.environ.get(ENV_HOME) or Path.home() / ".kehoach")


def read() -> dict[str, Any]:
    """The registry, or an empty one when there is none or it cannot be read."""
    try:
        data = json.loads((home() / FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def record(plans: dict[str, Path], store_url: str, store_env: str | None) -> None:
    """Remember these plans (id -> file) and the store they run on; earlier plans of other ids are kept.

    Args:
        plans: plan ids and their files (made absolute).
        store_url: the store URL in use (absolute for a SQLite file).
        store_env: the environment variable the URL came from, if any: recorded instead of a URL with a
            password.

    A registry that cannot be written is left as it is: it only helps later commands find things.
    """
    from sqlalchemy.engine import make_url

    data = read()
    known = data.get("plans") if isinstance(data.get("plans"), dict) else {}
    # An entry of the same file under another id (from when file names made ids) is kept: a command pasted from
    # a notice sent then still finds the plan, whose history has moved to its id (engine.state.rekey).
    known.update({pid: str(Path(p).resolve()) for pid, p in plans.items()})
    try:
        has_password = make_url(store_url).password is not None
    except Exception:  # noqa: BLE001 - a URL SQLAlchemy cannot parse is not ours to record
        return
    store: dict[str, str] = {"env": store_env} if has_password and store_env else {} if has_password else {
        "url": store_url}
    data.update(plans=dict(sorted(known.items())), store=store)
    try:
        folder = home()
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile("w", dir=folder, prefix=".served-", delete=False,
                                         encoding="utf-8") as f:
            json.dump(data, f, ensure_ascii=False, indent=2)
        os.replace(f.name, folder / FILE)
    except OSError:
        return


def plan_file(plan_id: str) -> Path | None:
    """The file of a served plan, by id."""
    path = (read().get("plans") or {}).get(plan_id)
    return Path(path) if isinstance(path, str) and Path(path).is_file() else None


def plan_ids() -> list[str]:
    return sorted(read().get("plans") or {})


def store_url() -> str | None:
    """The URL of the store the server uses: the one recorded, or the value of the variable it named.

    Raises:
        LookupError: the server's URL came from an environment variable that is not set here.
    """
    store = read().get("store") or {}
    if store.get("url"):
        return str(store["url"])
    if store.get("env"):
        value = os.environ.get(store["env"])
        if not value:
            raise LookupError(store["env"])
        return value
    return None
