"""The one writer of output folders: checked before the work, staged beside the target, put in place whole.

A run's files are written into a hidden staging folder next to the target (same file system) and
then replace the target folder as a whole, so the folder holds exactly the files of the last run
(a ``districts.csv`` of an earlier run with other options disappears in the same step) and a run
that fails leaves the earlier outputs untouched. On Linux the two folders are swapped atomically
with ``renameat2(RENAME_EXCHANGE)``; elsewhere (or on file systems without it) the old folder is
renamed aside and the new one into place, and the next run repairs a swap that stopped half-way.

Working entries are named ``.<target>.circles-<kind>-<token>`` and locked (``flock``) while their
run lives, so a later run removes those of killed runs (or, without ``flock``, those older than a
day). Every folder written as a whole carries a marker, `RUN_MARKER`, that lists its files:
`check_output_dir` lets a run write into a folder only when it is empty, new, or holds files an
earlier circles run wrote (by the marker or by their known names).

Every `OSError` (disk full, read-only, permission denied, a file in the way) becomes a one-line
`circles.errors.OutputError` that names the folder, the problem and the fix.

Example
-------
>>> import tempfile
>>> out = Path(tempfile.mkdtemp()) / "run"
>>> [p.name for p in write_run(out, {"a.csv": b"x\\n", "b.json": b"{}"})]
['a.csv', 'b.json']
>>> [p.name for p in write_run(out, {"a.csv": b"y\\n"})], sorted(p.name for p in out.iterdir())
(['a.csv'], ['.circles-run.json', 'a.csv'])
"""

from __future__ import annotations

import ctypes
import errno
import json
import os
import secrets
import shutil
import stat
import sys
import time
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any, Union

from circles.errors import OutputError

__all__ = ["ANALYSIS_OUTPUTS", "BATCH_OUTPUTS", "KNOWN_OUTPUTS", "RUN_MARKER", "FileData", "OutputFiles",
           "OutputFolder", "atomic_write_bytes", "check_output_dir", "clean_leftovers", "replace_folder", "write_files",
           "write_run"]

#: Written into every folder written as a whole: which files the run wrote (no timestamps).
RUN_MARKER = ".circles-run.json"
#: Files of `circles analyze` (and of each district folder of `circles batch`).
ANALYSIS_OUTPUTS = ("summary.json", "access.csv", "gaps.geojson", "isochrones.geojson", "summary.csv",
                    "summary.xlsx", "districts.csv", "rules.csv", "facility_rules.csv", "map.html")  # issue 16
#: Top-level files of `circles batch` and the marker of a finished district.
BATCH_OUTPUTS = ("districts.csv", "districts.xlsx", "districts.geojson", "rules.csv", "facility_rules.csv",
                 "summary_map.html",
                 "errors.log", "batch.json", "_done.json")
#: Names recognised as circles outputs in folders without a marker (written by earlier versions).
KNOWN_OUTPUTS = frozenset((*ANALYSIS_OUTPUTS, *BATCH_OUTPUTS, RUN_MARKER))
#: A working entry without a lock (where `flock` is missing) is a leftover after this long.
STALE_AFTER_S = 24 * 3600.0

#: A file's content: bytes, or a function that writes the file at the path it is given.
FileData = Union[bytes, Callable[[Path], None]]

#: Put there by file browsers and file systems; never counted as the planner's files, never removed in place.
_SYSTEM_FILES = frozenset({".DS_Store", "Thumbs.db", "desktop.ini", "lost+found", "System Volume Information",
                           "$RECYCLE.BIN", ".Trashes", ".Spotlight-V100", ".fseventsd"})
_KINDS = ("stage", "old", "tmp", "probe")
_AT_FDCWD = -100
_RENAME_EXCHANGE = 2

try:
    import fcntl
except ImportError:  # Windows: leftovers are recognised by age
    fcntl = None  # type: ignore[assignment]


