# omnirt: `make run` sets everything up and serves live voice sessions (open the printed URL);
# `make test` sets up and runs the tests; `make demo` answers a spoken question from a file.
VENV := .venv
BIN := $(VENV)/bin

.PHONY: setup run demo test bench clean-venv

setup:
	bash tools/setup.sh

run: setup
	$(BIN)/omnirt serve $(SERVE_ARGS)

demo: setup
	$(BIN)/python -m omnirt.tools.demo

test: setup
	$(BIN)/python -m pytest -q -p no:cacheprovider --durations=30 $(PYTEST_ARGS)

bench: setup
	$(BIN)/omnirt bench asr
	$(BIN)/omnirt bench reply
	$(BIN)/omnirt bench latency

clean-venv:
	rm -rf $(VENV)
