"""Style C: a third, independent rendering of facade and fire-lane scenes (own plans, own drawing).

Nothing here imports the drawing code of styles A and B: the scene is built in 3-D metres and
seen through a pinhole camera with tilt and barrel distortion, and the sensor, compression and
distractors are modelled afresh. Only the ground-truth format is shared (the bench scores it).
"""
