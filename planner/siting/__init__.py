"""Siting: candidate sites, the coverage problem, models and solvers.

``candidates`` (candidate sites and coverage sets), ``problem`` (the coverage problem and
its reduction), ``models`` (the siting models and their results) and the solvers
(``_solvers`` shared by ``_heuristics``, ``_lagrangian``, ``_highs`` and ``_large_mclp``).
"""
