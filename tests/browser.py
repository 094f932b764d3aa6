"""Drive a real headless Chromium from tests (Playwright's Python API, Debian's chromium).

Playwright talks to the browser over the DevTools protocol; it is only a driver here: the
browser is the system's ``chromium`` (``apt-get install chromium``), never a downloaded build
(no ``playwright install``).  Each :func:`launch` starts a fresh browser with a fresh, temporary
profile directory that is deleted on close.

Typical use::

    from browser import launch, require_chromium

    def test_page(tmp_path):
        require_chromium()                         # skip locally, fail in CI, if absent
        with launch() as browser:
            page = browser.open(html_path)         # Path, file:// or http://127.0.0.1 URL
            assert page.errors == []               # console errors, page errors, failed loads
            assert page.evaluate("document.querySelectorAll('svg').length") > 0
            page.wait_for("() => document.readyState === 'complete'", timeout_s=5)
            page.screenshot(artifacts_dir / "page.png")
            assert page.foreign_requests() == []   # only file: / data: (self-contained)

For media served over HTTP, :func:`serve_dir` runs a threaded static server on 127.0.0.1 (with
byte-range support, which ``<video>`` uses to seek) for the duration of a ``with`` block.

Everything a page did is kept on the :class:`Page`: ``console`` (all messages), ``console_errors``,
``page_errors`` (uncaught exceptions), ``requests`` (every URL requested) and
``failed_requests``.
"""

from __future__ import annotations

import functools
import http.server
import os
import shutil
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

#: Flags for Chromium running as root in a container: no sandbox, no GPU, no background
#: traffic (component updates, sync, QUIC probes, first-run pages).
CHROMIUM_ARGS: tuple[str, ...] = (
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--autoplay-policy=no-user-gesture-required",
)
#: URL schemes a self-contained local page may load from.
LOCAL_SCHEMES: tuple[str, ...] = ("file:", "data:", "blob:", "about:")


def chromium_path() -> str | None:
    """Path of the system Chromium (``$FORMCHECK_CHROMIUM`` wins), or None if not installed."""
    env = os.environ.get("FORMCHECK_CHROMIUM")
    if env:
        return env if Path(env).is_file() else None
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        p = shutil.which(name)
        if p:
            return p
    return None


def require_chromium() -> str:
    """Return the Chromium path; skip the test if it (or Playwright) is missing locally,
    fail it in CI (``CI`` set), where the browser tests must run."""
    missing = []
    path = chromium_path()
    if path is None:
        missing.append("chromium is not installed (apt-get install chromium)")
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        missing.append("the Python package playwright is not installed (pip install '.[test]')")
    if missing:
        msg = "; ".join(missing)
        if os.environ.get("CI"):
            pytest.fail(f"CI is set, so the browser tests must run, but {msg}")
        pytest.skip(msg)
    assert path is not None
    return path


def to_url(target: str | os.PathLike[str]) -> str:
    """A file path -> ``file://`` URL; URLs are returned as they are."""
    s = str(target)
    if "://" in s or s.startswith(("data:", "about:")):
        return s
    return Path(s).resolve().as_uri()


@dataclass
class Page:
    """One open tab and everything it did; ``raw`` is the Playwright ``Page``."""

    raw: Any
    console: list[tuple[str, str]] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)
    failed_requests: list[str] = field(default_factory=list)

    @property
    def console_errors(self) -> list[str]:
        return [text for kind, text in self.console if kind == "error"]

    @property
    def errors(self) -> list[str]:
        """Console errors, uncaught exceptions and failed loads, in that order.

        Loads the page itself cancelled (``net::ERR_ABORTED``, e.g. ``<video>`` dropping its
        first request to switch to range requests) stay in ``failed_requests`` but are not
        errors."""
        return ([f"console: {e}" for e in self.console_errors]
                + [f"exception: {e}" for e in self.page_errors]
                + [f"failed load: {u}" for u in self.failed_requests
                   if "net::ERR_ABORTED" not in u])

    def foreign_requests(self, allowed: tuple[str, ...] = LOCAL_SCHEMES) -> list[str]:
        """Requested URLs whose scheme is not in ``allowed`` (default: file:, data:, blob:)."""
        return [u for u in self.requests if not u.startswith(allowed)]

    def evaluate(self, js: str, arg: Any = None) -> Any:
        """Evaluate a JS expression or function (``"() => ..."``, ``"(arg) => ..."``)."""
        return self.raw.evaluate(js) if arg is None else self.raw.evaluate(js, arg)

    def wait_for(self, js: str, timeout_s: float = 10.0, arg: Any = None) -> Any:
        """Wait until the JS function/expression ``js`` returns a truthy value; return it.

        Raises ``TimeoutError`` (with the condition in the message) after ``timeout_s``.
        """
        from playwright.sync_api import TimeoutError as PwTimeout

        try:
            handle = self.raw.wait_for_function(js, arg=arg, timeout=timeout_s * 1000)
        except PwTimeout as exc:
            raise TimeoutError(f"condition not met within {timeout_s} s: {js}") from exc
        return handle.json_value()

    def screenshot(self, path: str | os.PathLike[str], full_page: bool = True) -> Path:
        """Write a PNG screenshot (the whole page by default); return its path."""
        p = Path(path)
        p.parent.mkdir(parents=True, exist_ok=True)
        self.raw.screenshot(path=str(p), full_page=full_page)
        return p

    def count(self, selector: str) -> int:
        """Number of elements matching a CSS selector."""
        return int(self.raw.evaluate("(s) => document.querySelectorAll(s).length", selector))