# ============================================================================ checking
def check_output_dir(path: str | os.PathLike, *, option: str = "--out") -> Path:
    """Check, before any long work, that a run can write its outputs into folder `path`.

    The parent is created; leftovers of killed runs next to the folder are removed (a swap that
    stopped half-way is undone); a probe file is written and removed; an existing folder must
    hold only files an earlier circles run wrote (listed in its `RUN_MARKER`, or known output
    names, or district folders of such files).

    Parameters
    ----------
    path
        The output folder (need not exist).
    option
        How the folder was given, for the message (``"--out"``).

    Returns
    -------
    pathlib.Path
        `path`.

    Raises
    ------
    OutputError
        One line naming the folder, the problem and the fix, e.g.
        ``"--out out/x: is a file; give a folder path"``.
    """
    return _checked(path, option)[0]


def _checked(path: str | os.PathLike, option: str, *, others_ok: bool = False) -> tuple[Path, Path]:
    """`path` and the folder its staging folder goes in (its parent, or itself when it cannot be renamed).

    `others_ok`: files circles did not write may stay (a writer that replaces only its own files).
    """
    target = Path(path)
    real = Path(os.path.abspath(target))  # "." has a name and a parent too
    try:
        if real.exists() and not real.is_dir():
            raise OutputError(f"{option} {target}: is a file; give a folder path")
        real.parent.mkdir(parents=True, exist_ok=True)
        clean_leftovers(real.parent)
        if real.is_dir():
            clean_leftovers(real)
        base = _staging_base(real, target, option)
        foreign = _foreign_entries(real) if real.is_dir() and not others_ok else []
    except OSError as exc:  # EACCES on a folder we may not look into, ENOTDIR, EROFS ...
        raise _output_error(option, target, exc) from None
    if foreign:
        shown = ", ".join(foreign[:3]) + (f" and {len(foreign) - 3} more" if len(foreign) > 3 else "")
        raise OutputError(f"{option} {target}: holds files circles did not write ({shown}); "
                          "choose an empty or new folder")
    return target, base


def _staging_base(real: Path, shown: Path, option: str) -> Path:
    """Stage beside folder `real` (absolute) when it can be renamed there, else inside it.

    Inside: a mount point (it cannot be renamed), the working folder of this process (the shell
    would be left in a deleted folder), or a folder whose parent cannot be written.
    """
    inside = real.is_dir() and (os.path.ismount(real) or real.stat().st_dev != real.parent.stat().st_dev
                                or Path.cwd().resolve().is_relative_to(real.resolve()))
    if not inside:
        try:
            _probe(real.parent, real.name)
            return real.parent
        except OSError as exc:
            if not real.is_dir():
                raise _output_error(option, shown, exc) from None
    try:
        _probe(real, real.name)
    except OSError as exc:
        raise _output_error(option, shown, exc) from None
    return real


def _probe(folder: Path, name: str) -> None:
    probe = folder / _working_name(name, "probe")
    fd = os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    try:
        os.write(fd, b"0")
    finally:
        os.close(fd)
        probe.unlink(missing_ok=True)


def _foreign_entries(folder: Path, *, depth: int = 0) -> list[str]:
    """Names in `folder` that no circles run wrote (subfolders: district folders of a batch run)."""
    listed: set[str] = set()
    try:
        marker = json.loads((folder / RUN_MARKER).read_text(encoding="utf-8"))
        listed = {str(n) for n in marker.get("files", [])} if isinstance(marker, dict) else set()
    except (OSError, ValueError):
        pass
    foreign = []
    with os.scandir(folder) as entries:
        for e in sorted(entries, key=lambda e: e.name):
            name = e.name
            if name in KNOWN_OUTPUTS or name in listed or name in _SYSTEM_FILES or _working_kind(name):
                continue
            if depth == 0 and e.is_dir(follow_symlinks=False) and not _foreign_entries(Path(e.path), depth=1):
                continue
            foreign.append(name + ("/" if e.is_dir(follow_symlinks=False) else ""))
    return foreign


# ============================================================================ leftovers
def _token() -> str:
    return f"{os.getpid()}-{secrets.token_hex(4)}"


def _working_name(name: str, kind: str) -> str:
    return f".{name}.circles-{kind}-{_token()}"


