"""Foreground segmentation behind one interface: MOG2, KNN, running average, frame differencing."""

from __future__ import annotations

from typing import Protocol

import cv2
import numpy as np

from devices.camera.config import Segmentation


def _largest(diff: np.ndarray) -> np.ndarray:
    """Per-pixel largest channel of a difference image (grey images pass through)."""
    return diff if diff.ndim == 2 else diff.max(axis=2)


class Segmenter(Protocol):
    """Turns a grey or BGR analysis frame into a 0/255 foreground mask."""

    def apply(self, gray: np.ndarray, relearn: bool = False) -> np.ndarray:
        """Foreground of this frame; `relearn` asks to adapt fast after a global change."""
        ...

    def background(self) -> np.ndarray | None:
        """The model's background picture, if it has one."""
        ...


class Mog2:
    """OpenCV's Gaussian-mixture model: per-pixel noise levels, so night and rain need no tuning."""

    def __init__(self, threshold: float) -> None:
        self._bs = cv2.createBackgroundSubtractorMOG2(
            history=500, varThreshold=threshold, detectShadows=False
        )
        # Three modes cover background, lit/unlit window and curtain; five cost 30 % more.
        self._bs.setNMixtures(3)

    def apply(self, gray: np.ndarray, relearn: bool = False) -> np.ndarray:
        """Foreground mask."""
        return self._bs.apply(gray, learningRate=0.2 if relearn else -1)

    def background(self) -> np.ndarray:
        """The model's current background picture."""
        return self._bs.getBackgroundImage()


class Knn:
    """OpenCV's K-nearest-neighbours model; `threshold` is scaled to its squared distance."""

    def __init__(self, threshold: float) -> None:
        self._bs = cv2.createBackgroundSubtractorKNN(
            history=500, dist2Threshold=25.0 * threshold, detectShadows=False
        )

    def apply(self, gray: np.ndarray, relearn: bool = False) -> np.ndarray:
        """Foreground mask."""
        return self._bs.apply(gray, learningRate=0.2 if relearn else -1)

    def background(self) -> np.ndarray:
        """The model's current background picture."""
        return self._bs.getBackgroundImage()


class RunningAverage:
    """A selectively updated running-average background with one grey-level threshold."""

    def __init__(self, threshold: float, alpha: float = 0.03) -> None:
        self._thr, self._alpha = threshold, alpha
        self._bg: np.ndarray | None = None

    def apply(self, gray: np.ndarray, relearn: bool = False) -> np.ndarray:
        """Foreground mask."""
        if self._bg is None:
            self._bg = gray.astype(np.float32)
            return np.zeros(gray.shape[:2], np.uint8)
        diff = _largest(cv2.absdiff(gray, cv2.convertScaleAbs(self._bg)))
        _, fg = cv2.threshold(diff, self._thr, 255, cv2.THRESH_BINARY)
        if relearn:
            cv2.accumulateWeighted(gray, self._bg, 0.5)
        else:
            # Foreground pixels are not learnt, or a falling object would smear into the model.
            cv2.accumulateWeighted(gray, self._bg, self._alpha, mask=cv2.bitwise_not(fg))
        return fg

    def background(self) -> np.ndarray | None:
        """The running average."""
        return None if self._bg is None else cv2.convertScaleAbs(self._bg)


class FrameDifference:
    """Three-frame differencing: cheapest, blind to anything that moves less than its own size."""

    def __init__(self, threshold: float) -> None:
        self._thr = threshold
        self._prev: list[np.ndarray] = []

    def apply(self, gray: np.ndarray, relearn: bool = False) -> np.ndarray:
        """Foreground mask."""
        if len(self._prev) < 2 or relearn:
            self._prev = [*self._prev[-1:], gray]
            return np.zeros(gray.shape[:2], np.uint8)
        d1 = _largest(cv2.absdiff(gray, self._prev[-1]))
        d2 = _largest(cv2.absdiff(gray, self._prev[-2]))
        _, fg = cv2.threshold(cv2.min(d1, d2), self._thr, 255, cv2.THRESH_BINARY)
        self._prev = [self._prev[-1], gray]
        return fg

    def background(self) -> np.ndarray | None:
        """The frame before last."""
        return self._prev[0] if self._prev else None


def make_segmenter(method: Segmentation, threshold: float) -> Segmenter:
    """Build the configured segmenter."""
    if method == "mog2":
        return Mog2(threshold)
    if method == "knn":
        return Knn(threshold)
    if method == "running_average":
        return RunningAverage(threshold)
    return FrameDifference(threshold)
