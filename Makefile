# The two commands of the README: `make quickstart` and `make test`.
PY ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
SYS_STAMP := $(VENV)/.system-packages

.PHONY: setup system-packages quickstart test test-slow lint format bench clean

setup: $(STAMP)

# System packages: amsynth (VST2 synth + banks), hexter (DX7 ROM voices), fluidsynth + a GM soundfont,
# dpf-plugins-vst (Nekobi: a plug-in we ship no spec for), chromium (headless checks of the HTML reports).
$(SYS_STAMP):
	@mkdir -p $(VENV)
	@if command -v apt-get >/dev/null 2>&1; then \
	  need=""; for p in amsynth hexter fluidsynth fluid-soundfont-gm dpf-plugins-vst chromium; do \
	    dpkg -s $$p >/dev/null 2>&1 || need="$$need $$p"; done; \
	  if [ -n "$$need" ]; then \
	    SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	    $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$need; \
	  fi; \
	else echo "apt-get not found: install amsynth, hexter, fluidsynth, fluid-soundfont-gm, dpf-plugins-vst, chromium yourself"; fi
	@touch $@

$(STAMP): pyproject.toml $(SYS_STAMP)
	@test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	# Exactly this torch first: any other version pulls a multi-GB CUDA build.
	$(BIN)/pip install -q torch==2.13.0
	$(BIN)/pip install -q -e '.[data,train,beam,dev]'
	@touch $@

quickstart: setup
	$(BIN)/python -m experiments.quickstart --workdir runs/quickstart

lint: setup
	$(BIN)/ruff format --check .
	$(BIN)/ruff check .

format: setup
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

test: setup lint
	$(BIN)/python -m pytest -q -n 2 --durations=15

test-slow: setup
	$(BIN)/python -m pytest -q -m slow

bench: setup
	$(BIN)/python -m benchmarks.render
	$(BIN)/python -m benchmarks.audio_models
	$(BIN)/python -m benchmarks.generate
	$(BIN)/python -m benchmarks.input_pipeline
	$(BIN)/python -m benchmarks.train_step
	$(BIN)/python -m benchmarks.roofline
	$(BIN)/python -m benchmarks.device_step

clean:
	rm -rf $(VENV) runs
