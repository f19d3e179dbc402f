"""Camera (smart video): falling objects and fire-lane occupation, and the analyzer behind them."""

from devices.camera.models import KEY, KIND

__all__ = ["KEY", "KIND"]
