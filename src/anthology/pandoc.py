"""The one door to pandoc: the pinned binary bundled by pypandoc_binary, run sandboxed, warnings caught.

We call the binary pypandoc_binary bundles (it pins pandoc 3.9) through subprocess rather than
`pypandoc.convert_text`, because we need pandoc's warnings on stderr (they become diagnostics), `--sandbox`, and
a controlled environment (SOURCE_DATE_EPOCH, no locale leaking into the output).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import sys
import tempfile
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from functools import cache
from pathlib import Path
from typing import Any, TypeVar

import pypandoc

from anthology import processes
from anthology.ast import to_json
from anthology.diagnostics import BuildError, Diagnostic, Severity

MARKDOWN = "markdown-smart"
# pandoc processes run at once by a stage that has many texts to convert (threads waiting on subprocesses: the
# conversions use the cores while Python waits). One per core, at most four: each holds a text's whole tree, and four
# at once on a 50-chapter book took its build past 3 GB.
PROCESSES = min(4, max(2, os.cpu_count() or 2))
API_VERSION = [1, 23, 1, 1]  # the AST version of the pinned pandoc 3.9, for documents we build ourselves

Item = TypeVar("Item")
Outcome = TypeVar("Outcome")


def each_at_once(function: Callable[[Item], Outcome], items: Sequence[Item]) -> list[Future[Outcome]]:
    """`function` called on every item in threads, PROCESSES at a time (each call runs pandoc); the finished calls
    in the items' order, so that a stage can report every item's error, not only the first."""
    with ThreadPoolExecutor(max_workers=PROCESSES) as pool:
        return [pool.submit(function, item) for item in items]


def map_at_once(function: Callable[[Item], Outcome], items: Sequence[Item]) -> list[Outcome]:
    """`function`'s results on every item, in order, computed as each_at_once does (the first error is raised)."""
    return [call.result() for call in each_at_once(function, items)]


BUNDLED = Path(pypandoc.__file__).with_name("files") / "pandoc"


@cache
def pandoc_binary() -> str:
    """PYPANDOC_PANDOC when it is set, else the pandoc pypandoc_binary bundles (the pinned one). pypandoc's own
    search runs `pandoc --version` on every candidate and takes the highest version, which is neither the pinned
    pandoc nor quick: 0.2 s a run, a second of an edit's rebuild when several threads asked at once."""
    chosen = os.environ.get("PYPANDOC_PANDOC")
    if chosen:
        return chosen
    return str(BUNDLED) if BUNDLED.is_file() else pypandoc.get_pandoc_path()


@cache
def pandoc_identity() -> str:
    """Which pandoc makes a result: its version (as `pandoc --version` states it), and the binary's path, size and
    modification time (a rebuilt binary of the same version)."""
    path = Path(shutil.which(pandoc_binary()) or pandoc_binary())
    stat = path.stat()
    try:
        stated = processes.run([str(path), "--sandbox", "--version"], capture_output=True, check=False).stdout
    except OSError:  # pandoc cannot run: the run itself reports it
        stated = b""
    version = stated.decode("utf-8", "replace").partition("\n")[0]
    return f"{version}:{path.resolve()}:{stat.st_size}:{stat.st_mtime_ns}"


# Where pandoc's results are kept between builds (set by the build: <out>/.cache/pandoc): a text that has not changed
# is not parsed again, nor its citations processed again. None: no cache.
CACHE_DIR: Path | None = None
USED_KEYS: set[str] = set()


def cache_key(args: list[str], stdin: str | bytes, epoch: int | None) -> str | None:
    """What a pandoc run's output depends on: pandoc, the arguments, the input, and the files it reads (named by
    the arguments); None for a run that writes a file."""
    if any(arg in ("-o", "--output") or arg.startswith("--output=") for arg in args):
        return None
    digest = hashlib.sha256(f"{pandoc_identity()}\0{json.dumps(args)}\0{epoch}\0".encode())
    digest.update(as_bytes(stdin))
    for arg in args:
        path = Path(arg.split("=", 1)[1] if arg.startswith("--") and "=" in arg else arg)
        if not arg.startswith("-") or "=" in arg:
            try:
                if path.is_file():
                    digest.update(b"\0" + path.read_bytes())
            except OSError:
                pass
    return digest.hexdigest()


