"""omnirt.tools.bench."""
