"""Simulated readers with callipers: how human diameters vary, within and between readers.

A radiologist measuring a lesion chooses a slice, lays a line across the lesion
in the direction that looks longest, puts the two calliper ends on what they see
as the edge and reads off a length rounded to a millimetre. A :class:`Reader`
does the same on a mask, with its own habits:

* ``bias_mm`` - where this reader puts each end relative to the edge, on average
  (> 0 outside, < 0 inside): the same every time, so it is a between-reader
  difference;
* ``jitter_mm`` - the scatter of each end point from one session to the next
  (within-reader variability);
* ``angle_sd_deg`` - how far the chosen direction strays from the truly longest one;
* ``wrong_slice`` - the chance of measuring on a neighbouring slice instead of the
  one where the lesion is largest;
* ``resolution_mm`` - the calliper read-out is rounded to this.

Every measurement is deterministic given the reader, the mask and the
``session`` number, so "the same reader, another day" is ``session=1``. The
algorithm to compare with is :func:`medseg_edu.recist.longest_diameter_mm`,
which gives the same answer every time. Readers and algorithm share one
geometry (:mod:`medseg_edu.recist`): the outline of a slice and its chords.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass

import numpy as np

from .. import recist, volumetry
from .._checks import as_mask, as_seed, as_spacing

__all__ = ["Reader", "ReaderEllipsoid", "reader_panel"]


def _fingerprint(mask, spacing) -> int:
    """A checksum of a mask and its spacing: the same mask gives the same reader's numbers."""
    return zlib.crc32(np.packbits(mask).tobytes() + repr((mask.shape, spacing)).encode())


_OUTLINES: dict = {}   # fingerprint -> (outlines, longest) of every slice; readers share the geometry


def _slice_outlines(mask, spacing, present):
    """Outline and longest chord (length mm, direction) of every slice holding the mask (cached)."""
    key = _fingerprint(mask, spacing)
    if key not in _OUTLINES:
        outlines = {k: recist.slice_outline_mm(mask[:, :, k], spacing[:2]) for k in present}
        if len(_OUTLINES) > 256:
            _OUTLINES.clear()
        _OUTLINES[key] = outlines, {k: recist.longest_chord(outlines[k]) for k in present}
    return _OUTLINES[key]


def _turned(direction, degrees):
    """``direction`` turned in-plane by ``degrees``."""
    t = np.deg2rad(degrees)
    c, s = np.cos(t), np.sin(t)
    return np.array([c * direction[0] - s * direction[1], s * direction[0] + c * direction[1]])


@dataclass(frozen=True)
class ReaderEllipsoid:
    """Three prostate diameters (mm) as one reader measured them, and the ellipsoid volume (mL)."""

    transverse_mm: float
    ap_mm: float
    cc_mm: float

    @property
    def volume_ml(self) -> float:
        """``T x AP x CC x pi / 6``, in mL (:func:`medseg_edu.volumetry.ellipsoid_formula_ml`)."""
        return float(volumetry.ellipsoid_formula_ml(self.transverse_mm, self.ap_mm, self.cc_mm))


