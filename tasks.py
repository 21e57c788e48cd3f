"""Invoke tasks: thin wrappers around anthology.cli. Run `invoke --list` for the list, `invoke --help TASK` for one."""

import os
from pathlib import Path

from invoke import task

from anthology import cli

ROOT = Path(__file__).resolve().parent
BOOK = cli.DEFAULT_BOOK
BOOK_HELP = {
    "book": "the book folder (default: book/)",
    "out": "the output folder (default: build/<slug>/, the book's own: <slug> is book.yaml's slug)",
    "debug": "show a traceback on errors",
}
CHECK_HELP = {"book": BOOK_HELP["book"], "debug": BOOK_HELP["debug"]}
PLAIN_HELP = "lay the print edition out the plain way: the whole book as one document, no cache or worker processes"


def plain_path(plain: bool) -> None:
    """`--plain` is ANTHOLOGY_PLAIN=1 for this build (build.plain_requested reads it)."""
    if plain:
        os.environ["ANTHOLOGY_PLAIN"] = "1"


@task(help={**BOOK_HELP, "strict": "treat warnings (those `invoke check` reports) as errors", "plain": PLAIN_HELP})
def build(c, book=BOOK, out=None, debug=False, strict=False, plain=False):
    """Build all three editions into the book's folder build/<slug>/: <slug>.pdf, <slug>.epub, html/index.html."""
    plain_path(plain)
    cli.run_build(book, ROOT, out=out, debug=debug, strict=strict)


@task(help={**BOOK_HELP, "plain": PLAIN_HELP})
def pdf(c, book=BOOK, out=None, debug=False, plain=False):
    """Build the print PDFs: build/<slug>/<slug>.pdf for the printer, build/<slug>/<slug>-screen.pdf for reading."""
    plain_path(plain)
    cli.run_build(book, ROOT, ["pdf", "screen"], out=out, debug=debug)


@task(help=BOOK_HELP)
def epub(c, book=BOOK, out=None, debug=False):
    """Build the EPUB 3 only (build/<slug>/<slug>.epub)."""
    cli.run_build(book, ROOT, ["epub"], out=out, debug=debug)


@task(help=BOOK_HELP)
def html(c, book=BOOK, out=None, debug=False):
    """Build the HTML site only (build/<slug>/html/)."""
    cli.run_build(book, ROOT, ["html"], out=out, debug=debug)


@task(help={**BOOK_HELP, "port": "the port on localhost (default: 8000)"})
def serve(c, book=BOOK, out=None, port=8000, debug=False):
    """Live preview: serve build/<slug>/html on localhost, rebuild it when the book or styles/ change, reload."""
    from anthology.serve import run_serve

    cli.guarded(lambda: run_serve(cli.project_for(book, ROOT, out), int(port)), debug)


@task(
    help={
        **CHECK_HELP,
        "check": "do not write: fail if the committed texts differ from what ingest produces",
        "explain": "print the text the rules read from this source, numbered as its recipe's lines count",
    }
)
def ingest(c, book=BOOK, check=False, debug=False, explain=""):
    """Regenerate the cleaned texts (book/texts/) from the raw sources and their recipes (book/sources/)."""
    if explain:
        from anthology.ingest import explain as explain_source

        cli.guarded(lambda: explain_source(Path(book), explain), debug)
        return
    cli.run_ingest(book, ROOT, check=check, debug=debug)


@task(help={"path": "the new book's folder: created, or an empty one", "debug": BOOK_HELP["debug"]})
def new(c, path, debug=False):
    """Write a minimal book into a new folder (a sample essay with its source and recipe) that builds at once."""
    cli.run_new(path, debug=debug)


@task(
    help={
        **CHECK_HELP,
        "strict": "treat warnings as errors",
        "citations": "audit every citation instead: the source's words beside the printed ones, and what is doubtful",
        "out": "with --citations, the folder of the report (default: the book's build folder)",
    }
)
def check(c, book=BOOK, strict=False, debug=False, citations=False, out=None):
    """Check the book without building it: configuration, texts, and what editors must still supply."""
    cli.run_check(book, ROOT, strict=strict, debug=debug, citations=citations, out=out)


@task(help={**CHECK_HELP, "all": "remove all of build/ (every book's outputs)"})
def clean(c, book=BOOK, all=False, debug=False):
    """Remove the book's outputs and caches (build/<slug>/); other books' folders stay."""
    cli.run_clean(book, ROOT, everything=all, debug=debug)


PDF_HELP = {**BOOK_HELP, "pdf": "the print PDF to use (default: <slug>.pdf in the output folder)"}


@task(help=PDF_HELP)
def preflight(c, book=BOOK, pdf=None, out=None, debug=False):
    """Check the print PDF as a printer would (trim, fonts, PDF/X, colour, margins, …); exit 1 on any failure."""
    from anthology.cli import run_preflight

    run_preflight(book, ROOT, pdf=pdf, out=out, debug=debug)


@task(help=PDF_HELP)
def cover(c, book=BOOK, pdf=None, out=None, debug=False):
    """Write the full-wrap cover (build/<slug>/<slug>-cover.pdf), its spine sized from the print PDF's pages."""
    from anthology.cli import run_cover

    run_cover(book, ROOT, pdf=pdf, out=out, debug=debug)


@task(
    help={
        "book": BOOK_HELP["book"],
        "runs": "runs of each measure; times are medians (default: 3)",
        "quick": "one run, no scaling (unless --scale)",
        "scale": "also the scaling benchmark (the default unless --quick)",
        "scale-only": "only the scaling benchmark",
        "mechanisms": "only what each speed mechanism saves: cold and one-word edit builds without it (issue 25)",
        "out-json": "also write every figure to this file as JSON",
        "work": "make the temporary folder in this folder (default: /tmp)",
        "keep": "keep the temporary folder (outputs, logs) afterwards",
        "timeout": "stop a measured command after this many seconds (0: never)",
    }
)
def bench(
    c,
    book=BOOK,
    runs=3,
    quick=False,
    scale=False,
    scale_only=False,
    mechanisms=False,
    out_json=None,
    work=None,
    keep=False,
    timeout=0,
):
    """Benchmark the build: cold, no-op and one-word-edit builds per edition, two baselines, scaling (README)."""
    import sys

    from invoke.exceptions import Exit

    sys.path.insert(0, str(ROOT / "benchmarks"))
    from bench import main

    flags = {"--quick": quick, "--scale": scale, "--scale-only": scale_only, "--mechanisms": mechanisms, "--keep": keep}
    options = {"--book": book, "--runs": runs, "--out-json": out_json, "--work": work, "--timeout": timeout}
    argv = [flag for flag, on in flags.items() if on]
    argv += [item for option, value in options.items() if value is not None for item in (option, str(value))]
    status = main(argv)
    if status:
        raise Exit(code=status)
