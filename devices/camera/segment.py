"""Foreground segmentation behind one interface: MOG2, a single Gaussian, KNN, running
average, frame differencing."""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol, get_args

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


class Gaussian:
    """One Gaussian per pixel, compared in integer arithmetic: MOG2's per-pixel noise level and
    test at a fraction of its cost (an option; MOG2 stays the default, see docs/camera.md).

    OpenCV's MOG2 spends ~20 ns a pixel whatever the channels (3 ms a frame for a far
    facade's 376 x 420 box, half the frame budget at 150 frames/s). Here a frame costs one
    absolute difference with the background, summed over the channels (L1) and compared with
    a per-pixel limit, all in 8/16-bit integers; the float statistics are updated every
    `_EVERY` frames at a proportionally larger rate. The limit is sqrt(varThreshold) times
    the RMS of that distance, held within MOG2's variance bounds carried over to L1, so a
    change of brightness in all channels counts about as it does for MOG2 at the same
    `varThreshold`. What MOG2's extra modes did is done by two rules: a pixel that stays
    foreground for `_ABSORB` frames (a light switched on, a bird that landed) is learnt at
    once, as MOG2's new mode becomes background after ~50 frames at history 500; and every
    pixel learns, foreground too (the noise level clipped at `_CLIP` times the limit), so a
    flickering screen's mean settles between its levels and its limit rises until it stops
    counting, while a falling object passing now and then moves neither by much.
    """

    _EVERY = 4
    _ALPHA = 1.0 / 500  # per frame: MOG2's history of 500 frames
    _ABSORB = 50
    _CLIP = 2
    # MOG2's variance (mean squared distance summed over channels): bounds and start.
    _VAR_MIN, _VAR_MAX, _VAR_INIT = 4.0, 75.0, 15.0

    def __init__(self, threshold: float) -> None:
        self._tb = threshold
        self._mean: np.ndarray | None = None
        self._bg8 = np.zeros(0, np.uint8)
        self._frames = 0

    def _setup(self, image: np.ndarray) -> None:
        h, w = image.shape[:2]
        self._n = n = 1 if image.ndim == 2 else image.shape[2]
        # E[L1^2] / E[L2^2] for Gaussian noise in n channels, to carry MOG2's bounds over.
        self._k = (n + n * (n - 1) * 2.0 / np.pi) / n
        self._mean = image.astype(np.float32)
        self._bg8 = image.copy()
        self._ms = np.full((h, w), self._VAR_INIT * self._k, np.float32)  # E[L1^2]
        self._count = np.zeros((h, w), np.uint8)
        self._thr = self._threshold()

    def _threshold(self) -> np.ndarray:
        ms = cv2.min(cv2.max(self._ms, self._VAR_MIN * self._k), self._VAR_MAX * self._k)
        return cv2.sqrt(ms * self._tb).astype(np.uint16)

    def _l1(self, image: np.ndarray) -> np.ndarray:
        diff = cv2.absdiff(image, self._bg8)
        if self._n == 1:
            return diff.astype(np.uint16)
        # Sum of the channels: a box filter over each pixel's interleaved bytes, every n-th
        # column kept (splitting the channels costs three times as much, cv2.transform six).
        h, w = diff.shape[:2]
        summed = cv2.boxFilter(
            diff.reshape(h, w * self._n),
            cv2.CV_16U,
            (self._n, 1),
            normalize=False,
            borderType=cv2.BORDER_CONSTANT,
        )
        return np.ascontiguousarray(summed[:, self._n // 2 :: self._n])

    def apply(self, gray: np.ndarray, relearn: bool = False) -> np.ndarray:
        """Foreground mask."""
        if self._mean is None:
            self._setup(gray)
            return np.zeros(gray.shape[:2], np.uint8)
        dist = self._l1(gray)
        fg = cv2.compare(dist, self._thr, cv2.CMP_GT)
        self._count = cv2.bitwise_and(cv2.add(self._count, 1), fg)
        self._frames += 1
        if relearn:
            cv2.accumulateWeighted(gray, self._mean, 0.2)
            self._bg8 = cv2.convertScaleAbs(self._mean)
        elif self._frames % self._EVERY == 0:
            # MOG2's rate, 1 / min(2 frames, history): a fresh model learns fast at first
            # (at a fixed 1/500 a throw 4 s into a clip was missed).
            rate = self._EVERY / min(2 * self._frames, 1.0 / self._ALPHA)
            cv2.accumulateWeighted(gray, self._mean, rate)
            lasting = cv2.compare(self._count, self._ABSORB, cv2.CMP_GE)
            cv2.accumulateWeighted(gray, self._mean, 1.0, mask=lasting)
            clipped = cv2.min(dist, cv2.multiply(self._thr, self._CLIP)).astype(np.float32)
            cv2.accumulateWeighted(cv2.multiply(clipped, clipped), self._ms, rate)
            self._bg8 = cv2.convertScaleAbs(self._mean)
            self._thr = self._threshold()
        return fg

    def background(self) -> np.ndarray | None:
        """The background picture (the per-pixel means, rounded)."""
        return None if self._mean is None else self._bg8


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


_SEGMENTERS: dict[str, Callable[[float], Segmenter]] = {
    "mog2": Mog2, "gaussian": Gaussian, "knn": Knn, "running_average": RunningAverage,
    "frame_difference": FrameDifference}
if set(_SEGMENTERS) != set(get_args(Segmentation)):
    raise RuntimeError("config.Segmentation and segment._SEGMENTERS name different methods")


def make_segmenter(method: Segmentation, threshold: float) -> Segmenter:
    """Build the configured segmenter."""
    return _SEGMENTERS[method](threshold)
