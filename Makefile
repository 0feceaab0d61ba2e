# omnirt: `make run` sets everything up and answers a spoken question; `make test` sets up and runs the tests.
VENV := .venv
BIN := $(VENV)/bin

.PHONY: setup run test bench clean-venv

setup:
	bash tools/setup.sh

run: setup
	$(BIN)/python -m omnirt.tools.demo

test: setup
	$(BIN)/python -m pytest -q -p no:cacheprovider $(PYTEST_ARGS)

bench: setup
	$(BIN)/omnirt bench asr
	$(BIN)/omnirt bench reply

clean-venv:
	rm -rf $(VENV)
