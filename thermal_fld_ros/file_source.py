"""Frames from disk, for the CLI and the frame player alike: an image, a folder, a video or a ``.npy`` stack.

One set of encoding rules: uint8 -> ``mono8`` (a grey picture stored as 3 channels too), 8-bit colour
-> ``bgr8`` (alpha dropped), uint16 -> ``16UC1``, any float (float64 is what ``np.save`` writes) ->
float32 ``32FC1`` (times ``float_scale`` plus ``float_offset``). A file that cannot be read or has
another dtype does not stop the source: it comes as a :class:`SourceFrame` whose ``issue`` says why.
Plain Python (no rclpy).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, List, Optional, Tuple

import cv2
import numpy as np

from .ingest import FrameError
from .types import Issue, Reason
from .video import video_frames

IMAGE_EXTENSIONS = (".png", ".tif", ".tiff", ".jpg", ".jpeg", ".bmp", ".pgm", ".ppm")
VIDEO_EXTENSIONS = (".mp4", ".avi", ".mkv", ".mov", ".webm", ".mpg", ".mpeg")


class SourceError(ValueError):
    """The source as a whole cannot be used (missing, empty folder, not a video); one line."""


@dataclass
class SourceFrame:
    name: str  # file name, or '<stem>_<index>' inside a stack or video
    array: Optional[np.ndarray]  # None when ``issue`` is set
    encoding: str = ""
    issue: Optional[Issue] = None


def with_encoding(frame: np.ndarray, float_scale: float = 1.0, float_offset: float = 0.0
                  ) -> Tuple[np.ndarray, str]:
    """(array, encoding) for a frame as loaded by OpenCV (colour in BGR order) or numpy."""
    a = np.asarray(frame)
    if a.ndim == 3 and a.shape[2] == 1:
        a = a[:, :, 0]
    if a.ndim == 3 and a.shape[2] == 4:
        a = a[:, :, :3]  # drop alpha (e.g. RGBA palette PNGs)
    if a.ndim == 3 and a.shape[2] == 3:
        if a.dtype != np.uint8:
            raise FrameError(Reason.LAYOUT, f"colour frames must be 8-bit, got {a.dtype} (convert to uint8, or "
                             f"save one channel)")
        if np.array_equal(a[:, :, 0], a[:, :, 1]) and np.array_equal(a[:, :, 1], a[:, :, 2]):
            return np.ascontiguousarray(a[:, :, 0]), "mono8"  # grey palette stored as 3 channels
        return np.ascontiguousarray(a), "bgr8"
    if a.ndim != 2:
        raise FrameError(Reason.LAYOUT, f"a frame must be (H, W) or (H, W, 3), got shape {a.shape}")
    if a.dtype == np.uint8:
        return np.ascontiguousarray(a), "mono8"
    if a.dtype == np.uint16:
        return np.ascontiguousarray(a), "16UC1"
    if a.dtype.kind == "f":
        out = a.astype(np.float32)
        if float_scale != 1.0 or float_offset != 0.0:
            out *= np.float32(float_scale)
            out += np.float32(float_offset)
        return out, "32FC1"
    raise FrameError(Reason.LAYOUT, f"unsupported frame dtype {a.dtype} (use uint8, uint16 or float)")


def _stack_frames(stack: np.ndarray) -> np.ndarray:
    """(N, H, W[, C]) view of an array loaded from .npy; a single (H, W) or (H, W, 3) frame gets N = 1."""
    if stack.ndim == 2 or (stack.ndim == 3 and stack.shape[2] in (3, 4) and stack.shape[0] > 4):
        return stack[None]
    if stack.ndim in (3, 4):
        return stack
    raise FrameError(Reason.LAYOUT, f"expected a (N, H, W) stack or one (H, W) frame, got shape {stack.shape}")


class FileSource:
    """Frames from ``path`` in order; :meth:`frames` yields :class:`SourceFrame` (optionally looping).

    ``encoding`` forces the pixel meaning instead of the rules above (the array is then passed as read).
    """

    def __init__(self, path, float_scale: float = 1.0, float_offset: float = 0.0, encoding: str = ""):
        if not str(path):
            raise SourceError("no source given (an image, a folder of images, a video file, or a .npy stack)")
        self.path = Path(path).expanduser()
        self.float_scale, self.float_offset, self.encoding = float(float_scale), float(float_offset), encoding
        self.fps: Optional[float] = None
        self.files: List[Path] = []
        if not self.path.exists():
            raise SourceError(f"source not found: {self.path}")
        ext = self.path.suffix.lower()
        if self.path.is_dir():
            self.files = sorted(p for p in self.path.iterdir()
                                if p.is_file() and p.suffix.lower() in IMAGE_EXTENSIONS + (".npy",))
            if not self.files:
                raise SourceError(f"no images ({', '.join(IMAGE_EXTENSIONS)}) or .npy files in {self.path}")
            self.kind = "folder"
        elif ext in IMAGE_EXTENSIONS or ext == ".npy":
            self.files = [self.path]
            self.kind = "npy" if ext == ".npy" else "image"
        else:
            cap = cv2.VideoCapture(str(self.path))
            try:
                if not (cap.isOpened() and cap.read()[0]):
                    raise SourceError(f"{self.path}: not an image, a folder, a .npy stack or a video OpenCV can "
                                      f"read")
                fps = cap.get(cv2.CAP_PROP_FPS) or 0.0
                self.fps = fps if fps > 0 else None
                self._video_count = int(cap.get(cv2.CAP_PROP_FRAME_COUNT) or 0)
            finally:
                cap.release()
            self.kind = "video"

    @property
    def count(self) -> Optional[int]:
        """Number of inputs if known up front (files, or a video's frame count); stacks count as one."""
        if self.kind == "video":
            return self._video_count or None
        return len(self.files)

    def frames(self, loop: bool = False) -> Iterator[SourceFrame]:
        while True:
            yield from self._once()
            if not loop:
                return

    # ------------------------------------------------------------------ internals
    def _once(self) -> Iterator[SourceFrame]:
        if self.kind == "video":
            for i, img in enumerate(video_frames(self.path)):
                yield self._frame(f"{self.path.stem}_{i:06d}", img)
            return
        for p in self.files:
            if p.suffix.lower() == ".npy":
                yield from self._npy(p)
                continue
            img = cv2.imread(str(p), cv2.IMREAD_UNCHANGED)
            if img is None:
                yield SourceFrame(p.name, None, issue=Issue(Reason.UNREADABLE, f"{p}: cannot read or decode the "
                                                            f"image (corrupt, truncated or not an image)"))
                continue
            yield self._frame(p.name, img)

    def _npy(self, path: Path) -> Iterator[SourceFrame]:
        try:
            stack = _stack_frames(np.load(str(path), mmap_mode="r", allow_pickle=False))
        except FrameError as exc:
            yield SourceFrame(path.name, None, issue=Issue(exc.reason, f"{path}: {exc}"))
            return
        except (OSError, ValueError, EOFError) as exc:
            yield SourceFrame(path.name, None, issue=Issue(Reason.UNREADABLE, f"{path}: cannot read the .npy "
                                                           f"file ({exc})"))
            return
        for i in range(len(stack)):
            name = path.name if len(stack) == 1 else f"{path.stem}_{i:06d}"
            yield self._frame(name, np.array(stack[i]))

    def _frame(self, name: str, arr: np.ndarray) -> SourceFrame:
        if self.encoding:
            return SourceFrame(name, arr, self.encoding)
        try:
            data, enc = with_encoding(arr, self.float_scale, self.float_offset)
        except FrameError as exc:
            return SourceFrame(name, None, issue=Issue(exc.reason, f"{name}: {exc}"))
        return SourceFrame(name, data, enc)
