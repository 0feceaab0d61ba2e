"""omnirt.models."""
