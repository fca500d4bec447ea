"""Moved to :mod:`seglab.workflows.bench` (a leaderboard is a workflow, not a metric); this alias keeps
old imports working."""

from seglab.workflows.bench import run_bench, score_of, tune_method

__all__ = ["run_bench", "score_of", "tune_method"]
