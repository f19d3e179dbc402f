"""Synthetic camera video: a facade with thrown objects and a fire-lane scene, with truth."""
