"""omnirt.runtime.simulator."""
