"""Digests: plain data built from the store (``build``), rendered per target (``render_*``)."""
