"""The one monotonic clock every frame, span and metric uses (seconds, float)."""

from __future__ import annotations

import time

now = time.perf_counter
