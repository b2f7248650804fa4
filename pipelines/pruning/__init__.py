"""Pruning helpers shared by the prune passes: channel dependency groups, importance, heads, sensitivity.

Not in `pipelines/passes`, so nothing here registers a pass; the passes import from here.
"""
