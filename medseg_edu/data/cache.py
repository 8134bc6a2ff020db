"""Where generated data and downloads are cached, and a self-healing ``.npz`` cache."""

from __future__ import annotations

import os
import pickle
import tempfile
import zipfile
import zlib
from pathlib import Path

import numpy as np

# Everything a truncated, corrupt or foreign file can raise while being loaded.
_UNREADABLE = (OSError, EOFError, ValueError, KeyError, zipfile.BadZipFile, zlib.error, pickle.UnpicklingError)


def cache_dir() -> Path:
    """``$MEDSEG_EDU_CACHE`` or ``~/.cache/medseg_edu``; created on first use.

    Everything in it can be deleted at any time: it is regenerated
    deterministically (phantom datasets) or re-downloaded on request (MSD).
    """
    path = Path(os.environ.get("MEDSEG_EDU_CACHE", Path.home() / ".cache" / "medseg_edu")).expanduser()
    path.mkdir(parents=True, exist_ok=True)
    return path


def _load(path, keys):
    with open(path, "rb") as file:
        if file.read(4) not in (b"PK\x03\x04", b"PK\x05\x06"):  # else np.load tries .npy or pickle
            raise ValueError("not an .npz archive")
    with np.load(path) as stored:
        arrays = {key: stored[key] for key in stored.files}  # reads (and CRC-checks) every member
    missing = [key for key in keys or () if key not in arrays]
    if missing:
        raise ValueError(f"no array named {', '.join(map(repr, missing))}")
    return arrays


def cached_arrays(path_or_name, build, *, keys=None) -> dict[str, np.ndarray]:
    """Load the arrays of an ``.npz`` cache file, or build and store them.

    A file that cannot be read (cut short by a killed kernel or a full disk,
    or from another program) is reported in one printed line, deleted and
    rebuilt, so the learner never has to clean the cache by hand. A new file
    is written to a uniquely named temporary file next to it and renamed
    into place (atomic), so a half-written file never looks complete and two
    kernels filling the same cache at once do not collide.

    Parameters
    ----------
    path_or_name : str or os.PathLike
        The cache file; a relative path is taken inside :func:`cache_dir`.
    build : callable
        ``build() -> dict[str, array]``, called only when the file is missing or unreadable.
    keys : iterable of str, optional
        Arrays the file must hold; a file without one of them counts as unreadable.

    Returns
    -------
    dict of str to np.ndarray
        The stored arrays, or the ones ``build`` returned (as returned) when it ran.
    """
    path = Path(path_or_name)
    if not path.is_absolute():
        path = cache_dir() / path
    keys = tuple(keys) if keys is not None else None
    if path.exists():
        try:
            return _load(path, keys)
        except _UNREADABLE as error:
            reason = " ".join(f"{type(error).__name__}: {error}".split())
            print(f"medseg_edu: cache file {path} cannot be read ({reason}); deleting it and rebuilding.")
            path.unlink(missing_ok=True)
    arrays = build()
    missing = [key for key in keys or () if key not in arrays]
    if missing:  # storing it would only make the next call rebuild again
        raise ValueError(f"build() returned no array named {', '.join(map(repr, missing))}")
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".npz", dir=path.parent)
    try:
        with os.fdopen(handle, "wb") as file:
            np.savez_compressed(file, **arrays)
        os.chmod(temporary, 0o644)  # mkstemp makes it private; keep the usual permissions
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return arrays