@dataclass(frozen=True)
class Reader:
    """A simulated reader placing callipers on a mask (see the module docstring).

    Parameters
    ----------
    name : str
    seed : int
        This reader's own random stream (with the mask and the session).
    bias_mm : float
        Mean placement of each calliper end outside (+) or inside (-) the edge, mm.
    jitter_mm : float
        SD of each end point between sessions, mm.
    angle_sd_deg : float
        SD of the error in the direction of the line, degrees.
    wrong_slice : float
        Probability (0-1) of measuring on a neighbouring slice.
    resolution_mm : float
        Read-out rounding, mm (> 0).
    """

    name: str
    seed: int
    bias_mm: float = 0.0
    jitter_mm: float = 0.6
    angle_sd_deg: float = 4.0
    wrong_slice: float = 0.25
    resolution_mm: float = 1.0

    def __post_init__(self):
        as_seed(self.seed, "Reader seed")
        if self.jitter_mm < 0 or self.angle_sd_deg < 0 or not 0 <= self.wrong_slice <= 1 \
                or self.resolution_mm <= 0:
            raise ValueError("jitter_mm and angle_sd_deg must be >= 0, wrong_slice in [0, 1], "
                             f"resolution_mm > 0; got {self}")

    # ---------------------------------------------------------------- helpers
    def _rng(self, mask, spacing, session, what):
        session = as_seed(session, "session", what="0 = the reader's first reading")
        return np.random.default_rng([int(self.seed), session, what, _fingerprint(mask, spacing)])

    def _read(self, true_extent_mm, rng):
        """Two calliper ends placed with this reader's bias and jitter, rounded."""
        ends = self.bias_mm + self.jitter_mm * rng.standard_normal(2)
        value = max(true_extent_mm + float(ends.sum()), 0.0)
        return float(np.round(value / self.resolution_mm) * self.resolution_mm)

    def _choose_slice(self, best, present, rng):
        if rng.random() < self.wrong_slice:
            neighbours = [k for k in (best - 1, best + 1) if k in present]
            if neighbours:
                return int(neighbours[rng.integers(len(neighbours))])
        return int(best)

    @staticmethod
    def _prepare(mask, spacing):
        m = as_mask(mask, name="mask")
        if m.ndim != 3:
            raise ValueError(f"a reader measures 3D masks indexed (x, y, z), got shape {m.shape}")
        sp = as_spacing(spacing, 3, name="spacing", shape=m.shape)
        present = [int(k) for k in np.flatnonzero(m.any(axis=(0, 1)))]
        return m, sp, present

    def _lesion_line(self, mask, spacing, session, what):
        m, sp, present = self._prepare(mask, spacing)
        if not present:
            return None
        rng = self._rng(m, sp, session, what)
        outlines, longest = _slice_outlines(m, sp, present)
        best = max(present, key=lambda k: longest[k][0])   # the slice where it looks largest
        k = self._choose_slice(best, present, rng)
        direction = _turned(longest[k][1], self.angle_sd_deg * rng.standard_normal())
        return outlines[k], direction, rng

    # ---------------------------------------------------------------- measurements
    def diameter_mm(self, mask, spacing, *, session=0) -> float:
        """This reader's longest axial diameter of a lesion (mm), in one session.

        Slice: the one with the longest diameter, or (with probability
        ``wrong_slice``) a neighbour. Line: the truly longest direction on that
        slice turned by an angle error. Ends: the longest chord in that
        direction (:func:`medseg_edu.recist.chord_along_mm`) plus ``bias_mm``
        and a ``jitter_mm`` error at each end; then rounded to
        ``resolution_mm``. ``0.0`` for an empty mask.
        """
        line = self._lesion_line(mask, spacing, session, 0)
        if line is None:
            return 0.0
        outline, direction, rng = line
        return self._read(recist.chord_along_mm(outline, direction), rng)

    def short_axis_mm(self, mask, spacing, *, session=0) -> float:
        """This reader's short axis of a node (mm): the longest chord across its own long-axis line."""
        line = self._lesion_line(mask, spacing, session, 1)
        if line is None:
            return 0.0
        outline, direction, rng = line
        return self._read(recist.chord_along_mm(outline, _turned(direction, 90.0)), rng)

    def ellipsoid(self, mask, spacing, *, session=0) -> ReaderEllipsoid:
        """This reader's three prostate diameters (mm) for the ellipsoid formula.

        Transverse and antero-posterior: on the axial slice with the largest
        gland area (or a neighbour), along the x and y axes (plus an angle
        error). Cranio-caudal: the gland's extent along z (first to last slice,
        each counted whole), read on a sagittal view with twice the jitter
        (the ends fall between thick slices). Each is rounded to ``resolution_mm``.
        """
        m, sp, present = self._prepare(mask, spacing)
        if not present:
            return ReaderEllipsoid(0.0, 0.0, 0.0)
        rng = self._rng(m, sp, session, 2)
        best = int(np.argmax(m.sum(axis=(0, 1))))
        k = self._choose_slice(best, present, rng)
        outline = _slice_outlines(m, sp, present)[0][k]
        x_axis = np.array([1.0, 0.0])
        transverse = self._read(recist.extent_along_mm(
            outline, _turned(x_axis, self.angle_sd_deg * rng.standard_normal())), rng)
        ap = self._read(recist.extent_along_mm(
            outline, _turned(x_axis, 90.0 + self.angle_sd_deg * rng.standard_normal())), rng)
        cc_true = (present[-1] - present[0] + 1) * sp[2]
        sagittal = Reader(self.name, self.seed, self.bias_mm, 2.0 * self.jitter_mm, self.angle_sd_deg,
                          self.wrong_slice, self.resolution_mm)
        cc = sagittal._read(cc_true, rng)
        return ReaderEllipsoid(transverse, ap, cc)


def reader_panel(n_readers=5, seed=0):
    """``n_readers`` simulated readers, each with seeded habits.

    Each reader's calliper bias is drawn from N(0, 0.6 mm) per end (so two
    readers differ by about 1-2 mm on a diameter), the end-point jitter from
    0.3-0.9 mm, the angle error from 2-7 degrees and the chance of a
    neighbouring slice from 0.1-0.4. Same seed, same panel.

    Returns
    -------
    list of Reader
        Named "reader A", "reader B", ...
    """
    if not 1 <= int(n_readers) <= 26:
        raise ValueError(f"n_readers must be 1-26, got {n_readers!r}")
    rng = np.random.default_rng([as_seed(seed), 18])
    return [Reader(name=f"reader {chr(65 + i)}", seed=int(rng.integers(2 ** 31)),
                   bias_mm=float(rng.normal(0.0, 0.6)), jitter_mm=float(rng.uniform(0.3, 0.9)),
                   angle_sd_deg=float(rng.uniform(2.0, 7.0)), wrong_slice=float(rng.uniform(0.1, 0.4)))
            for i in range(int(n_readers))]
