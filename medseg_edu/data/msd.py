"""Opt-in real data: the Medical Segmentation Decathlon prostate task (Task05).

Nothing here runs unless asked. :func:`fetch_msd_prostate` downloads the
archive (about 229 MB) once into the cache, checks its md5 and extracts it
safely; :func:`load_msd_prostate` turns the cases into :class:`Case` objects
like the phantoms. Offline, :func:`fetch_msd_prostate` fails fast with a
:class:`DatasetUnavailableError`: the phantoms
(:func:`medseg_edu.data.prostate_phantom`) never need a network.

Licence: CC-BY-SA 4.0 (Radboud University Nijmegen). Cite Simpson et al.
2019 (arXiv:1902.09063) and Antonelli et al. 2022 (Nat Commun 13:4128).
"""

from __future__ import annotations

import hashlib
import http.client
import json
import os
import shutil
import socket
import tarfile
import tempfile
import urllib.error
import urllib.request
from pathlib import Path, PurePosixPath

import numpy as np

from ..io import read_scan
from .cache import cache_dir
from .case import Case

__all__ = [
    "MSD_PROSTATE_URL",
    "MSD_PROSTATE_MD5",
    "DatasetUnavailableError",
    "ChecksumError",
    "UnsafeArchiveError",
    "fetch_msd_prostate",
    "load_msd_prostate",
    "load_msd_label",
    "load_labelled_scan",
    "safe_extract_tar",
    "default_cache_dir",
]

MSD_PROSTATE_URL = "https://msd-for-monai.s3-us-west-2.amazonaws.com/Task05_Prostate.tar"
MSD_PROSTATE_MD5 = "35138f08b1efaef89d7424d2bcc928db"
TASK_DIR = "Task05_Prostate"

_OFFLINE_HINT = ("The generated prostate phantoms (medseg_edu.data.prostate_phantom) "
                 "remain available offline and every notebook runs on them.")


class DatasetUnavailableError(RuntimeError):
    """The real dataset cannot be obtained (offline, server error, bad download)."""


class ChecksumError(DatasetUnavailableError):
    """The downloaded archive does not have the expected md5 checksum."""


class UnsafeArchiveError(RuntimeError):
    """An archive member would be written outside the target folder (or is a device)."""


def default_cache_dir() -> Path:
    """``$MEDSEG_EDU_CACHE`` or ``~/.cache/medseg_edu`` (see :func:`medseg_edu.data.cache.cache_dir`)."""
    return cache_dir()


# --------------------------------------------------------------------------- download


def _md5(path: Path, chunk: int = 1 << 20) -> str:
    h = hashlib.md5()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(chunk), b""):
            h.update(block)
    return h.hexdigest()


def _download(url: str, part: Path, timeout: float) -> str:
    """Stream ``url`` into ``part``; return the md5 of what was written."""
    from tqdm.auto import tqdm

    h = hashlib.md5()
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            total = response.headers.get("Content-Length")
            total = int(total) if total and total.isdigit() else None
            with open(part, "wb") as out, tqdm(
                total=total, unit="B", unit_scale=True, unit_divisor=1024,
                desc=url.rsplit("/", 1)[-1] or "download",
            ) as bar:
                while True:
                    block = response.read(1 << 20)
                    if not block:
                        break
                    out.write(block)
                    h.update(block)
                    bar.update(len(block))
            if total is not None and part.stat().st_size != total:
                raise DatasetUnavailableError(
                    f"Download of {url} stopped early: got {part.stat().st_size} of {total} bytes. "
                    f"Try again. {_OFFLINE_HINT}"
                )
    except DatasetUnavailableError:
        part.unlink(missing_ok=True)
        raise
    except (urllib.error.URLError, socket.timeout, TimeoutError, ConnectionError,
            http.client.HTTPException, OSError) as err:
        part.unlink(missing_ok=True)
        reason = getattr(err, "reason", None) or err
        raise DatasetUnavailableError(
            f"The download of the MSD Task05 prostate data failed ({type(err).__name__}: {reason}) "
            f"while fetching {url}. Are you offline, or behind a proxy? {_OFFLINE_HINT}"
        ) from err
    return h.hexdigest()


