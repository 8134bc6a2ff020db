"""The on-disk cache heals itself: unreadable files are rebuilt, writes are atomic and collision-free."""

from __future__ import annotations

import io
import threading
import zipfile

import numpy as np
import pytest

from medseg_edu.data import cache, cached_arrays, split_slices
from medseg_edu.methods import atlas


@pytest.fixture
def cache_folder(tmp_path, monkeypatch):
    monkeypatch.setenv("MEDSEG_EDU_CACHE", str(tmp_path))
    return tmp_path


def truncate(path, size=1000):
    data = path.read_bytes()
    assert len(data) > size
    path.write_bytes(data[:size])


def rebuild_lines(out, name):
    return [line for line in out.splitlines() if name in line and "rebuild" in line]


def small_arrays():
    rng = np.random.default_rng(0)
    return {"a": rng.normal(size=(40, 50)).astype(np.float32), "b": np.arange(7)}


def test_split_slices_rebuilds_a_truncated_file(cache_folder, capsys):
    first = split_slices("val")
    (path,) = cache_folder.glob("slices_val_*.npz")
    assert capsys.readouterr().out == ""
    truncate(path)
    again = split_slices("val")
    out = capsys.readouterr().out
    assert len(out.splitlines()) == 1 and len(rebuild_lines(out, path.name)) == 1
    assert again.keys() == first.keys()
    assert all(np.array_equal(again[key], first[key]) for key in first)
    # the rebuilt file is complete: the next call loads it quietly and gives the same data
    loaded = split_slices("val")
    assert capsys.readouterr().out == ""
    assert all(np.array_equal(loaded[key], first[key]) for key in first)
    assert sorted(p.name for p in cache_folder.iterdir()) == [path.name]


@pytest.fixture
def small_library(cache_folder, monkeypatch):
    monkeypatch.setattr(atlas, "POOL_SIZE", 2)  # the cache file name includes the pool size
    atlas.default_atlases.cache_clear()
    yield cache_folder
    atlas.default_atlases.cache_clear()  # never leak the 2-atlas library into other tests


def test_atlas_library_rebuilds_a_truncated_file(small_library, capsys):
    first = atlas.default_atlases()
    assert len(first) == 2
    (path,) = small_library.glob("atlas_library_*.npz")
    assert "_2x" in path.name and capsys.readouterr().out == ""
    truncate(path)
    atlas.default_atlases.cache_clear()
    again = atlas.default_atlases()
    out = capsys.readouterr().out
    assert len(out.splitlines()) == 1 and len(rebuild_lines(out, path.name)) == 1
    assert len(again) == len(first)
    for a, b in zip(first, again):
        assert a.name == b.name
        assert np.array_equal(a.image, b.image) and np.array_equal(a.gland, b.gland)
        assert np.array_equal(a.inside, b.inside)
    # loading the rebuilt file gives exactly the same library as building it (the stored
    # float16 values both times), quietly
    atlas.default_atlases.cache_clear()
    loaded = atlas.default_atlases()
    assert capsys.readouterr().out == ""
    for a, b in zip(first, loaded):
        assert a.name == b.name and a.image.dtype == b.image.dtype == np.float32
        assert np.array_equal(a.image, b.image) and np.array_equal(a.gland, b.gland)
        assert np.array_equal(a.inside, b.inside)


def _zip_without_b():
    buffer = io.BytesIO()
    np.savez(buffer, a=small_arrays()["a"])
    return buffer.getvalue()


def _npy_file():
    buffer = io.BytesIO()
    np.save(buffer, np.arange(10))
    return buffer.getvalue()


def _pickled_member():
    buffer = io.BytesIO()
    np.savez(buffer, a=np.array([{"x": 1}], dtype=object), b=np.arange(3))
    return buffer.getvalue()


