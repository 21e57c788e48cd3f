"""The one door to pandoc: the pinned binary bundled by pypandoc_binary, run sandboxed, warnings caught.

We call the binary that pypandoc locates (pypandoc_binary pins pandoc 3.9) through subprocess rather than
`pypandoc.convert_text`, because we need pandoc's warnings on stderr (they become diagnostics), `--sandbox`, and
a controlled environment (SOURCE_DATE_EPOCH, no locale leaking into the output).
"""

from __future__ import annotations

import json
import os
import subprocess
from functools import cache
from pathlib import Path
from typing import Any

import pypandoc

from .diagnostics import BuildError, Diagnostic

MARKDOWN = "markdown-smart"


@cache
def pandoc_binary() -> str:
    return pypandoc.get_pandoc_path()


@cache
def pandoc_version() -> str:
    return pypandoc.get_pandoc_version()


def run(
    args: list[str],
    stdin: str = "",
    epoch: int | None = None,
    source: Path | None = None,
    sandbox: bool = True,
) -> str:
    """Run pandoc; a failure or a warning becomes a diagnostic naming the source file.

    Sandboxed by default (no file or network access). The EPUB writer cannot be: it must read the stylesheet and
    fonts; the resolve stage has already refused remote and unknown resources in the texts.
    """
    env = {"PATH": os.environ.get("PATH", ""), "LANG": "C.UTF-8", "HOME": os.environ.get("HOME", "/tmp")}
    if epoch is not None:
        env["SOURCE_DATE_EPOCH"] = str(epoch)
    process = subprocess.run(
        [pandoc_binary(), *(["--sandbox"] if sandbox else []), *args],
        input=stdin.encode("utf-8"),
        capture_output=True,
        env=env,
        check=False,
    )
    warnings = process.stderr.decode("utf-8", "replace").strip()
    if process.returncode != 0 or warnings:
        raise BuildError(
            [
                Diagnostic(
                    "E030",
                    f"pandoc {'failed' if process.returncode else 'warned'}: {warnings or process.returncode}",
                    file=source,
                    hint="fix the Markdown it points at; run `invoke check` for all problems at once",
                )
            ]
        )
    return process.stdout.decode("utf-8")


def markdown_to_ast(text: str, source: Path | None = None) -> dict[str, Any]:
    return json.loads(run(["--from", MARKDOWN, "--to", "json"], text, source=source))


def ast_to_html(ast: dict[str, Any], extra: list[str] | None = None, source: Path | None = None) -> str:
    return run(["--from", "json", "--to", "html5", "--wrap=none", *(extra or [])], json.dumps(ast), source=source)
