#!/bin/sh
# One image, three roles (compose services): `serve` (Deepwell's MCP server), `llm` (llama.cpp's
# OpenAI-compatible server), `db` (PostgreSQL 16 + pgvector from the pgserver wheel). Anything else runs
# as a command, e.g. `deepwell-entrypoint deepwell search ...`.
set -eu
role=${1:-serve}
[ $# -gt 0 ] && shift

case "$role" in
serve)
  # ingest the mounted corpus (unchanged files are skipped) before taking requests
  set -- --host "${DEEPWELL_HTTP_HOST:-127.0.0.1}" --port "${DEEPWELL_HTTP_PORT:-8765}" "$@"
  if [ -n "${DEEPWELL_CORPUS:-}" ] && [ -d "$DEEPWELL_CORPUS" ]; then
    set -- --ingest "$DEEPWELL_CORPUS" --ingest-collection "${DEEPWELL_CORPUS_COLLECTION:-corpus}" "$@"
  fi
  exec deepwell serve "$@"
  ;;
llm)
  # the model comes from /models (a volume); the packaged SmolLM2 GGUF is copied there on first start
  model=${LLM_MODEL_FILE:-/models/smollm2-135m-instruct.gguf}
  if [ ! -s "$model" ]; then
    src=$(python -c 'from deepwell.reasoning import resolve_model_path; print(resolve_model_path("smollm2-135m"))')
    cp "$src" "$model.part" && mv "$model.part" "$model"
  fi
  exec python -m llama_cpp.server --model "$model" --host "${LLM_HOST:-127.0.0.1}" \
    --port "${LLM_PORT:-18080}" --n_ctx "${LLM_N_CTX:-8192}" --n_threads "${LLM_THREADS:-2}" \
    --model_alias "${LLM_ALIAS:-smollm2-135m}" "$@"
  ;;
db)
  pg=$(python -c 'import os, pgserver; print(os.path.join(os.path.dirname(pgserver.__file__), "pginstall", "bin"))')
  data=${PGDATA:-/pgdata/16}
  if [ ! -s "$data/PG_VERSION" ]; then
    pw=$(mktemp)
    printf '%s' "${POSTGRES_PASSWORD:?set POSTGRES_PASSWORD}" >"$pw"
    "$pg/initdb" -D "$data" -U "${POSTGRES_USER:-deepwell}" --pwfile="$pw" --auth-local=trust \
      --auth-host=scram-sha-256 -E UTF8 >/dev/null
    rm -f "$pw"
    "$pg/pg_ctl" -D "$data" -o "-c listen_addresses='' -c unix_socket_directories=/tmp" -w start >/dev/null
    "$pg/createdb" -h /tmp -U "${POSTGRES_USER:-deepwell}" "${POSTGRES_DB:-deepwell}"
    "$pg/pg_ctl" -D "$data" -m fast -w stop >/dev/null
  fi
  exec "$pg/postgres" -D "$data" -c listen_addresses="${PGHOST_BIND:-127.0.0.1}" \
    -c port="${PGPORT:-55432}" -c unix_socket_directories=/tmp "$@"
  ;;
healthcheck)
  # usable by compose: healthcheck URL
  exec python -c 'import sys, urllib.request; urllib.request.urlopen(sys.argv[1], timeout=5)' "$@"
  ;;
*)
  exec "$role" "$@"
  ;;
esac