def as_bytes(stdin: str | bytes) -> bytes:
    return stdin if isinstance(stdin, bytes) else stdin.encode("utf-8")


def run(
    args: list[str],
    stdin: str | bytes = "",
    epoch: int | None = None,
    source: Path | None = None,
    line_offset: int = 0,
) -> str:
    """Run pandoc, or take its output from the cache when the same run was made before (see run_pandoc)."""
    key = cache_key(args, stdin, epoch) if CACHE_DIR is not None else None
    if key is None or CACHE_DIR is None:
        return run_pandoc(args, stdin, epoch, source, line_offset)
    USED_KEYS.add(key)
    stored = CACHE_DIR / key[:2] / key
    cached = read_entry(stored, key)
    if cached is not None:
        return cached
    output = run_pandoc(args, stdin, epoch, source, line_offset)
    write_entry(stored, key, output)
    return output


# A cache entry is one header line, then pandoc's output as UTF-8. The header names the entry's key and the digest
# of what follows, so that a truncated, altered or misplaced entry is recognised as such when it is read.
ENTRY_FORMAT = "anthology-pandoc-cache/1"


def entry_header(key: str, body: bytes) -> bytes:
    return f"{ENTRY_FORMAT} {key} {hashlib.sha256(body).hexdigest()}\n".encode("ascii")


def read_entry(stored: Path, key: str) -> str | None:
    """The cached output of the run `key`, or None when there is none. An entry that is not the whole, unaltered
    output of this very run is discarded with a warning (the run is made again): it is never used."""
    try:
        data = stored.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as error:  # a folder in its place, unreadable
        return discard(stored, f"it cannot be read ({error.strerror or error})")
    header, newline, body = data.partition(b"\n")
    if not newline or header + newline != entry_header(key, body):
        return discard(stored, "its header or digest does not match its content (a truncated or altered file)")
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError:
        return discard(stored, "it is not UTF-8 text")


def discard(stored: Path, reason: str) -> None:
    """Remove a bad cache entry and say so: the build goes on, and makes the run again."""
    remove(stored)
    warning = Diagnostic(
        "W061",
        f"pandoc's cached result was discarded, as {reason}; pandoc runs again",
        file=stored,
        hint="nothing to fix in the book; if this recurs, check the disk holding the output folder",
        severity=Severity.WARNING,
    )
    print(warning.format(), file=sys.stderr, flush=True)


def write_entry(stored: Path, key: str, output: str) -> None:
    """Keep a run's output for the next build; a cache that cannot be written only costs the next build time."""
    body = output.encode("utf-8")
    # Named for the thread too: texts that repeat (the benchmark's 50 chapters) make the same run in several
    # threads at once, and one thread's rename took the file another was about to rename.
    temporary = stored.with_name(f".{key}.{os.getpid()}.{threading.get_ident()}")
    try:
        stored.parent.mkdir(parents=True, exist_ok=True)
        temporary.write_bytes(entry_header(key, body) + body)
        os.replace(temporary, stored)
    except OSError:
        remove(temporary)


def remove(path: Path) -> None:
    """Remove a file or folder of the cache, whatever it is; one that cannot be removed is left."""
    try:
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        else:
            path.unlink(missing_ok=True)
    except OSError:
        pass


def prune_cache() -> None:
    """Drop what this build did not use (the cache follows the book; it does not grow without end): results of
    other runs, and anything else found in the cache's folder."""
    if CACHE_DIR is None or not CACHE_DIR.is_dir():
        return
    for bucket in CACHE_DIR.iterdir():
        if not bucket.is_dir() or bucket.is_symlink():
            remove(bucket)
            continue
        for stored in bucket.iterdir():
            if stored.name not in USED_KEYS or bucket.name != stored.name[:2]:
                remove(stored)