def _corrupt_member():
    buffer = io.BytesIO()
    np.savez(buffer, **small_arrays())  # stored, not deflated: flipping a data byte breaks the CRC
    data = bytearray(buffer.getvalue())
    data[len(data) // 3] ^= 0xFF
    return bytes(data)


@pytest.mark.parametrize("content", [
    pytest.param(np.random.default_rng(1).bytes(5000), id="random-bytes"),
    pytest.param(b"", id="empty"),
    pytest.param(_zip_without_b(), id="missing-key"),
    pytest.param(_npy_file(), id="npy-not-npz"),
    pytest.param(_corrupt_member(), id="corrupt-member"),
    pytest.param(_pickled_member(), id="pickled-member"),
])
def test_unreadable_file_is_reported_deleted_and_rebuilt(cache_folder, capsys, content):
    path = cache_folder / "things.npz"
    path.write_bytes(content)
    other = cache_folder / "Task05_Prostate.tar"
    other.write_bytes(b"not ours")
    calls = []

    def build():
        calls.append(1)
        return small_arrays()

    got = cached_arrays("things.npz", build, keys=("a", "b"))
    out = capsys.readouterr().out
    assert calls == [1]
    assert out.startswith(f"medseg_edu: cache file {path} cannot be read (")
    assert out.endswith("); deleting it and rebuilding.\n") and len(out.splitlines()) == 1
    assert all(np.array_equal(got[key], small_arrays()[key]) for key in ("a", "b"))
    assert other.read_bytes() == b"not ours"
    assert sorted(p.name for p in cache_folder.iterdir()) == ["Task05_Prostate.tar", "things.npz"]
    # now it is readable: loaded without building or printing
    loaded = cached_arrays(path, lambda: pytest.fail("rebuilt a good file"), keys=("a", "b"))
    assert capsys.readouterr().out == ""
    assert all(np.array_equal(loaded[key], got[key]) for key in got)


def test_message_format(cache_folder, capsys):
    path = cache_folder / "slices_train_v1_96px_1.25mm.npz"
    np.savez_compressed(path, **small_arrays())
    truncate(path)  # a kernel killed while writing: a zip without its central directory
    cached_arrays(path.name, small_arrays)
    assert capsys.readouterr().out == (
        f"medseg_edu: cache file {path} cannot be read (BadZipFile: File is not a zip file); "
        "deleting it and rebuilding.\n")


def test_build_must_return_the_expected_keys(cache_folder):
    with pytest.raises(ValueError, match="'c'"):
        cached_arrays("things.npz", small_arrays, keys=("a", "c"))
    assert list(cache_folder.iterdir()) == []


def test_concurrent_builders_use_unique_temporary_files(cache_folder, monkeypatch):
    renamed = []
    real_replace = cache.os.replace

    def spy(source, target):
        renamed.append((str(source), str(target)))
        return real_replace(source, target)

    monkeypatch.setattr(cache.os, "replace", spy)
    both_building = threading.Barrier(2, timeout=10)

    def build():
        both_building.wait()  # both have found no file and are about to write it
        return small_arrays()

    results, errors = [], []

    def worker():
        try:
            results.append(cached_arrays("shared.npz", build))
        except BaseException as error:  # noqa: BLE001 - re-raised by the asserts below
            errors.append(error)

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert errors == [] and len(results) == 2
    final = cache_folder / "shared.npz"
    assert [target for _, target in renamed] == [str(final)] * 2
    sources = [source for source, _ in renamed]
    assert len(set(sources)) == 2, sources
    for source in sources:
        name = source.rsplit("/", 1)[-1]
        assert name.startswith(".shared.npz") and name.endswith(".npz") and source.startswith(str(cache_folder))
    assert sorted(p.name for p in cache_folder.iterdir()) == ["shared.npz"]  # no temp file left
    with zipfile.ZipFile(final) as archive:
        assert archive.testzip() is None


def test_failed_write_leaves_no_temporary_file(cache_folder, monkeypatch):
    def full_disk(file, **arrays):
        file.write(b"PK\x03\x04 half")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(cache.np, "savez_compressed", full_disk)
    with pytest.raises(OSError, match="No space"):
        cached_arrays("things.npz", small_arrays)
    assert list(cache_folder.iterdir()) == []
