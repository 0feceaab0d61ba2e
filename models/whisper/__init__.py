"""omnirt.models.whisper."""