def _working_kind(name: str) -> tuple[str, str] | None:
    """``(original name, kind)`` of a working entry ``.<name>.circles-<kind>-<token>``, else None."""
    if not name.startswith("."):
        return None
    head, sep, tail = name[1:].rpartition(".circles-")
    kind = tail.split("-", 1)[0]
    if not sep or not head or kind not in _KINDS:
        return None
    return head, kind


def _lock(path: Path) -> int | None:
    """A held ``flock`` on `path` (a file or folder): the owner of a working entry is alive while it is held."""
    if fcntl is None:
        return None
    fd = os.open(path, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        os.close(fd)
        raise
    return fd


def _unlock(fd: int | None) -> None:
    if fd is not None:
        os.close(fd)  # closing releases the flock


def _abandoned(path: Path) -> bool:
    """True when no living run holds `path` (its lock can be taken, or it is older than a day)."""
    if fcntl is None:
        try:
            return time.time() - path.lstat().st_mtime > STALE_AFTER_S
        except OSError:
            return False
    try:
        fd = _lock(path)
    except OSError:
        return False  # locked: its run is alive (or it vanished meanwhile)
    _unlock(fd)
    return True


def clean_leftovers(folder: Path) -> list[Path]:
    """Remove the working entries of killed runs in `folder`; undo a folder swap that stopped half-way.

    An ``old`` entry (earlier outputs renamed aside) whose folder is missing is renamed back;
    every other abandoned entry is removed. Entries of living runs are left alone.

    Returns
    -------
    list of pathlib.Path
        What was removed or restored.
    """
    done = []
    if not folder.is_dir():
        return done
    with os.scandir(folder) as entries:
        found = sorted((e.name, parsed) for e in entries if (parsed := _working_kind(e.name)))
    for name, (original, kind) in found:
        path = folder / name
        if not _abandoned(path):
            continue
        home = folder / original
        if kind == "old" and not os.path.lexists(home):
            os.rename(path, home)  # the earlier outputs go back where they were
        else:
            _remove(path)
        done.append(path)
    return done


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)


# ============================================================================ swapping folders
def replace_folder(source: Path, target: Path, *, exchange: bool = True) -> None:
    """Put folder `source` in place of folder `target` as a whole (both on one file system).

    With `exchange` on Linux, ``renameat2(RENAME_EXCHANGE)`` swaps the two in one step and the old
    folder (now at `source`) is removed. Otherwise `target` is renamed aside (locked, named
    ``.<target>.circles-old-…``), `source` renamed into place and the old folder removed; if the
    process dies in between, `clean_leftovers` of the next run renames the old folder back.

    Raises
    ------
    OSError
        When a rename fails (`target` is then as it was).
    """
    if not os.path.lexists(target):
        os.rename(source, target)
        return
    if exchange and _rename_exchange(source, target):
        _remove(source)
        return
    aside = target.parent / _working_name(target.name, "old")
    lock = _lock(target)
    try:
        os.rename(target, aside)
        try:
            os.rename(source, target)
        except BaseException:
            os.rename(aside, target)
            raise
        _remove(aside)
    finally:
        _unlock(lock)


def _rename_exchange(a: Path, b: Path) -> bool:
    """Swap `a` and `b` atomically; False when this system or file system cannot."""
    fn = _renameat2()
    if fn is None:
        return False
    if fn(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE) == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP, errno.ENOTSUP, errno.EPERM):
        return False  # not supported here: rename aside instead
    raise OSError(err, os.strerror(err), str(b))


_RENAMEAT2: list[Any] = []


def _renameat2() -> Any:
    if not _RENAMEAT2:
        fn = None
        if sys.platform.startswith("linux"):
            try:
                fn = ctypes.CDLL(None, use_errno=True).renameat2
                fn.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
                fn.restype = ctypes.c_int
            except (OSError, AttributeError):  # a libc without renameat2 (glibc < 2.28, musl < 1.2.x)
                fn = None
        _RENAMEAT2.append(fn)
    return _RENAMEAT2[0]


