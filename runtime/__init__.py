"""The streaming core: frames, stages, pipelines, traces. It imports no transport, model backend or agent."""
