"""The CLI's one error policy: what went wrong, in one English line, and exit 1."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager

import typer
from rich.console import Console
from rich.markup import escape
from sqlalchemy.exc import SQLAlchemyError

from paperdigest.errors import PaperdigestError

err_console = Console(stderr=True)


def fail(message: str, code: int = 1) -> typer.Exit:
    # escaped: a message that names an extra ("pip install 'paperdigest[sample]'") is not Rich markup
    err_console.print(f"[red]error:[/red] {escape(message)}", highlight=False, soft_wrap=True)
    return typer.Exit(code)


@contextmanager
def errors_as_one_line() -> Iterator[None]:
    """Domain and database errors become one line and exit 1; a bug says where to look."""
    try:
        yield
    except PaperdigestError as err:
        raise fail(str(err))
    except SQLAlchemyError as err:
        raise fail(
            f"database error ({type(err).__name__}: {err.args[0] if err.args else err}); "
            "check DATABASE_URL and that the file is writable"
        )
    except OSError as err:
        raise fail(f"{err.strerror or err} ({err.filename or 'no file'}); check DATA_DIR and permissions")
    except Exception as err:  # noqa: BLE001 - the edge of the program
        logging.getLogger(__name__).debug("internal error", exc_info=True)
        raise fail(f"internal error: {type(err).__name__}: {err} (run with --log-level DEBUG for details)")
