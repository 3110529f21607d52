"""End-to-end fixtures: one JupyterLab 4 per session on 127.0.0.1, Debian's Chromium driven by Playwright.

JupyterLab runs with a temporary token, root dir, config, runtime, IPython, settings and workspace
directories, the news notification switched off, and `expose_app_in_browser` so a test can run cells
with `jupyterapp.commands.execute(...)` and read kernel values through the session's kernel.
Every page records the requests it makes; anything that is not localhost (or file:, blob:, data:) is
recorded and aborted, and tests assert that list is empty. On failure a screenshot, the browser
console log and the JupyterLab log are saved under test-artifacts/.
"""
from __future__ import annotations

import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from urllib.parse import urlparse

import pytest

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync"]
ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts"
LOCAL_HOSTS = {"127.0.0.1", "localhost", "::1", "[::1]"}
LOCAL_SCHEMES = {"file", "blob", "data", "about", "chrome-extension", "devtools"}

if not os.path.exists(CHROMIUM):
    pytest.skip(f"browser tests need Debian's Chromium at {CHROMIUM} (apt-get install chromium; .ci/run does "
                "this)", allow_module_level=True)
try:
    from playwright.sync_api import sync_playwright
except ImportError:  # pragma: no cover
    pytest.skip("browser tests need the playwright Python package (pip install -e '.[test]')",
                allow_module_level=True)


# ------------------------------------------------------------------ failure artifacts
@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    rep = outcome.get_result()
    setattr(item, "rep_" + rep.when, rep)


def _save_artifacts(request, page, log: list, lab=None):
    rep = getattr(request.node, "rep_call", None)
    if rep is None or not rep.failed:
        return
    ARTIFACTS.mkdir(exist_ok=True)
    stem = request.node.name.replace("/", "_").replace("[", "_").replace("]", "")
    try:
        page.screenshot(path=str(ARTIFACTS / f"{stem}.png"), full_page=True)
    except Exception as e:  # the page may be gone; the log still helps
        log.append(f"(screenshot failed: {e})")
    (ARTIFACTS / f"{stem}.console.txt").write_text("\n".join(log), encoding="utf-8")
    if lab is not None and lab.log_path.exists():
        shutil.copy(lab.log_path, ARTIFACTS / f"{stem}.jupyterlab.log")


# ------------------------------------------------------------------ JupyterLab
def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Lab:
    def __init__(self, base: Path):
        self.base = base
        self.root = base / "root"
        self.token = secrets.token_hex(16)
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = base / "jupyterlab.log"
        self.proc = None

    def env(self) -> dict:
        dirs = {name: self.base / name.lower() for name in
                ("JUPYTER_CONFIG_DIR", "JUPYTER_RUNTIME_DIR", "IPYTHONDIR", "JUPYTERLAB_SETTINGS_DIR",
                 "JUPYTERLAB_WORKSPACES_DIR")}
        for d in dirs.values():
            d.mkdir(parents=True, exist_ok=True)
        # no news, no update check: nothing for the page to fetch from outside
        notification = dirs["JUPYTERLAB_SETTINGS_DIR"] / "@jupyterlab" / "apputils-extension"
        notification.mkdir(parents=True, exist_ok=True)
        (notification / "notification.jupyterlab-settings").write_text(
            json.dumps({"fetchNews": "false", "checkForUpdates": False}))
        env = dict(os.environ)
        env.update({k: str(v) for k, v in dirs.items()})
        # the kernelspec runs `python`: make it this interpreter (the one with torch and nbdebug)
        env["PATH"] = os.path.dirname(sys.executable) + os.pathsep + env.get("PATH", "")
        env["PYTHONUNBUFFERED"] = "1"
        env["MPLBACKEND"] = "Agg"
        env["OMP_NUM_THREADS"] = "1"
        return env

    def start(self):
        self.root.mkdir(parents=True, exist_ok=True)
        cmd = [sys.executable, "-m", "jupyterlab", "--no-browser", "--allow-root", "--ip=127.0.0.1",
               f"--port={self.port}", "--port-retries=0", f"--IdentityProvider.token={self.token}",
               f"--ServerApp.root_dir={self.root}", "--LabApp.expose_app_in_browser=True",
               "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
               "--LabApp.news_url=None", "--LabApp.extension_manager=readonly",
               "--ServerApp.terminals_enabled=False"]
        self._log = open(self.log_path, "wb")
        self.proc = subprocess.Popen(cmd, env=self.env(), stdout=self._log, stderr=subprocess.STDOUT,
                                     cwd=str(self.root))
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"JupyterLab exited: {self.log_path.read_text(errors='replace')[-3000:]}")
            try:
                with urllib.request.urlopen(f"{self.url}/api/status?token={self.token}", timeout=2) as r:
                    if r.status == 200:
                        return self
            except OSError:
                time.sleep(0.5)
        raise RuntimeError(f"JupyterLab did not start: {self.log_path.read_text(errors='replace')[-3000:]}")

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        if getattr(self, "_log", None):
            self._log.close()

    def notebook(self, name: str, cells: list) -> str:
        """Write a notebook of code cells into the root dir; return its lab URL."""
        nb = {"cells": [{"cell_type": "code", "execution_count": None, "id": f"c{i}", "metadata": {},
                         "outputs": [], "source": src} for i, src in enumerate(cells)],
              "metadata": {"kernelspec": {"display_name": "Python 3 (ipykernel)", "language": "python",
                                          "name": "python3"},
                           "language_info": {"name": "python"}},
              "nbformat": 4, "nbformat_minor": 5}
        (self.root / name).write_text(json.dumps(nb), encoding="utf-8")
        return f"{self.url}/lab/tree/{name}?token={self.token}&reset"


@pytest.fixture(scope="session")
def lab(tmp_path_factory):
    server = Lab(tmp_path_factory.mktemp("lab"))
    try:
        yield server.start()
    finally:
        server.stop()


# ------------------------------------------------------------------ the browser
@pytest.fixture(scope="session")
def browser():
    pw = sync_playwright().start()
    b = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_FLAGS)
    try:
        yield b
    finally:
        b.close()
        pw.stop()


class Recorder:
    """What a page did: console lines, page errors, dialogs, and every request that left localhost."""

    def __init__(self):
        self.log: list = []
        self.external: list = []
        self.dialogs: list = []

    def is_local(self, url: str) -> bool:
        u = urlparse(url)
        return u.scheme in LOCAL_SCHEMES or (u.hostname or "") in LOCAL_HOSTS

    def route(self, route):
        url = route.request.url
        if self.is_local(url):
            route.continue_()
        else:
            self.external.append(url)
            route.abort()

    def request(self, request):
        if not self.is_local(request.url) and request.url not in self.external:
            self.external.append(request.url)

    def websocket(self, ws):
        if not self.is_local(ws.url):
            self.external.append(ws.url)

    def dialog(self, dialog):
        self.dialogs.append(f"{dialog.type}: {dialog.message}")
        dialog.dismiss()


@pytest.fixture
def recorded_page(request, browser):
    """(page, recorder) in a fresh browser context, with the artifacts saved on failure."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    rec = Recorder()
    context.route("**/*", rec.route)
    page = context.new_page()
    page.on("console", lambda m: rec.log.append(f"[{m.type}] {m.text}"))
    page.on("pageerror", lambda e: rec.log.append(f"[pageerror] {e}"))
    page.on("request", rec.request)
    page.on("websocket", rec.websocket)
    page.on("dialog", rec.dialog)
    yield page, rec
    lab = request.getfixturevalue("lab") if "lab" in request.fixturenames else None
    _save_artifacts(request, page, rec.log, lab)
    context.close()
