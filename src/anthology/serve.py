"""Live preview (`invoke serve`): serve the HTML edition on localhost, rebuild it when book/ or styles/ change, and
reload the browser.

Standard library only: a threaded http.server for build/html, and a watcher that polls the files' modification
times (no inotify dependency; polling five times a second costs little for a book's few hundred files). Pages built
for the preview load assets/live-reload.js, which asks `/__live__/state` every second for the build generation
and reloads when it changes; when a build fails, the previous site stays and its problems are shown on the page.

What is rebuilt depends on what changed: the stylesheet, scripts or fonts are copied into place; a site template
re-renders the pages from the book already resolved; anything else (a text, book.yaml, the bibliography) loads
and resolves the book again, and pandoc runs again only for texts whose content changed (a cache of fragments).
"""

from __future__ import annotations

import html
import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from http import HTTPStatus
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from rich.console import Console

from anthology import pandoc
from anthology.build import build_lock, disabled, output_path
from anthology.diagnostics import BuildError
from anthology.load import load_book
from anthology.model import Project, ResolvedBook
from anthology.render.site.edition import SiteCache, copy_assets, render_site
from anthology.resolve.book import resolve_book

STATE_PATH = "/__live__/state"
POLL_SECONDS = 0.2  # a look at the book's and styles' files takes 3 ms: a save is seen within 0.2 s for 1.5 % of a core
SETTLE_SECONDS = 0.2  # an editor's save can touch several files: wait until they are quiet
Snapshot = dict[Path, tuple[int, int]]


def snapshot(folders: list[Path]) -> Snapshot:
    """Modification time and size of every file under the folders, ignoring editors' temporary files."""
    files: Snapshot = {}
    for folder in folders:
        for path in folder.rglob("*"):
            name = path.name
            if name.startswith((".", "#")) or name.endswith(("~", ".swp", ".tmp")) or not path.is_file():
                continue
            try:
                stat = path.stat()
            except FileNotFoundError:  # removed while we looked
                continue
            files[path] = (stat.st_mtime_ns, stat.st_size)
    return files


def site_folder(project: Project) -> Path:
    """build/html: the site's folder does not depend on the book's slug."""
    return output_path(project, "", "html")


def changed_paths(before: Snapshot, after: Snapshot) -> set[Path]:
    return {path for path in before.keys() | after.keys() if before.get(path) != after.get(path)}


@dataclass
class LiveState:
    """What the browser polls: the generation of the site being served, and the last build's problems."""

    generation: int = 0
    problems: str | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)

    def as_json(self) -> bytes:
        with self.lock:
            return json.dumps({"generation": self.generation, "problems": self.problems}).encode()

    def built(self) -> None:
        with self.lock:
            self.generation += 1
            self.problems = None

    def failed(self, problems: str) -> None:
        with self.lock:
            self.problems = problems


class Rebuilder:
    """Rebuilds the HTML edition for a set of changed files, doing only the work those changes need."""

    def __init__(self, project: Project, state: LiveState, console: Console):
        self.project = project
        self.state = state
        self.console = console
        self.cache = SiteCache()  # the texts' prepared fragments and HTML: an edit prepares and converts its own
        self.resolved: ResolvedBook | None = None
        self.target = site_folder(project)
        # pandoc's results, kept by content as a build keeps them: an edit parses and cites again only its own text
        # (without it every save ran pandoc on every text and citeproc on every chapter).
        pandoc.CACHE_DIR = None if disabled("pandoc-cache") else project.build_dir / ".cache" / "pandoc"

    def kind_of(self, paths: set[Path]) -> str:
        """'assets', 'templates' or 'book': the least work that brings the site up to date."""
        styles = self.project.styles_dir.resolve()
        kinds = set()
        for path in paths:
            try:
                relative = path.resolve().relative_to(styles).as_posix()
            except ValueError:
                kinds.add("book")
                continue
            if relative == "screen.css" or relative.startswith(("site/", "fonts/")):
                kinds.add("assets")
            elif relative.startswith("templates/site/"):
                kinds.add("templates")
            elif relative in ("print.css", "epub.css") or relative.startswith(("templates/print", "icc/")):
                continue  # other editions only
            else:
                kinds.add("book")
        for kind in ("book", "templates", "assets"):
            if kind in kinds:
                return kind
        return "none"

    def rebuild(self, paths: set[Path] | None = None) -> None:
        """Bring the site up to date; a failure keeps the previous site and records its problems for the page."""
        kind = "book" if paths is None or self.resolved is None else self.kind_of(paths)
        if kind == "none":
            return
        if paths is None or any(path.suffix == ".j2" for path in paths):  # a template added may hide another
            self.cache.environment = None
        started = time.perf_counter()
        try:
            with build_lock(self.project.build_dir):
                self.run(kind)
        except BuildError as error:
            problems = "\n".join(diagnostic.format() for diagnostic in error.diagnostics)
            self.state.failed(problems)
            self.console.print(problems, markup=False, highlight=False)
            self.console.print("[red]build failed[/red]: the previous site is still served")
            return
        self.state.built()
        self.console.print(f"[green]rebuilt[/green] ({kind}) in {time.perf_counter() - started:.1f}s")

    def run(self, kind: str) -> None:
        if kind == "book" or self.resolved is None:
            book = load_book(self.project.book_dir)
            self.resolved = resolve_book(book, self.project.styles_dir)
        if kind == "assets":
            copy_assets(self.project, self.target / "assets", live_reload=True)
            return
        render_site(self.resolved, self.project, self.target, live_reload=True, cache=self.cache)


