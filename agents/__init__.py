"""omnirt.agents."""