def _within(path: Path, root: Path) -> bool:
    try:
        path.relative_to(root)
        return True
    except ValueError:
        return False


def _check_member(member: tarfile.TarInfo, dest: Path) -> None:
    name = member.name
    pure = PurePosixPath(name.replace("\\", "/"))
    if pure.is_absolute() or name.startswith(("/", "\\")) or (len(name) > 1 and name[1] == ":"):
        raise UnsafeArchiveError(f"Refusing archive member {name!r}: absolute path")
    target = (dest / pure).resolve()
    if not _within(target, dest):
        raise UnsafeArchiveError(f"Refusing archive member {name!r}: it would be written outside {dest}")
    if member.isdev() or not (member.isfile() or member.isdir() or member.issym() or member.islnk()):
        raise UnsafeArchiveError(f"Refusing archive member {name!r}: device, FIFO or special file")
    if member.issym() or member.islnk():
        link = PurePosixPath(member.linkname.replace("\\", "/"))
        if link.is_absolute():
            raise UnsafeArchiveError(
                f"Refusing archive member {name!r}: link to absolute path {member.linkname!r}")
        base = target.parent if member.issym() else dest
        if not _within((base / link).resolve(), dest):
            raise UnsafeArchiveError(
                f"Refusing archive member {name!r}: link {member.linkname!r} points outside {dest}")


def safe_extract_tar(archive, dest) -> Path:
    """Extract a tar archive into ``dest``, refusing anything unsafe.

    Every member is checked *before* anything is written: absolute paths,
    paths that resolve outside ``dest`` (``../``), symbolic or hard links
    pointing outside ``dest``, and device/FIFO members raise
    :class:`UnsafeArchiveError` naming the member. macOS ``._*`` resource
    files are skipped. Returns ``dest``.
    """
    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    dest = dest.resolve()
    with tarfile.open(archive) as tar:
        members = tar.getmembers()
        keep = []
        for m in members:
            _check_member(m, dest)
            if PurePosixPath(m.name).name.startswith("._"):
                continue
            keep.append(m)
        if hasattr(tarfile, "data_filter"):  # Python >= 3.11.4 / 3.12: belt and braces
            tar.extractall(dest, members=keep, filter="data")
        else:  # pragma: no cover - older Pythons
            tar.extractall(dest, members=keep)
    return dest


def fetch_msd_prostate(cache_dir=None, *, url: str = MSD_PROSTATE_URL, md5: str = MSD_PROSTATE_MD5,
                       timeout: float = 20, keep_archive: bool = False) -> Path:
    """Download (once) and extract the MSD Task05 prostate dataset.

    Parameters
    ----------
    cache_dir : str or Path, optional
        Where to keep it; default ``$MEDSEG_EDU_CACHE`` or
        ``~/.cache/medseg_edu``.
    url, md5 : str
        Archive location and expected md5 (the defaults are the public
        archive and the checksum MONAI uses). The md5 is hexadecimal, in
        either case.
    timeout : float
        Seconds to wait for the server to answer / send data.
    keep_archive : bool
        Keep the ``.tar`` (about 229 MB) after extraction. Default False:
        only the extracted folder stays.

    Returns
    -------
    pathlib.Path
        ``<cache>/Task05_Prostate`` (holds ``dataset.json``, ``imagesTr/``,
        ``labelsTr/``, ``imagesTs/``). Returned at once when it is already
        there.

    Raises
    ------
    DatasetUnavailableError
        Offline, DNS failure, timeout or HTTP error (raised within seconds,
        the message says why and that the phantoms remain available).
    ChecksumError
        The download's md5 differs: the partial file is deleted.
    UnsafeArchiveError
        The archive holds a member that would escape the target folder.

    Notes
    -----
    The download goes to ``Task05_Prostate.tar.part`` and is renamed to
    ``.tar`` only after the md5 matches, and the archive is extracted into a
    temporary folder that is renamed into place last: an interrupted run
    never leaves something that looks complete.
    """
    md5 = str(md5).strip().lower()  # hexdigest() is lower case; a checksum copied in upper case is the same
    cache = Path(cache_dir).expanduser() if cache_dir is not None else default_cache_dir()
    root = cache / TASK_DIR
    if (root / "dataset.json").exists():
        return root
    cache.mkdir(parents=True, exist_ok=True)
    archive = cache / f"{TASK_DIR}.tar"
    part = cache / f"{TASK_DIR}.tar.part"

    if archive.exists() and _md5(archive) != md5:
        archive.unlink()  # a stale or foreign file: fetch again
    if not archive.exists():
        got = _download(url, part, timeout)
        if got != md5:
            part.unlink(missing_ok=True)
            raise ChecksumError(
                f"The downloaded MSD Task05 archive is corrupt: md5 {got}, expected {md5} "
                f"(from {url}). The partial download was deleted; try again. {_OFFLINE_HINT}"
            )
        os.replace(part, archive)

    tmp = Path(tempfile.mkdtemp(prefix=f".{TASK_DIR}-extract-", dir=cache))
    try:
        safe_extract_tar(archive, tmp)
        candidates = [p.parent for p in tmp.rglob("dataset.json")]
        extracted = tmp / TASK_DIR
        if not (extracted / "dataset.json").exists():
            if len(candidates) != 1:
                raise DatasetUnavailableError(
                    f"The archive {archive} does not contain {TASK_DIR}/dataset.json; "
                    f"is it the MSD prostate archive? {_OFFLINE_HINT}")
            extracted = candidates[0]
        if root.exists():  # a leftover without dataset.json
            shutil.rmtree(root)
        os.replace(extracted, root)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    if not keep_archive:
        archive.unlink(missing_ok=True)
    return root


