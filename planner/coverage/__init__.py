"""Coverage: who is inside each tier's N-minute circle, and the figures that say it.

``analyse`` turns per-tier travel times into per-point status and tables, ``figures`` is
the one table of figures (names, definitions, how each is computed from the status),
``isochrones`` draws the circles.
"""