def run_pandoc(
    args: list[str],
    stdin: str | bytes = "",
    epoch: int | None = None,
    source: Path | None = None,
    line_offset: int = 0,
) -> str:
    """Run pandoc; a failure or a warning becomes a diagnostic naming the source file and, where pandoc gives
    one, the line (pandoc counts lines of its input; `line_offset` maps them back to the file).

    Always with `--sandbox`: pandoc then reads only the files named on its command line (a stylesheet, fonts, a
    bibliography, the cover) and never the network, so no text can make a writer read or publish another file
    (an `<audio src="/etc/passwd">` once put that file into the EPUB). What a text may contain is checked before
    (policy.py); the images it may show reach the EPUB writer as data (render/epub/edition.py). pandoc dies with
    this process (processes.py): a killed build's pandoc runs did not.
    """
    env = {"PATH": os.environ.get("PATH", ""), "LANG": "C.UTF-8", "HOME": os.environ.get("HOME", "/tmp")}
    env["TMPDIR"] = tempfile.gettempdir()  # the build's scratch folder (processes.temporaries_in)
    if epoch is not None:
        env["SOURCE_DATE_EPOCH"] = str(epoch)
    process = processes.run(
        [pandoc_binary(), "--sandbox", *args],
        input=as_bytes(stdin),
        capture_output=True,
        env=env,
        check=False,
    )
    messages = pandoc_messages(process.stderr.decode("utf-8", "replace"))
    if process.returncode != 0 or messages:
        problems = [pandoc_diagnostic(message, source, line_offset) for message in messages]
        if process.returncode != 0 and not problems:
            problems = [Diagnostic("E030", f"pandoc failed (exit {process.returncode})", file=source)]
        raise BuildError(problems)
    return process.stdout.decode("utf-8")


# The backtrace pandoc (GHC) prints after an I/O error's message: a heading, then a line per frame.
BACKTRACE = re.compile(r"^(?:HasCallStack backtrace:|CallStack \(from HasCallStack\):|\s+\S+, called at .*)$")


def pandoc_messages(stderr: str) -> list[str]:
    """pandoc's warnings and errors, a message per line, without the backtrace that follows an I/O error (its
    frames, each a diagnostic of its own, pushed the message that names the file out of a failed build's last
    lines)."""
    return [line for line in stderr.splitlines() if line.strip() and not BACKTRACE.match(line)]


PANDOC_POSITION = re.compile(r"line (\d+) column (\d+)")


def pandoc_diagnostic(message: str, source: Path | None, line_offset: int) -> Diagnostic:
    """One pandoc warning as a diagnostic at the file's own line (pandoc numbers the body from 1)."""
    position = PANDOC_POSITION.search(message)
    line = int(position[1]) + line_offset if position else None
    column = int(position[2]) if position else None
    text = re.sub(r"^\[WARNING\]\s*", "", message.strip())
    text = re.sub(r"\s*at (?:\S+ )?line \d+ column \d+", "", text).strip()
    return Diagnostic(
        "E030",
        f"pandoc: {text}",
        file=source,
        line=line,
        column=column,
        hint="fix the Markdown at this line (an unclosed ::: div, a note defined but never called, a duplicate id)",
    )


ASCII_PUNCTUATION = re.compile(r"([!-/:-@\[-`{-~])")


def literal_markdown(text: str) -> str:
    """Plain text as Markdown that reads back as exactly that text: pandoc reads the strings of a metadata file as
    Markdown, so a title's `<script>`, `*` or `--` would become markup or typography. Every ASCII punctuation mark
    is backslash-escaped (pandoc's `all_symbols_escapable`)."""
    return ASCII_PUNCTUATION.sub(r"\\\1", text)


def markdown_to_ast(text: str, source: Path | None = None, line_offset: int = 0) -> dict[str, Any]:
    """Parse Markdown; `line_offset` is the number of lines before the body in its file (the front matter)."""
    return json.loads(run(["--from", MARKDOWN, "--to", "json"], text, source=source, line_offset=line_offset))


def ast_to_html(ast: dict[str, Any], extra: list[str] | None = None, source: Path | None = None) -> str:
    return run(["--from", "json", "--to", "html5", "--wrap=none", *(extra or [])], to_json(ast), source=source)
