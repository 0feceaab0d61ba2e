"""omnirt.runtime.transports."""