# --------------------------------------------------------------------------- loading


def _case_name(path: Path) -> str:
    name = path.name
    for ext in (".nii.gz", ".nii"):
        if name.endswith(ext):
            return name[: -len(ext)]
    return path.stem


def _is_nifti(path: Path) -> bool:
    return path.name.endswith((".nii.gz", ".nii")) and not path.name.startswith("._")


def load_msd_label(path):
    """Load one MSD prostate label file.

    Returns
    -------
    labels : numpy.ndarray of uint8
        3D ``(x, y, z)`` RAS, values in {0, 1, 2} (0 background, 1 PZ,
        2 TZ). A file with label 1 only (no TZ, e.g. prostate_18) is valid.
    spacing : tuple of float
        Voxel size in mm.

    Raises
    ------
    ValueError
        If the file holds other values or is not 3D (the message names it).
    """
    labels, vol = _read_label(path)
    return labels, tuple(vol.spacing)


#: Largest disagreement (mm) tolerated between where an image and its label map put a voxel.
GEOMETRY_TOLERANCE_MM = 0.01


def _corner_mismatch_mm(image_affine, label_affine, shape) -> float:
    """How far apart (mm) the two affines place the corners of a ``shape`` grid, at most."""
    corners = np.array([[i, j, k, 1.0] for i in (0, shape[0] - 1) for j in (0, shape[1] - 1)
                        for k in (0, shape[2] - 1)])
    a = corners @ np.asarray(image_affine, float)[:4, :4].T
    b = corners @ np.asarray(label_affine, float)[:4, :4].T
    return float(np.linalg.norm(a[:, :3] - b[:, :3], axis=1).max())


def _read_label(path):
    """The validated uint8 label array and the :class:`Volume` it came from."""
    path = Path(path)
    vol = read_scan(path)
    arr = vol.array
    if arr.ndim != 3:
        raise ValueError(f"Label file '{path}' should be 3D, has shape {arr.shape}")
    if np.issubdtype(arr.dtype, np.floating):
        if not np.all(np.isfinite(arr)):
            raise ValueError(f"Label file '{path}' contains NaN or infinite values")
        rounded = np.rint(arr)
        if np.abs(arr - rounded).max(initial=0) > 1e-3:
            raise ValueError(f"Label file '{path}' holds non-integer values; expected 0, 1, 2")
        arr = rounded
    values = np.unique(arr)
    bad = [v for v in values.tolist() if v not in (0, 1, 2)]
    if bad:
        nonzero = [v for v in values.tolist() if v != 0]
        hint = (f"a whole-gland mask stored as 0/{nonzero[0]:g}? Save (labels > 0) as uint8 instead"
                if len(nonzero) == 1 else
                "a map of several organs? Save the gland's labels alone, e.g. np.isin(labels, [k]) as uint8")
        raise ValueError(
            f"Label file '{path}' holds values {sorted(bad)[:10]} besides 0 (background), "
            f"1 (PZ) and 2 (TZ); is it a prostate label map? ({hint})"
        )
    return arr.astype(np.uint8), vol


