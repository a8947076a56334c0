"""The ``techeval`` command line: one small function per command, wiring only.

Errors the user can fix (:class:`~techeval.errors.TechevalError`) print as one
paragraph and exit with code 2; anything else is a bug: exit code 1 with a request to
report it.
"""

from __future__ import annotations

import sys

from techeval.cli.commands import app, err_console
from techeval.errors import TechevalError

__all__ = ["app", "main"]


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; return the exit code (0 ok, 2 bad input, 1 internal error)."""
    try:
        app(args=argv, prog_name="techeval", standalone_mode=True)
    except SystemExit as exc:  # typer/click exit normally, usage errors with code 2
        code = exc.code
        return code if isinstance(code, int) else (0 if code is None else 1)
    except TechevalError as exc:
        err_console.print(f"[bold red]error:[/] {exc.describe()}", highlight=False, soft_wrap=True)
        return exc.exit_code
    except Exception:
        err_console.print_exception()
        err_console.print(
            "[bold red]internal error:[/] this is a bug in techeval, not a problem with "
            "your input. Please report it with the command you ran and the message above."
        )
        return 1
    return 0


def _entry() -> None:  # pragma: no cover - thin wrapper
    sys.exit(main())
