"""Tests of the camera analytics on short synthetic clips."""