# ============================================================================ writing
class OutputFolder:
    """Stage files, then replace the whole folder `path` with them (see the module text).

    Use `write_run` for a finished mapping of files; this class is for writers that produce
    files one by one. Used as a context manager, the staging folder is removed when the block
    raises (KeyboardInterrupt included).

    Parameters
    ----------
    path
        The output folder; checked with `check_output_dir`.
    option
        How the folder was given, for messages (``"--out"``).

    Example
    -------
    >>> import tempfile
    >>> with OutputFolder(Path(tempfile.mkdtemp()) / "out") as out:
    ...     out.write("a.txt", b"1")
    ...     out.write_json("b.json", {"n": 1})
    ...     [p.name for p in out.commit()]
    ['a.txt', 'b.json']
    """

    marker = True  # a folder written as a whole lists its files in RUN_MARKER
    replaces_folder = True  # the folder is replaced as a whole: only circles files may be in it

    def __init__(self, path: str | os.PathLike, *, option: str = "--out"):
        self.option = option
        self.path, base = _checked(path, option, others_ok=not self.replaces_folder)
        self._real = Path(os.path.abspath(self.path))
        self._in_place = base == self._real
        self._stage = base / _working_name(self._real.name, "stage")
        self._names: list[str] = []
        self._lock: int | None = None
        try:
            os.mkdir(self._stage)
            self._lock = _lock(self._stage)
        except OSError as exc:
            self.abort()
            raise _output_error(option, self.path, exc) from None

    def __enter__(self) -> OutputFolder:
        return self

    def __exit__(self, kind: Any, exc: Any, tb: Any) -> None:
        self.abort()  # after commit there is nothing left to remove

    def write(self, name: str, data: FileData) -> None:
        """Stage file `name` (a plain file name) with `data`: bytes, or a function writing the path it gets."""
        if not name or name != Path(name).name or name in (".", "..", RUN_MARKER) or _working_kind(name):
            raise ValueError(f"output file name {name!r} must be a plain file name")
        if name in self._names:
            raise ValueError(f"output file {name!r} is written twice")
        dest = self._stage / name
        try:
            if callable(data):
                data(dest)
            else:
                with open(dest, "xb") as f:
                    f.write(data)
        except OSError as exc:
            raise _output_error(self.option, self.path, exc) from None
        self._names.append(name)

    def write_text(self, name: str, text: str) -> None:
        """Stage a UTF-8 text file."""
        self.write(name, text.encode("utf-8"))

    def write_json(self, name: str, obj: Any) -> None:
        """Stage `obj` as indented UTF-8 JSON (non-ASCII kept) ending in a newline."""
        self.write(name, (json.dumps(obj, ensure_ascii=False, indent=2) + "\n").encode("utf-8"))

    def commit(self) -> list[Path]:
        """Put the staged files in place; returns their paths in the order written."""
        try:
            if self.marker:
                _write_marker(self._stage / RUN_MARKER, self._names)
            if self.path.is_dir() and self.replaces_folder:
                _checked(self.path, self.option)  # nothing of the user's appeared meanwhile
            self._put_in_place()
        except OSError as exc:
            raise _output_error(self.option, self.path, exc) from None
        finally:
            self.abort()
        return [self.path / n for n in self._names]

    def abort(self) -> None:
        """Remove the staging folder (and release its lock); the target stays as it was."""
        _unlock(self._lock)
        self._lock = None
        _remove(self._stage)

    def _put_in_place(self) -> None:
        if self._in_place:  # a mount point cannot be renamed: swap its content file by file
            keep = set(self._names) | {RUN_MARKER, self._stage.name} | _SYSTEM_FILES
            for name in self._names + [RUN_MARKER]:
                os.replace(self._stage / name, self._real / name)
            with os.scandir(self._real) as entries:
                stale = [Path(e.path) for e in entries if e.name not in keep and not _working_kind(e.name)]
            for p in stale:
                _remove(p)
            return
        if self._real.is_dir():
            try:
                os.chmod(self._stage, stat.S_IMODE(self._real.stat().st_mode))  # keep the folder's permissions
            except OSError:
                pass
        replace_folder(self._stage, self._real)


