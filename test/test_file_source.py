"""The one file source of the CLI and the player: encoding rules, stacks, folders, unreadable files."""
from pathlib import Path

import cv2
import numpy as np
import pytest

from thermal_fld_ros.file_source import FileSource, SourceError, with_encoding
from thermal_fld_ros.ingest import FrameError
from thermal_fld_ros.types import Reason

RNG = np.random.default_rng(7)


def test_npy_folder_and_encodings(tmp_path: Path):
    stack = RNG.integers(0, 65535, (3, 12, 16), dtype=np.uint16)
    np.save(tmp_path / "s.npy", stack)
    got = list(FileSource(tmp_path / "s.npy").frames())
    assert [f.encoding for f in got] == ["16UC1"] * 3 and [f.name for f in got][0] == "s_000000"
    np.testing.assert_array_equal(got[2].array, stack[2])
    folder = tmp_path / "imgs"
    folder.mkdir()
    cv2.imwrite(str(folder / "a.png"), stack[0])
    cv2.imwrite(str(folder / "b.png"), cv2.cvtColor((stack[1] >> 8).astype(np.uint8), cv2.COLOR_GRAY2BGR))
    looped = FileSource(folder).frames(loop=True)
    encs = [next(looped).encoding for _ in range(4)]
    assert encs == ["16UC1", "mono8", "16UC1", "mono8"]  # grey stored as 3 channels -> mono8
    arr, enc = with_encoding(np.full((4, 4), 86.0, np.float64), 5 / 9, -160 / 9)
    assert enc == "32FC1" and arr.dtype == np.float32 and arr[0, 0] == pytest.approx(30.0, abs=1e-4)
    with pytest.raises(SourceError, match="source not found"):
        FileSource(tmp_path / "missing")
    (tmp_path / "empty").mkdir()
    with pytest.raises(SourceError, match="no images"):
        FileSource(tmp_path / "empty")


def test_float64_stack_is_converted(tmp_path: Path):
    np.save(tmp_path / "f.npy", np.full((2, 8, 8), 30.5))  # np.save of a float array: float64
    got = list(FileSource(tmp_path / "f.npy").frames())
    assert [(f.encoding, f.array.dtype) for f in got] == [("32FC1", np.float32)] * 2


def test_unreadable_and_unsupported_inputs_are_items_not_exceptions(tmp_path: Path):
    cv2.imwrite(str(tmp_path / "a.png"), np.zeros((8, 8), np.uint8))
    (tmp_path / "b.png").write_bytes(b"\x89PNG\r\n\x1a\n truncated")
    np.save(tmp_path / "c.npy", np.zeros((8, 8), np.int32))
    (tmp_path / "d.npy").write_bytes(b"garbage")
    cv2.imwrite(str(tmp_path / "e.png"), np.zeros((8, 8), np.uint8))
    got = {f.name: f for f in FileSource(tmp_path).frames()}
    assert list(got) == ["a.png", "b.png", "c.npy", "d.npy", "e.png"]
    assert got["a.png"].issue is None and got["e.png"].issue is None
    assert got["b.png"].issue.reason == Reason.UNREADABLE and "b.png" in got["b.png"].issue.message
    assert got["c.npy"].issue.reason == Reason.LAYOUT and "int32" in got["c.npy"].issue.message
    assert got["d.npy"].issue.reason == Reason.UNREADABLE


def test_colour_rules():
    with pytest.raises(FrameError, match="8-bit"):
        with_encoding(np.zeros((4, 4, 3), np.uint16))
    rgba = np.zeros((4, 4, 4), np.uint8)
    rgba[..., 0] = 200
    arr, enc = with_encoding(rgba)
    assert enc == "bgr8" and arr.shape == (4, 4, 3)