def _entries(root: Path, split: str):
    """(name, image path, label path or None) for the split, sorted by name."""
    meta_file = root / "dataset.json"
    pairs = []
    if meta_file.exists():
        with open(meta_file) as f:
            meta = json.load(f)
        if split == "train":
            for item in meta.get("training", []):
                img = root / item["image"]
                lab = root / item["label"] if item.get("label") else None
                pairs.append((img, lab))
        else:
            for item in meta.get("test", []):
                img = root / (item["image"] if isinstance(item, dict) else item)
                pairs.append((img, None))
    else:
        folder = root / ("imagesTr" if split == "train" else "imagesTs")
        for img in sorted(folder.glob("*.nii*")):
            lab = root / "labelsTr" / img.name if split == "train" else None
            pairs.append((img, lab))
    out = []
    for img, lab in pairs:
        img = Path(os.path.normpath(img))
        if not _is_nifti(img):
            continue
        if lab is not None:
            lab = Path(os.path.normpath(lab))
        out.append((_case_name(img), img, lab))
    return sorted(out, key=lambda t: t[0])


def load_msd_prostate(root, split: str = "train", cases=None, *, adc: bool = True) -> list:
    """Load MSD Task05 prostate cases as :class:`Case` objects.

    Parameters
    ----------
    root : str or Path
        The ``Task05_Prostate`` folder (as returned by
        :func:`fetch_msd_prostate`), or the folder that contains it.
    split : {"train", "test"}
        ``"train"``: imagesTr with labelsTr. ``"test"``: imagesTs, which have
        no labels: ``labels`` is all zeros and ``meta["has_labels"]`` False.
    cases : None, int, str or sequence of int/str
        Which cases: all (None), names like ``"prostate_00"``, or integer
        positions in the name-sorted list (``range(4)`` = the first four).
        Each case takes ~16 MB in memory (T2 + ADC float32), so pick a few.
    adc : bool
        Also load the ADC map into ``Case.adc`` (default True).

    Returns
    -------
    list of Case
        ``image`` = T2 (float32, channel 0 of the 4D file), ``adc`` =
        channel 1, ``labels`` uint8 (0 bg, 1 PZ, 2 TZ), ``spacing`` (mm) and
        ``affine`` of the image, canonical RAS; ``meta`` has the file names,
        ``has_labels`` and the zones present.
    """
    root = _task_folder(root, split)
    return [_load_case(name, img_path, lab_path, split, adc)
            for name, img_path, lab_path in _choose_cases(_entries(root, split), cases, split, root)]


def load_labelled_scan(image_path, label_path) -> Case:
    """One real scan and its expert label map, from any two files, as a :class:`Case`.

    For labelled scans kept outside MSD's folder layout (e.g. a hospital's validation set):
    image and label map are read with ``io.read_scan`` (NIfTI, a folder of DICOM slices, NRRD or
    MetaImage, each in any of them: NCI-ISBI 2013 pairs DICOM series with NRRD label maps; a 4D
    MSD-style file gives its first channel, T2). The label map must be 3D, hold only 0, 1
    and 2 (any non-zero value is gland) and lie voxel for voxel on the image's grid.

    Parameters
    ----------
    image_path, label_path : str or Path

    Returns
    -------
    Case
        ``image`` float32, ``labels`` uint8, ``spacing`` (mm) and ``affine`` of the image;
        ``meta`` names both files.

    Raises
    ------
    FileNotFoundError, ValueError
        A missing file, a label map on another grid or with other values, or one that marks
        no gland (the message names the file).
    """
    img_path, lab_path = Path(image_path), Path(label_path)
    case = _load_case(_case_name(img_path), img_path, lab_path, "train", adc=False)
    case.meta.update(source=f"{img_path.name}, expert labels {lab_path.name}", split=None)  # no MSD split
    if not case.gland.any():
        raise ValueError(f"Label file '{lab_path}' marks no gland voxel: nothing to measure against")
    return case


