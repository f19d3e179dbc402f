"""Video sources: a file, an RTSP/HTTP URL or a folder of frames, read with OpenCV."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

FRAME_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp")


class SourceError(RuntimeError):
    """The video source cannot be opened or has no frames."""


@dataclass(frozen=True)
class Frame:
    """One decoded frame: its index, its video time and the BGR image."""

    index: int
    t: float
    image: np.ndarray


class FrameSource:
    """Iterates frames; frames nobody wants are only grabbed, which skips colour conversion."""

    def __init__(self, spec: str, fps: float | None = None, threads: int = 1) -> None:
        self.spec = spec
        path = Path(spec)
        self._files: list[Path] | None = None
        self._cap: cv2.VideoCapture | None = None
        if path.is_dir():
            self._files = sorted(p for p in path.iterdir() if p.suffix.lower() in FRAME_SUFFIXES)
            if not self._files:
                raise SourceError(f"no frames ({', '.join(FRAME_SUFFIXES)}) in {spec}")
            self.fps = fps or 25.0
            return
        if "://" not in spec and not path.exists():
            raise SourceError(f"no such video file: {spec}")
        # One decoder thread: the analyzer is meant to run one camera per core.
        cap = cv2.VideoCapture(spec, cv2.CAP_FFMPEG, [cv2.CAP_PROP_N_THREADS, threads])
        if not cap.isOpened():
            raise SourceError(f"OpenCV cannot open {spec}")
        self._cap = cap
        reported = cap.get(cv2.CAP_PROP_FPS)
        self.fps = fps or (reported if 1 <= reported <= 120 else 25.0)

    def frames(self, want: Callable[[int], bool] | None = None) -> Iterator[Frame]:
        """Yield wanted frames in order; `want(index)` False means skip that frame cheaply."""
        if self._files is not None:
            for i, file in enumerate(self._files):
                if want is not None and not want(i):
                    continue
                image = cv2.imread(str(file), cv2.IMREAD_COLOR)
                if image is None:
                    raise SourceError(f"unreadable frame {file}")
                yield Frame(i, i / self.fps, image)
            return
        cap = self._cap
        assert cap is not None
        i = 0
        while True:
            if want is not None and not want(i):
                if not cap.grab():
                    return
            else:
                ok, image = cap.read()
                if not ok:
                    return
                yield Frame(i, i / self.fps, image)
            i += 1

    def close(self) -> None:
        """Release the decoder."""
        if self._cap is not None:
            self._cap.release()
            self._cap = None
