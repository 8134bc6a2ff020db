"""Where generated data and downloads are cached."""

from __future__ import annotations

import os
from pathlib import Path


def cache_dir() -> Path:
    """``$MEDSEG_EDU_CACHE`` or ``~/.cache/medseg_edu``; created on first use.

    Everything in it can be deleted at any time: it is regenerated
    deterministically (phantom datasets) or re-downloaded on request (MSD).
    """
    path = Path(os.environ.get("MEDSEG_EDU_CACHE", Path.home() / ".cache" / "medseg_edu")).expanduser()
    path.mkdir(parents=True, exist_ok=True)
    return path
