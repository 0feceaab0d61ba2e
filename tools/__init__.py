"""omnirt.tools."""
