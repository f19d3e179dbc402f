"""Rendering style B: procedural textures, supersampled sprites, shot noise, JPEG and MPEG-2.

Written independently of style A (no drawing code shared) so the analyzer is scored on video
whose shapes, textures, noise and compression it was not tuned on.
"""
