"""The benchmark behind ``scripts/bench``: one run, figures compared as ratios.

The machine is shared and noisy, so every figure that matters is a ratio of
two measurements taken minutes apart in the same run, never an absolute.
"""
