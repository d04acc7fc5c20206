"""Generated data, not a real place: the demo county (``county``) and benchmark networks (``grid``)."""