def _task_folder(root, split: str) -> Path:
    """The Task05_Prostate folder under ``root`` (or ``root`` itself), checked."""
    root = Path(root)
    if not (root / "dataset.json").exists() and (root / TASK_DIR).is_dir():
        root = root / TASK_DIR
    if split not in ("train", "test"):
        raise ValueError(f"split must be 'train' or 'test', got {split!r}")
    if not root.is_dir():
        raise FileNotFoundError(f"No MSD Task05 folder at '{root}'; use fetch_msd_prostate() first")
    return root


def _choose_cases(entries, cases, split: str, root: Path) -> list:
    """The entries named or numbered by ``cases`` (all for None), in the order asked."""
    if not entries:
        raise FileNotFoundError(f"No {split} images found under '{root}'")
    if cases is None:
        return entries
    if isinstance(cases, (int, np.integer, str)):
        cases = [cases]
    names = [e[0] for e in entries]
    chosen = []
    for c in cases:
        if isinstance(c, (int, np.integer)):
            if not -len(entries) <= int(c) < len(entries):
                raise IndexError(f"case index {c} out of range: the {split} split has {len(entries)} cases")
            chosen.append(entries[int(c)])
        else:
            if str(c) not in names:
                raise KeyError(f"no {split} case named {c!r}; available: {', '.join(names)}")
            chosen.append(entries[names.index(str(c))])
    return chosen


def _t2_and_adc(vol, img_path, adc: bool):
    """Channel 0 (T2) and, if asked and present, channel 1 (ADC) of an MSD image, float32."""
    arr = vol.array
    if arr.ndim == 4:
        image = np.ascontiguousarray(arr[..., 0], dtype=np.float32)
        adc_map = np.ascontiguousarray(arr[..., 1], dtype=np.float32) if adc and arr.shape[-1] > 1 else None
        return image, adc_map
    if arr.ndim == 3:
        return arr.astype(np.float32), None
    raise ValueError(f"Image file '{img_path}' should be 3D or 4D, has shape {arr.shape}")


def _labels_on(vol, image_shape, img_path, lab_path) -> np.ndarray:
    """The label map of ``lab_path``, checked to lie voxel for voxel on the image's grid."""
    if not lab_path.exists():
        raise FileNotFoundError(f"Label file '{lab_path}' for image '{img_path}' is missing")
    labels, label_vol = _read_label(lab_path)
    if labels.shape != image_shape:
        raise ValueError(
            f"Shape mismatch: image '{img_path}' is {image_shape} but label "
            f"'{lab_path}' is {labels.shape}"
        )
    # Same shape is not enough: a label map shifted or flipped in space marks the wrong voxels.
    mismatch = _corner_mismatch_mm(vol.affine, label_vol.affine, image_shape)
    if mismatch > GEOMETRY_TOLERANCE_MM:
        raise ValueError(
            f"Geometry mismatch: label '{lab_path}' does not lie on image '{img_path}': their "
            f"affines place voxels up to {mismatch:.2f} mm apart (tolerance "
            f"{GEOMETRY_TOLERANCE_MM} mm); the label map belongs to another grid"
        )
    return labels


def _load_case(name, img_path, lab_path, split: str, adc: bool) -> Case:
    """One MSD case as a :class:`Case` (all-zero labels for the unlabelled test split)."""
    vol = read_scan(img_path)
    image, adc_map = _t2_and_adc(vol, img_path, adc)
    has_labels = split == "train" and lab_path is not None
    labels = _labels_on(vol, image.shape, img_path, lab_path) if has_labels else np.zeros(image.shape, np.uint8)
    return Case(
        image=image,
        labels=labels,
        spacing=tuple(vol.spacing),
        affine=vol.affine,
        name=name,
        adc=adc_map,
        meta={
            "source": "MSD Task05 Prostate (CC-BY-SA 4.0)",
            "split": split,
            "image_file": str(img_path),
            "label_file": str(lab_path) if has_labels else None,
            "has_labels": has_labels,
            "zones_present": [z for z in (1, 2) if has_labels and np.any(labels == z)],
        },
    )
