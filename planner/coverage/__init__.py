"""Coverage: who is inside each tier's N-minute circle (``analyse``) and the circles drawn (``isochrones``)."""
