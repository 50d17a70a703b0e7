"""A scored example month with an account per role, for the web tests (built once, copied per test)."""

from __future__ import annotations

import contextlib
import re
import shutil
import socket
import threading
import time
from pathlib import Path

from kpi.web import demo

PERIOD = demo.PERIOD
PASSWORD = demo.PASSWORD
OWN = "KF1001"          # the agent signed in (售前一组)
SAME_TEAM = "KF1002"    # another agent of 售前一组
OTHER_TEAM = "KF1014"   # an agent of 售前二组
MISSING = "KF9999"      # no such agent
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')

_TEMPLATE: dict[str, Path] = {}


def world(folder: Path, template_dir: Path) -> demo.Demo:
    """A copy of the demo ledger in ``folder`` (the demo is loaded once into ``template_dir``)."""
    if "db" not in _TEMPLATE:
        loaded = demo.load(template_dir)
        _TEMPLATE["db"], _TEMPLATE["today"] = loaded.db_path, loaded.today
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / "kpi.db"
    shutil.copyfile(_TEMPLATE["db"], target)
    return demo.Demo(target, PERIOD, [], 25, _TEMPLATE["today"])


def csrf_of(html: str) -> str:
    found = CSRF.search(html)
    assert found, "no csrf_token in the page"
    return found.group(1)


def login(client, name: str, password: str = PASSWORD):
    """Sign ``client`` in as ``name``; returns the login response (303 when it worked)."""
    token = csrf_of(client.get("/login").text)
    return client.post("/login", data={"username": name, "password": password, "csrf_token": token},
                       follow_redirects=False)


def token(client, path: str = "/months") -> str:
    """A CSRF token valid for ``client`` (read from a page it may see)."""
    return csrf_of(client.get(path).text)


@contextlib.contextmanager
def served(app):
    """``app`` behind a real uvicorn on 127.0.0.1, as a browser reaches it; yields its base URL.
    (Starlette's test client decodes a path twice: ``KF%252F1`` would arrive as ``KF/1``.)"""
    import uvicorn

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    running = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=running.run, daemon=True)
    thread.start()
    for _ in range(200):
        if running.started:
            break
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        running.should_exit = True
        thread.join(timeout=10)
