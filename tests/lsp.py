"""A small Language Server Protocol client that drives yaml-language-server over stdio, as an editor does.

The server is npm's `yaml-language-server`: KEHOACH_YAML_LANGUAGE_SERVER (the path of its `bin` script) when
set, else the copy that `npm ci --prefix tests/editor` installs under tests/editor/node_modules (`.ci/run` does
it; `server_command` below does it too on a machine with npm and none installed yet).
Every wait is bounded: a reader thread queues the server's messages, and callers wait on a queue with a timeout.
"""

from __future__ import annotations

import json
import os
import queue
import re
import shutil
import subprocess
import threading
from pathlib import Path
from typing import Any

EDITOR_DIR = Path(__file__).resolve().parent / "editor"
ENV_SERVER = "KEHOACH_YAML_LANGUAGE_SERVER"
LOCAL_SERVER = EDITOR_DIR / "node_modules" / "yaml-language-server" / "bin" / "yaml-language-server"
TIMEOUT = 20.0

# The settings VS Code's YAML extension sends, minus what would reach the network (the schema store).
SETTINGS = {
    "yaml": {
        "validate": True,
        "hover": True,
        "completion": True,
        "format": {"enable": False},
        "schemaStore": {"enable": False},
        "yamlVersion": "1.2",
        "maxItemsComputed": 5000,
        "suggest": {"parentSkeletonSelectedFirst": False},
    },
}


class ServerUnavailable(RuntimeError):
    """Raised when the server could not be installed (the editor tests fail, saying why)."""


class NodeMissing(ServerUnavailable):
    """Raised when node or npm is not installed (the editor tests skip)."""


def server_command() -> list[str]:
    """`node <bin>` of the server to test, installing the pinned one with npm when it is not there yet.

    Raises:
        NodeMissing: node (or npm, when the server is not installed yet) is not on the machine.
        ServerUnavailable: `npm ci` failed (the message says why).
    """
    node = shutil.which("node")
    if node is None:
        raise NodeMissing("node is not installed: the editor tests drive yaml-language-server (npm)")
    given = os.environ.get(ENV_SERVER)
    if given:
        return [node, given]
    if not LOCAL_SERVER.exists():
        npm = shutil.which("npm")
        if npm is None:
            raise NodeMissing("npm is not installed: cannot install yaml-language-server for the editor "
                              "tests")
        done = subprocess.run([npm, "ci", "--prefix", str(EDITOR_DIR), "--no-audit", "--no-fund"],
                              capture_output=True, text=True, timeout=300)
        if done.returncode != 0 or not LOCAL_SERVER.exists():
            tail = (done.stderr or done.stdout).strip().splitlines()[-3:]
            raise ServerUnavailable(f"`npm ci --prefix {EDITOR_DIR}` failed: {' / '.join(tail)}")
    return [node, str(LOCAL_SERVER)]