class OutputFiles(OutputFolder):
    """Stage files, then replace only those files in folder `path` (each atomically); others stay.

    For folders that hold more than one run's files, e.g. the top level of a `circles batch`
    output (the combined tables beside the district folders). Other files in the folder stay
    (so they are allowed); a `RUN_MARKER` already there is updated with the names.
    """

    marker = False
    replaces_folder = False

    def _put_in_place(self) -> None:
        self.path.mkdir(exist_ok=True)
        for name in self._names:
            os.replace(self._stage / name, self.path / name)
        if (self.path / RUN_MARKER).exists():
            try:
                listed = json.loads((self.path / RUN_MARKER).read_text(encoding="utf-8")).get("files", [])
            except (ValueError, AttributeError):
                listed = []
            atomic_write_bytes(self.path / RUN_MARKER, _marker_bytes([*listed, *self._names]))


def write_run(path: str | os.PathLike, files: Mapping[str, FileData], *, option: str = "--out") -> list[Path]:
    """Write a whole run: folder `path` ends up holding exactly `files` (plus `RUN_MARKER`).

    Parameters
    ----------
    path
        The output folder (created; an existing one must pass `check_output_dir`).
    files
        File name → bytes (or a function writing the path it is given), in the order to write.
    option
        How the folder was given, for messages.

    Returns
    -------
    list of pathlib.Path
        The written files, in the order of `files`.

    Raises
    ------
    OutputError
        The folder cannot be written (nothing is changed then).
    """
    return _write_all(OutputFolder(path, option=option), files)


def write_files(path: str | os.PathLike, files: Mapping[str, FileData], *, option: str = "--out") -> list[Path]:
    """Replace only the named `files` in folder `path` (each atomically, after all are staged).

    For the top-level files of a `circles batch` output, beside its district folders.
    """
    return _write_all(OutputFiles(path, option=option), files)


def _write_all(out: OutputFolder, files: Mapping[str, FileData]) -> list[Path]:
    with out:
        for name, data in files.items():
            out.write(name, data)
        return out.commit()


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> Path:
    """Write one file atomically: a locked temporary file beside it, then `os.replace`.

    Readers see the old file or the new one, never a part; a failure leaves the old file.

    Raises
    ------
    OutputError
        The file cannot be written (names the file, the problem and the fix).
    """
    path = Path(path)
    tmp = path.parent / _working_name(path.name, "tmp")
    fd = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666)
        if fcntl is not None:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view):]
        os.close(fd)
        fd = None
        os.replace(tmp, path)
    except BaseException as exc:
        if fd is not None:
            os.close(fd)
        tmp.unlink(missing_ok=True)
        if isinstance(exc, OSError):
            raise _output_error("cannot write", path, exc) from None
        raise
    return path


def _marker_bytes(names: Iterable[str]) -> bytes:
    doc = {"written_by": "circles", "files": sorted(set(names))}
    return (json.dumps(doc, ensure_ascii=False, indent=1) + "\n").encode("utf-8")


def _write_marker(path: Path, names: Iterable[str]) -> None:
    with open(path, "xb") as f:
        f.write(_marker_bytes(names))


# ============================================================================ messages
_PROBLEMS = {
    errno.ENOSPC: ("the disk is full", "free some space or choose a folder on another disk"),
    errno.EDQUOT: ("the disk quota is used up", "free some space or choose a folder on another disk"),
    errno.EROFS: ("the file system is read-only", "choose a writable folder"),
    errno.EACCES: ("permission denied", "choose a folder you can write to"),
    errno.EPERM: ("permission denied", "choose a folder you can write to"),
    errno.ENOTDIR: ("a part of the path is a file, not a folder", "give a folder path"),
    errno.EISDIR: ("a folder is in the way of an output file", "remove it or choose another folder"),
    errno.ENAMETOOLONG: ("the path is too long", "choose a shorter path"),
    errno.EEXIST: ("a part of the path is a file, not a folder", "give a folder path"),  # mkdir over a file
}


def _output_error(option: str, path: Path, exc: OSError) -> OutputError:
    """One line naming the folder, the problem and the fix, from any `OSError`."""
    problem, fix = _PROBLEMS.get(exc.errno, (exc.strerror or str(exc), "check the folder and try again"))
    return OutputError(f"{option} {path}: {problem}; {fix}")
