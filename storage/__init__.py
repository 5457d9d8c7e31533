"""planbot package."""