class Browser:
    """A running headless Chromium; use :func:`launch` to get one."""

    def __init__(self, executable: str | None = None, viewport: tuple[int, int] = (1200, 900),
                 extra_args: tuple[str, ...] = ()) -> None:
        from playwright.sync_api import sync_playwright

        exe = executable or chromium_path()
        if exe is None:
            raise RuntimeError("chromium is not installed (apt-get install chromium)")
        self._pw = sync_playwright().start()
        try:
            # launch() gives the browser a fresh temporary --user-data-dir and removes it on
            # close; chromium_sandbox=False adds --no-sandbox (needed as root).
            self._browser = self._pw.chromium.launch(
                executable_path=exe, headless=True, chromium_sandbox=False,
                args=list(CHROMIUM_ARGS + extra_args))
            self._context = self._browser.new_context(
                viewport={"width": viewport[0], "height": viewport[1]})
        except BaseException:
            self._pw.stop()
            raise
        self.version: str = self._browser.version

    def open(self, target: str | os.PathLike[str], wait_until: str = "load",
             timeout_s: float = 30.0) -> Page:
        """Open a path or URL in a new tab, recording console output, errors and requests."""
        raw = self._context.new_page()
        page = Page(raw)
        raw.on("console", lambda m: page.console.append((m.type, m.text)))
        raw.on("pageerror", lambda e: page.page_errors.append(str(e)))
        raw.on("request", lambda r: page.requests.append(r.url))
        raw.on("requestfailed", lambda r: page.failed_requests.append(
            f"{r.url} ({r.failure})"))
        raw.goto(to_url(target), wait_until=wait_until, timeout=timeout_s * 1000)
        return page

    def close(self) -> None:
        try:
            self._context.close()
            self._browser.close()
        finally:
            self._pw.stop()

    def __enter__(self) -> Browser:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def launch(executable: str | None = None, viewport: tuple[int, int] = (1200, 900),
           extra_args: tuple[str, ...] = ()) -> Browser:
    """Start headless Chromium (see :class:`Browser`); use as a context manager."""
    return Browser(executable, viewport, extra_args)


class _RangeHandler(http.server.SimpleHTTPRequestHandler):
    """Static files with single-range ``Range: bytes=a-b`` support (what <video> asks for)."""

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        pass

    def send_head(self) -> Any:
        if self.path.split("?")[0] == "/favicon.ico":  # browsers ask; answer "nothing"
            self.send_response(204)
            self.end_headers()
            return None
        rng = self.headers.get("Range", "")
        path = Path(self.translate_path(self.path))
        if not rng.startswith("bytes=") or "," in rng or not path.is_file():
            return super().send_head()
        size = path.stat().st_size
        a, _, b = rng[len("bytes="):].strip().partition("-")
        try:
            if a == "":
                start, end = max(0, size - int(b)), size - 1
            else:
                start, end = int(a), (int(b) if b else size - 1)
        except ValueError:
            return super().send_head()
        end = min(end, size - 1)
        if start > end or start >= size:
            self.send_response(416)
            self.send_header("Content-Range", f"bytes */{size}")
            self.end_headers()
            return None
        fh = open(path, "rb")  # noqa: SIM115 - closed by the base class after copyfile
        fh.seek(start)
        self.send_response(206)
        self.send_header("Content-Type", self.guess_type(str(path)))
        self.send_header("Accept-Ranges", "bytes")
        self.send_header("Content-Range", f"bytes {start}-{end}/{size}")
        self.send_header("Content-Length", str(end - start + 1))
        self.end_headers()
        self._remaining = end - start + 1
        return fh

    def copyfile(self, source: Any, outputfile: Any) -> None:
        n = getattr(self, "_remaining", None)
        if n is None:
            return super().copyfile(source, outputfile)
        self._remaining = None
        while n > 0:
            chunk = source.read(min(1 << 16, n))
            if not chunk:
                break
            outputfile.write(chunk)
            n -= len(chunk)


@contextmanager
def serve_dir(root: str | os.PathLike[str]) -> Iterator[str]:
    """Serve ``root`` over HTTP on 127.0.0.1 (a free port); yield the base URL (ending in /)."""
    handler = functools.partial(_RangeHandler, directory=str(root))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
