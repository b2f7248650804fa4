"""Auto-optimize: search recipes for a model under an accuracy or fidelity budget.

candidates (what to try, from the model's content), executor (where a candidate runs: worker
processes here, a Ray cluster later), job (what one candidate run does: build through the
version cache, verify, time against the original), pareto (which results are not beaten on
every axis) and search (the loop: order, budget, adaptive stages, cancel).
"""
