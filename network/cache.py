"""The network cache: built networks kept as verified .npz arrays plus a JSON index, written atomically.

An entry is two files named by `cache_key`: ``<key>.npz`` (the arrays of
`CompactNetwork.arrays`, no pickles) and ``<key>.json`` (the index: cache version, each
array's dtype and shape, a sha256 over the arrays and one over the build report). Reading
checks all of it; an entry that is unreadable (truncated, empty, not a zip, malformed JSON),
inconsistent (arrays missing or of the wrong shape or dtype, arrays that do not fit together)
or tampered with (checksum mismatch) is ignored with a warning, and the caller rebuilds it.
Each file is written to a temporary file in the cache folder and moved into place with
`os.replace`, so readers never see half an entry file; temporary files left by killed writers
are removed.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import tempfile
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import IO, Any

import numpy as np

from network.compact import CompactNetwork
from network.errors import NetworkError

log = logging.getLogger(__name__)

CACHE_VERSION = 4
STALE_TMP_S = 600.0  # a temporary file this old belongs to a writer that was killed
_ENTRY = re.compile(r"^[0-9a-f]{32}\.(npz|json)$")
_TMP = re.compile(r"^(\.[0-9a-f]{32}\..*|tmp.*)\.tmp$")  # ours, and the unprefixed ones of cache version 3
_HEX64 = re.compile(r"^[0-9a-f]{64}$")


def default_cache_dir() -> Path:
    """``$CIRCLES_CACHE_DIR``, else ``~/.cache/circles``."""
    env = os.environ.get("CIRCLES_CACHE_DIR")
    return Path(env) if env else Path.home() / ".cache" / "circles"


def cache_key(path: Path, options: Mapping[str, Any]) -> str:
    """Key of the network built from `path` with `options`: sha256 of the file's bytes, the options
    and `CACHE_VERSION` (32 hex digits)."""
    h = hashlib.sha256()
    with Path(path).open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    h.update(json.dumps({"v": CACHE_VERSION, **options}, sort_keys=True).encode())
    return h.hexdigest()[:32]


def arrays_sha256(arrays: Mapping[str, np.ndarray]) -> str:
    """sha256 over every array's name, dtype, shape and bytes, in name order (hex)."""
    h = hashlib.sha256()
    for name in sorted(arrays):
        a = np.ascontiguousarray(arrays[name])
        h.update(f"{name}\0{a.dtype.str}\0{list(a.shape)}\0".encode())
        h.update(a.reshape(-1).view(np.uint8) if a.size and a.dtype.itemsize else b"")
    return h.hexdigest()


def report_sha256(report: Mapping[str, Any]) -> str:
    """sha256 of the report as canonical JSON (sorted keys) (hex)."""
    return hashlib.sha256(json.dumps(report, sort_keys=True, ensure_ascii=False).encode()).hexdigest()


def read_entry(cache_dir: Path, key: str) -> tuple[CompactNetwork | None, str]:
    """The cached network of `key`, verified, and what happened.

    Parameters
    ----------
    cache_dir
        The cache folder.
    key
        From `cache_key`.

    Returns
    -------
    tuple of (CompactNetwork or None, str)
        ``(net, "hit")``; ``(None, "miss")`` when there is no entry; ``(None, "rebuilt:
        <reason>")`` when the entry is unreadable, inconsistent or tampered with (also logged
        as a warning): the caller builds the network again and records that status.
    """
    npz, index = cache_dir / f"{key}.npz", cache_dir / f"{key}.json"
    if not npz.exists() and not index.exists():
        return None, "miss"
    try:
        net = _read_verified(npz, index)
    except _BadEntry as exc:
        reason = " ".join(str(exc).split())
    except Exception as exc:  # noqa: BLE001 - any failure reading a damaged entry means: rebuild it
        reason = f"unreadable entry ({type(exc).__name__}: {' '.join(str(exc).split())[:200]})"
    else:
        return net, "hit"
    log.warning("network cache entry %s ignored (%s); rebuilding it from the source", npz.with_suffix(""), reason)
    return None, f"rebuilt: {reason}"


class _BadEntry(Exception):
    """A cache entry that must be rebuilt; the message is the reason."""


def _read_verified(npz: Path, index_path: Path) -> CompactNetwork:
    for p, what in ((index_path, "index"), (npz, "arrays")):
        if not p.exists():
            raise _BadEntry(f"the {what} file {p.name} is missing")
        if p.stat().st_size == 0:
            raise _BadEntry(f"the {what} file {p.name} is empty")
    index = _read_index(index_path)
    try:
        with np.load(npz, allow_pickle=False) as data:
            arrays = {k: data[k] for k in data.files}
    except Exception as exc:  # noqa: BLE001 - BadZipFile, EOFError, ValueError, OSError ...
        raise _BadEntry(f"the arrays file {npz.name} is unreadable ({type(exc).__name__}: "
                        f"{' '.join(str(exc).split())[:200]})") from None
    spec = index["arrays"]
    if set(arrays) != set(spec):
        missing, extra = sorted(set(spec) - set(arrays)), sorted(set(arrays) - set(spec))
        raise _BadEntry(f"the arrays file does not match its index (missing {missing}, extra {extra})")
    for name, a in arrays.items():
        if a.dtype.str != spec[name]["dtype"] or list(a.shape) != spec[name]["shape"]:
            raise _BadEntry(f"array {name} is {a.dtype.str}{list(a.shape)} but the index says "
                            f"{spec[name]['dtype']}{spec[name]['shape']}")
    if arrays_sha256(arrays) != index["sha256"]:
        raise _BadEntry("the arrays do not match their checksum (changed or damaged after writing)")
    if report_sha256(index["report"]) != index["report_sha256"]:
        raise _BadEntry("the build report does not match its checksum (changed or damaged after writing)")
    try:
        return CompactNetwork.from_arrays(arrays, index["report"])
    except NetworkError as exc:
        raise _BadEntry(f"inconsistent arrays ({exc})") from None