class PreviewHandler(SimpleHTTPRequestHandler):
    """Files of the site, never cached, plus the live state the pages poll."""

    state: LiveState

    def __init__(self, *args: object, state: LiveState, **kwargs: object):
        self.state = state
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]

    def do_GET(self) -> None:
        if self.path.split("?", 1)[0] == STATE_PATH:
            body = self.state.as_json()
            self.send_response(HTTPStatus.OK)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            return
        if not Path(self.directory, "index.html").exists():
            self.send_problems()
            return
        super().do_GET()

    def send_problems(self) -> None:
        """No site yet (the first build failed): a page that shows why and retries."""
        problems = json.loads(self.state.as_json())["problems"] or "building…"
        body = (
            '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><meta http-equiv="refresh" content="2">'
            f"<title>Build failed</title></head><body><h1>No site yet</h1><pre>{html.escape(problems)}</pre>"
            "</body></html>"
        ).encode()
        self.send_response(HTTPStatus.SERVICE_UNAVAILABLE)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def end_headers(self) -> None:
        self.send_header("Cache-Control", "no-store")
        super().end_headers()

    def log_message(self, format: str, *args: object) -> None:
        """Quiet: the console shows rebuilds, not every request."""


class LivePreview:
    """The server and the watcher; start() builds once and serves, stop() ends both."""

    def __init__(self, project: Project, port: int = 8000, console: Console | None = None):
        self.project = project
        self.console = console or Console(stderr=True)
        self.state = LiveState()
        self.rebuilder = Rebuilder(project, self.state, self.console)
        self.port = port
        self.stopping = threading.Event()
        self.server: ThreadingHTTPServer | None = None
        self.threads: list[threading.Thread] = []
        self.baseline: Snapshot = {}

    @property
    def watched(self) -> list[Path]:
        return [self.project.book_dir, self.project.styles_dir]

    @property
    def url(self) -> str:
        assert self.server is not None
        return f"http://127.0.0.1:{self.server.server_address[1]}/"

    def start(self) -> None:
        """Serve at once (the last site, or a page saying it is being built), build, then watch."""
        self.baseline = snapshot(self.watched)  # before building: a change made meanwhile is seen
        folder = self.rebuilder.target
        folder.mkdir(parents=True, exist_ok=True)
        handler = partial(PreviewHandler, state=self.state, directory=str(folder))
        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), handler)
        self.server.daemon_threads = True
        self.spawn(self.server.serve_forever)
        self.console.print(f"serving {self.url}; building …")
        self.rebuilder.rebuild()
        self.spawn(self.watch)

    def spawn(self, target: Callable[[], None]) -> None:
        thread = threading.Thread(target=target, daemon=True)
        thread.start()
        self.threads.append(thread)

    def watch(self) -> None:
        """Poll the book and the styles; after a change settles, rebuild what it needs."""
        before = self.baseline
        while not self.stopping.wait(POLL_SECONDS):
            now = snapshot(self.watched)
            changed = changed_paths(before, now)
            if not changed:
                continue
            while not self.stopping.wait(SETTLE_SECONDS):  # wait for the editor to finish writing
                later = snapshot(self.watched)
                if later == now:
                    break
                changed |= changed_paths(now, later)
                now = later
            names = ", ".join(sorted(str(path) for path in changed)[:3]) + (" …" if len(changed) > 3 else "")
            self.console.print(f"changed: {names}")
            self.rebuilder.rebuild(changed)
            before = now

    def stop(self) -> None:
        self.stopping.set()
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
        for thread in self.threads:
            thread.join(timeout=10)


def run_serve(project: Project, port: int) -> None:
    """`invoke serve`: build, serve and watch until Ctrl-C."""
    preview = LivePreview(project, port)
    preview.start()
    preview.console.print(f"serving {preview.url}, watching {project.book_dir} and {project.styles_dir} (Ctrl-C stops)")
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        preview.console.print("stopping")
    finally:
        preview.stop()
