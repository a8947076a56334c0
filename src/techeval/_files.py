"""Writing a folder of outputs safely: where techeval may write, and all or nothing.

Used by the protocol runner (:func:`techeval.protocols.write.write_outputs`) and by
pooling (:func:`techeval.pooling.output.write_folder`).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from techeval.errors import ArgumentError

__all__ = ["check_output_folder", "staged_folder"]


def check_output_folder(out: str | Path, *, overwrite: bool) -> Path:
    """The output folder, refusing paths techeval should not write to.

    Refused: a path with a ``..`` part; a path that is, or passes through, a symbolic
    link (techeval writes, and with ``overwrite`` replaces, only where the path says,
    never where a link leads); an existing file; an existing non-empty folder unless
    ``overwrite``. The messages give the real path to use instead.

    Raises
    ------
    ArgumentError
        For any of the above, naming the path.
    """
    path = Path(out)
    absolute = Path(os.path.abspath(path))  # abspath removes ".." lexically
    if ".." in path.parts:
        raise ArgumentError(
            "the output path goes through '..', so it may lead outside the folder it names",
            where=str(path),
            hint=f"Give the folder without '..', e.g. --out {absolute}",
        )
    current = Path(absolute.anchor)
    for part in absolute.parts[1:]:
        current = current / part
        if current.is_symlink():
            raise ArgumentError(
                f"the output path goes through a symbolic link ({current} -> "
                f"{os.readlink(current)}); techeval writes only where the path says",
                where=str(path),
                hint=f"Give the real folder instead: --out {os.path.realpath(absolute)}",
            )
        if not current.exists():
            break
    if path.exists() and not path.is_dir():
        raise ArgumentError("the output path exists and is not a folder", where=str(path))
    if path.is_dir() and any(path.iterdir()) and not overwrite:
        raise ArgumentError(
            "the output folder exists and is not empty",
            where=str(path),
            hint="Choose another --out folder, or add --overwrite to replace its contents",
        )
    return path


@contextmanager
def staged_folder(out: str | Path, *, overwrite: bool = False) -> Iterator[Path]:
    """A temporary sibling folder that replaces ``out`` when the block ends without error.

    Everything is written into the yielded folder; only at the end is it renamed into
    place (an existing ``out`` is moved aside first and removed after), so a failure
    never leaves a half-written folder: the staging folder is removed and ``out`` stays
    as it was.

    Raises
    ------
    ArgumentError
        From :func:`check_output_folder` (a non-empty ``out`` without ``overwrite``, a
        path through ``..`` or a symlink).
    """
    target = check_output_folder(out, overwrite=overwrite)
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = target.parent / f".{target.name}.partial-{os.getpid()}"
    if staging.exists():
        shutil.rmtree(staging)
    try:
        staging.mkdir()
        yield staging
        if target.exists():
            retired = target.parent / f".{target.name}.replaced-{os.getpid()}"
            target.rename(retired)
            staging.rename(target)
            shutil.rmtree(retired)
        else:
            staging.rename(target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
