"""The wiring: the one place that sees every layer (``planbot`` command, service, demo)."""