class LanguageServer:
    """One server process; requests and notifications as an editor sends them, with bounded waits."""

    def __init__(self, command: list[str], root: Path, settings: dict[str, Any] = SETTINGS) -> None:
        self.settings = settings
        self.proc = subprocess.Popen([*command, "--stdio"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.DEVNULL)
        self._ids = iter(range(1, 1_000_000))
        self._responses: dict[int, queue.Queue[dict[str, Any]]] = {}
        self._diagnostics: dict[str, queue.Queue[list[dict[str, Any]]]] = {}
        self._lock = threading.Lock()
        self._write_lock = threading.Lock()
        self._versions: dict[str, int] = {}
        self._configured = threading.Event()
        threading.Thread(target=self._read, daemon=True).start()
        self.request("initialize", {
            "processId": os.getpid(),
            "rootUri": root.as_uri(),
            "workspaceFolders": [{"uri": root.as_uri(), "name": root.name}],
            "capabilities": {
                "workspace": {"configuration": True, "didChangeConfiguration": {"dynamicRegistration": True}},
                "textDocument": {
                    "synchronization": {"didSave": True},
                    "completion": {"completionItem": {"snippetSupport": True,
                                                      "documentationFormat": ["markdown", "plaintext"]}},
                    "hover": {"contentFormat": ["markdown", "plaintext"]},
                    "publishDiagnostics": {"relatedInformation": True},
                },
            },
            "initializationOptions": {},
        })
        self.notify("initialized", {})
        self.notify("workspace/didChangeConfiguration", {"settings": settings})
        # The server pulls the settings, then revalidates every open document: done before any is opened, so
        # each open or change is answered by exactly one publication of diagnostics.
        if not self._configured.wait(TIMEOUT):
            raise TimeoutError(f"the server did not ask for its settings within {TIMEOUT} s")

    # -- protocol -------------------------------------------------------------------------------------------

    def _send(self, message: dict[str, Any]) -> None:
        body = json.dumps({"jsonrpc": "2.0", **message}).encode()
        with self._write_lock:
            assert self.proc.stdin is not None
            self.proc.stdin.write(b"Content-Length: %d\r\n\r\n" % len(body) + body)
            self.proc.stdin.flush()

    def _read(self) -> None:
        out = self.proc.stdout
        assert out is not None
        while True:
            length = 0
            while (line := out.readline()) not in (b"\r\n", b""):
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":")[1])
            if not line:
                return
            self._dispatch(json.loads(out.read(length)))

    def _dispatch(self, msg: dict[str, Any]) -> None:
        if "id" in msg and "method" in msg:  # a request from the server
            result: Any = None
            if msg["method"] == "workspace/configuration":
                result = [self.settings.get(item.get("section", ""), {}) for item in msg["params"]["items"]]
            self._send({"id": msg["id"], "result": result})
            if msg["method"] == "workspace/configuration":
                self._configured.set()
        elif "id" in msg:
            self._queue(self._responses, msg["id"]).put(msg)
        elif msg.get("method") == "textDocument/publishDiagnostics":
            self._queue(self._diagnostics, msg["params"]["uri"]).put(msg["params"]["diagnostics"])

    def _queue(self, table: dict[Any, queue.Queue[Any]], key: Any) -> queue.Queue[Any]:
        with self._lock:
            return table.setdefault(key, queue.Queue())

    def request(self, method: str, params: Any, timeout: float = TIMEOUT) -> Any:
        msg_id = next(self._ids)
        waiting = self._queue(self._responses, msg_id)
        self._send({"id": msg_id, "method": method, "params": params})
        try:
            answer = waiting.get(timeout=timeout)
        except queue.Empty:
            raise TimeoutError(f"no answer to {method} within {timeout} s") from None
        if "error" in answer:
            raise RuntimeError(f"{method}: {answer['error']}")
        return answer.get("result")

    def notify(self, method: str, params: Any) -> None:
        self._send({"method": method, "params": params})

    def close(self) -> None:
        try:
            self.request("shutdown", None, timeout=5)
            self.notify("exit", None)
            self.proc.wait(timeout=5)
        except (TimeoutError, OSError, subprocess.TimeoutExpired):
            self.proc.kill()
            self.proc.wait()

    # -- documents ------------------------------------------------------------------------------------------

    def open(self, path: Path, text: str) -> str:
        """Open `text` as the document at `path` (the file need not exist; its folder holds the schemas)."""
        uri = path.resolve().as_uri()
        self._versions[uri] = 1
        self.notify("textDocument/didOpen",
                    {"textDocument": {"uri": uri, "languageId": "yaml", "version": 1, "text": text}})
        return uri

    def change(self, uri: str, text: str) -> None:
        """Replace the document's text, as an editor does after a keystroke (full sync)."""
        self._versions[uri] += 1
        self.notify("textDocument/didChange", {"textDocument": {"uri": uri, "version": self._versions[uri]},
                                               "contentChanges": [{"text": text}]})

    def close_document(self, uri: str) -> None:
        self.notify("textDocument/didClose", {"textDocument": {"uri": uri}})

    def diagnostics(self, uri: str, timeout: float = TIMEOUT) -> list[dict[str, Any]]:
        """The next diagnostics the server publishes for `uri` (after the last open or change)."""
        try:
            return self._queue(self._diagnostics, uri).get(timeout=timeout)
        except queue.Empty:
            raise TimeoutError(f"no diagnostics for {uri} within {timeout} s") from None

    def hover(self, uri: str, line: int, character: int) -> str:
        """The hover text (Markdown) at a 0-based position, '' when there is none."""
        result = self.request("textDocument/hover", _at(uri, line, character))
        if not result:
            return ""
        contents = result["contents"]
        return contents["value"] if isinstance(contents, dict) else str(contents)

    def completion(self, uri: str, line: int, character: int) -> list[dict[str, Any]]:
        result = self.request("textDocument/completion", _at(uri, line, character))
        return (result or {}).get("items", []) if isinstance(result, dict) else (result or [])


def _at(uri: str, line: int, character: int) -> dict[str, Any]:
    return {"textDocument": {"uri": uri}, "position": {"line": line, "character": character}}


# ${1:text} (text holds no `${`: nested placeholders go innermost first), ${1|a,b|}, $1
_PLACEHOLDER = re.compile(
    r"(?<!\\)(?:\$\{(\d+)(?::((?:[^}\\$]|\\.|\$(?!\{))*))?\}|\$\{(\d+)\|([^|]*)\|\}|\$(\d+))")


def expand_snippet(snippet: str) -> str:
    """The text an editor leaves when a snippet is accepted and every placeholder keeps its default.

    `${1:text}` gives text, `${1|a,b|}` its first choice, `$1` and `$0` nothing.
    """
    def value(m: re.Match[str]) -> str:
        if m.group(4) is not None:
            return m.group(4).split(",")[0]
        return m.group(2) or ""

    previous = None
    while previous != snippet:  # placeholders may nest: ${1:${2:x}}
        previous, snippet = snippet, _PLACEHOLDER.sub(value, snippet)
    return snippet.replace("\\$", "$").replace("\\}", "}")


def apply_completion(text: str, item: dict[str, Any], line: int, character: int) -> str:
    """`text` after accepting `item` at (line, character): its textEdit, else its insertText at the cursor."""
    lines = text.splitlines(keepends=True)

    def offset(pos: dict[str, int]) -> int:
        return sum(len(x) for x in lines[: pos["line"]]) + pos["character"]

    new = item.get("insertText", item["label"])
    edit = item.get("textEdit")
    if edit:
        rng = edit.get("range") or edit.get("replace")
        start, end, new = offset(rng["start"]), offset(rng["end"]), edit["newText"]
    else:  # the client replaces the word before the cursor (VS Code's default word: letters, digits, '_')
        end = offset({"line": line, "character": character})
        start = end - len(re.search(r"\w*$", text[:end]).group(0))
    if item.get("insertTextFormat") == 2:
        new = expand_snippet(new)
    if item.get("insertTextMode", 2) == 2:  # adjustIndentation (VS Code): later lines get the line's indent
        line_start = text.rfind("\n", 0, start) + 1
        indent = re.match(r"[ \t]*", text[line_start:start]).group(0)
        new = new.replace("\n", "\n" + indent)
    return text[:start] + new + text[end:]
