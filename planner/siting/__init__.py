"""Siting: candidate sites and coverage sets (``candidates``), models (``models``) and solvers (``_solvers``)."""