def _read_index(path: Path) -> dict[str, Any]:
    """The index JSON, with every field of the right type, or `_BadEntry`."""
    try:
        index = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise _BadEntry(f"the index file {path.name} is not valid JSON ({exc})") from None
    if not isinstance(index, dict):
        raise _BadEntry(f"the index file {path.name} holds a {type(index).__name__}, not an object")
    version = index.get("cache_version")
    if version != CACHE_VERSION:
        raise _BadEntry(f"the index says cache version {version!r}, this is version {CACHE_VERSION}")
    spec = index.get("arrays")
    good_spec = isinstance(spec, dict) and spec and all(
        isinstance(v, dict) and isinstance(v.get("dtype"), str) and isinstance(v.get("shape"), list)
        and all(isinstance(d, int) and not isinstance(d, bool) and d >= 0 for d in v["shape"])
        for v in spec.values()
    )
    checks = {
        "arrays": good_spec,
        "sha256": isinstance(index.get("sha256"), str) and _HEX64.match(index["sha256"]),
        "report_sha256": isinstance(index.get("report_sha256"), str) and _HEX64.match(index["report_sha256"]),
        "report": isinstance(index.get("report"), dict),
    }
    bad = [k for k, ok in checks.items() if not ok]
    if bad:
        raise _BadEntry(f"the index file {path.name} has missing or malformed fields: {', '.join(bad)}")
    return index


def write_entry(net: CompactNetwork, cache_dir: Path, key: str) -> None:
    """Store `net` under `key`: the arrays, then the index that vouches for them, each atomically.

    Failures (read-only folder, full disk) are logged, not raised: the cache only saves time.
    Temporary files older than `STALE_TMP_S` (left by killed writers) are removed first.
    """
    arrays = net.arrays()
    try:
        report = json.loads(json.dumps(net.report))  # as a reader will see it: tuples as lists, keys as strings
        index = json.dumps({
            "cache_version": CACHE_VERSION,
            "arrays": {k: {"dtype": a.dtype.str, "shape": list(a.shape)} for k, a in arrays.items()},
            "sha256": arrays_sha256(arrays),
            "report_sha256": report_sha256(report),
            "report": report,
        }, ensure_ascii=False).encode()
    except (TypeError, ValueError) as exc:  # a report value JSON cannot hold
        log.warning("network not cached: its report is not JSON (%s)", exc)
        return
    try:
        cache_dir.mkdir(parents=True, exist_ok=True)
        remove_stale_temporaries(cache_dir)
        _atomic_write(cache_dir / f"{key}.npz", lambda f: np.savez(f, **arrays))
        _atomic_write(cache_dir / f"{key}.json", lambda f: f.write(index))
    except OSError as exc:
        log.warning("could not write the network cache in %s: %s", cache_dir, exc)


def _atomic_write(target: Path, writer: Callable[[IO[bytes]], object]) -> None:
    """Write through a temporary file in the same folder, then `os.replace`; the temporary file
    is removed on every failure (including KeyboardInterrupt)."""
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.stem}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            writer(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, target)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def remove_stale_temporaries(cache_dir: Path, *, older_than_s: float = STALE_TMP_S) -> int:
    """Remove the cache's temporary files older than `older_than_s` seconds; returns how many.

    A writer that is killed between creating its temporary file and moving it into place
    leaves it behind; younger files may belong to a writer still at work and are kept.
    """
    now, removed = time.time(), 0
    for p in _cache_files(cache_dir, _TMP):
        try:
            if now - p.stat().st_mtime >= older_than_s:
                p.unlink()
                removed += 1
        except OSError:  # another process removed or replaced it first
            continue
    return removed


def clear_cache(cache_dir: Path | None = None) -> tuple[int, int]:
    """Remove every network cache entry and temporary file.

    Only files the cache writes are touched (``<32 hex digits>.npz``/``.json`` and its
    temporary files), so a cache folder shared with other files is safe to clear.

    Parameters
    ----------
    cache_dir
        The cache folder (default: `default_cache_dir`). A folder that does not exist holds
        nothing to remove.

    Returns
    -------
    tuple of (int, int)
        Files removed and bytes freed.

    Examples
    --------
    >>> files, freed = clear_cache()  # doctest: +SKIP
    >>> print(f"removed {files} files, {freed / 1e6:.1f} MB")  # doctest: +SKIP
    """
    cdir = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    files = freed = 0
    for pattern in (_ENTRY, _TMP):
        for p in _cache_files(cdir, pattern):
            try:
                size = p.stat().st_size
                p.unlink()
            except OSError:  # removed meanwhile, or not ours to remove
                continue
            files += 1
            freed += size
    return files, freed


def _cache_files(cache_dir: Path, pattern: re.Pattern[str]) -> list[Path]:
    try:
        with os.scandir(cache_dir) as it:
            return [Path(e.path) for e in it if pattern.match(e.name) and e.is_file(follow_symlinks=False)]
    except (FileNotFoundError, NotADirectoryError):
        return []
