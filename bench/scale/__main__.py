"""Scale-out throughput: 1 or 2 ``deepwell serve`` replicas over one PostgreSQL, with 1 or 2 llama.cpp
servers behind Deepwell's OpenAI-compatible pool, measured in one run.

    python -m bench.scale [--clients N] [--rounds R] [--passes P] [--quick] [--json] [--pg-url URL]

Every process runs on this machine, on loopback: the llama.cpp servers (``python -m llama_cpp.server``
with the packaged SmolLM2-135M GGUF, one thread each), the ``deepwell serve`` replicas (one torch thread
each) and the MCP clients all share the same cores, so the figures say what *this machine* allows, not
what separate hosts would. The core count and the load average are printed with the table.

Mixed workload: N concurrent MCP streamable-HTTP clients, each doing R rounds of 3 ``search`` + 1 ``ask``
(method single, k=2) per pass, closed loop (a client sends its next request when the last one returns).
Clients are split across the replica URLs in turn (client-side round robin); the replicas share one database.
Ratios are against 1 deepwell + 1 llm. Search-only: the same clients doing searches alone, on the
SQLite store of a single replica (the reference) and on PostgreSQL with 1 and 2 replicas.

All servers start once (five replicas: two per LLM pool shape and one on SQLite; idle ones use no CPU),
the corpus (the packaged samples plus generated notes) is ingested once per store, every replica is
warmed up, and then the configurations run one after another, P passes (forward, then backward, so a
machine that gets busier mid-run favours no configuration). Besides latency, each row says how many cores
our processes kept busy and how many the rest of the machine took meanwhile (from /proc): on a shared
machine that is what explains a ratio. Progress goes to stderr.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import os
import shutil
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from statistics import median
from typing import Any

from bench.scale.cluster import ROOT, Servers, call, mcp_client

TOKEN = "bench-scale-token"
COLLECTION = "scale"
PG_ADMIN_URL = os.environ.get("DEEPWELL_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")

SEARCHES = [
    "how often must API keys be rotated",
    "lost laptop report",
    "meal reimbursement limit",
    "leave carry over",
    "green tea steeping temperature",
    "chain lubrication after wet rides",
    "Jupiter moons binoculars",
    "dark adaptation red light",
    "offline mode release",
    "locker code of the harbor archive",
    "badge renewal policy",
    "orchard workshop",
]
QUESTIONS = [
    "How often must API keys be rotated?",
    "Up to how much are meals reimbursed per day when travelling?",
    "How many days of unused leave carry over into the next year?",
    "Within how long must a lost laptop be reported?",
]
PLACES = ["harbor", "orchard", "glacier", "meadow", "canyon", "lagoon", "prairie", "summit"]
ROOMS = ["archive", "kitchen", "workshop", "library", "garage"]


def log(msg: str) -> None:
    print(f"[bench.scale {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def make_corpus(root: Path, notes: int) -> Path:
    """The packaged samples plus ``notes`` short generated notes, so search has a few hundred chunks."""
    corpus = root / "corpus"
    shutil.copytree(ROOT / "deepwell" / "samples", corpus / "samples")
    (corpus / "notes").mkdir()
    for i in range(notes):
        place, room = PLACES[i % len(PLACES)], ROOMS[(i // len(PLACES)) % len(ROOMS)]
        (corpus / "notes" / f"note{i:03d}.md").write_text(
            f"# The {place} {room} {i}\n\n## Access\n\nThe locker code of the {place} {room} {i} is "
            f"{1000 + 37 * i}. Badges for it are renewed every {30 + i % 60} days.\n\n## Hours\n\n"
            f"The {place} {room} {i} is open from {7 + i % 3} to {17 + i % 5} on weekdays.\n"
        )
    return corpus


@contextlib.contextmanager
def postgres(admin_url: str) -> Iterator[str]:
    """A fresh database on the given server for this run, dropped afterwards."""
    from sqlalchemy import create_engine, text

    name = f"deepwell_bench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:
        raise SystemExit(
            f"Cannot create a database through {admin_url} ({exc.__class__.__name__}: {exc}). Start "
            "PostgreSQL (trust auth on 127.0.0.1:5432) or pass --pg-url postgresql+psycopg://USER@HOST/DB."
        ) from None
    try:
        yield admin_url.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def pct(values: list[float], q: float) -> float:
    """Nearest-rank percentile (no interpolation: with a few dozen samples it is an observed latency)."""
    s = sorted(values)
    return s[max(0, math.ceil(q * len(s)) - 1)]


def ops_for(client: int, first: int, rounds: int, asks: bool, per_round: int) -> list[tuple[str, str]]:
    """The fixed request list of one client from round ``first`` on: the same for every configuration."""
    ops: list[tuple[str, str]] = []
    for r in range(first, first + rounds):
        for j in range(per_round):
            ops.append(("search", SEARCHES[(client * 5 + r * per_round + j) % len(SEARCHES)]))
        if asks:
            ops.append(("ask", QUESTIONS[(client + r) % len(QUESTIONS)]))
    return ops


def autogroup() -> bool:
    """Whether Linux shares CPU time between sessions first (sched_autogroup), then between their threads."""
    try:
        return Path("/proc/sys/kernel/sched_autogroup_enabled").read_text().strip() == "1"
    except OSError:
        return False


def machine_busy_seconds() -> float:
    """CPU seconds all cores have spent busy since boot (Linux /proc/stat; NaN elsewhere)."""
    try:
        fields = [float(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    except OSError:
        return math.nan
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0.0)
    return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")


class Tally:
    """What one configuration measured, summed over its passes."""

    def __init__(self) -> None:
        self.lat: dict[str, list[float]] = {"search": [], "ask": []}
        self.errors: list[str] = []
        self.wall = 0.0
        self.ours = 0.0  # CPU seconds of the servers and this client process
        self.busy = 0.0  # CPU seconds of the whole machine

    def summary(self) -> dict[str, Any]:
        every = self.lat["search"] + self.lat["ask"]
        out: dict[str, Any] = {
            "requests": len(every),
            "errors": len(self.errors),
            "error_samples": self.errors[:3],
            "seconds": self.wall,
            "req_per_s": len(every) / self.wall,
            "p50_ms": median(every) * 1e3 if every else math.nan,
            "p95_ms": pct(every, 0.95) * 1e3 if every else math.nan,
            "cores_ours": self.ours / self.wall,
            "cpu_ms_per_request": self.ours / len(every) * 1e3 if every else math.nan,
            "cores_others": max(0.0, self.busy - self.ours) / self.wall,
        }
        for kind, v in self.lat.items():
            if v:
                out[f"{kind}_p50_ms"] = median(v) * 1e3
                out[f"{kind}_count"] = len(v)
        return out


async def workload(servers: Servers, urls: list[str], ops: list[list[tuple[str, str]]], tally: Tally) -> None:
    """One client per request list, split across ``urls`` in turn, each closed-loop; adds to ``tally``."""
    stack = contextlib.AsyncExitStack()
    async with stack:
        sessions = [
            await stack.enter_async_context(mcp_client(urls[c % len(urls)], TOKEN)) for c in range(len(ops))
        ]

        async def run_client(c: int) -> None:
            for kind, text in ops[c]:
                t = time.perf_counter()
                try:
                    if kind == "search":
                        await call(sessions[c], "search", query=text, collection=COLLECTION, k=5)
                    else:
                        out = await call(
                            sessions[c], "ask", question=text, collection=COLLECTION, k=2, method="single"
                        )
                        if not out.get("answer", "").strip():
                            tally.errors.append(f"ask {text!r}: empty answer ({out.get('status')})")
                except Exception as exc:  # counted and reported, never hidden
                    tally.errors.append(f"{kind} {text!r}: {exc}")
                    continue
                tally.lat[kind].append(time.perf_counter() - t)

        cpu0, busy0 = servers.cpu_seconds() + time.process_time(), machine_busy_seconds()
        t0 = time.perf_counter()
        await asyncio.gather(*(run_client(c) for c in range(len(ops))))
        tally.wall += time.perf_counter() - t0
        tally.ours += servers.cpu_seconds() + time.process_time() - cpu0
        tally.busy += machine_busy_seconds() - busy0


async def ingest(url: str, corpus: Path) -> tuple[float, dict[str, Any]]:
    async with mcp_client(url, TOKEN) as client:
        t = time.perf_counter()
        out = await call(client, "ingest", paths=[str(corpus)], collection=COLLECTION)
        took = time.perf_counter() - t
        cols = {c["name"]: c for c in (await call(client, "list_collections"))["collections"]}
    return took, {"documents": cols[COLLECTION]["documents"], "chunks": cols[COLLECTION]["chunks"], **out}


async def warm(url: str, with_llm: bool) -> None:
    async with mcp_client(url, TOKEN) as client:
        await call(client, "search", query="warm up", collection=COLLECTION, k=5)
        if with_llm:
            await call(client, "ask", question=QUESTIONS[0], collection=COLLECTION, k=2, method="single")


async def measure(args: argparse.Namespace, tmp: Path, pg_url: str) -> dict[str, Any]:
    corpus = make_corpus(tmp, args.notes)
    t_start = time.perf_counter()
    load_before = os.getloadavg()
    with Servers() as servers:
        log("starting 2 llama.cpp servers and 5 deepwell replicas (4 on PostgreSQL, 1 on SQLite)")
        llm = [servers.llm(threads=args.llm_threads) for _ in range(2)]

        def replica(name: str, db: str | None, llm_urls: list[str] | None) -> str:
            return servers.deepwell(
                tmp / name,
                database_url=db,
                llm_urls=llm_urls,
                allowed_roots=corpus,
                token=TOKEN,
                log=tmp / f"{name}.log",
            )

        one_llm = [replica(f"pg-1llm-{r}", pg_url, llm[:1]) for r in range(2)]
        two_llm = [replica(f"pg-2llm-{r}", pg_url, llm) for r in range(2)]
        sqlite = replica("sqlite", None, None)
        servers.wait_ready()
        log(f"servers up after {time.perf_counter() - t_start:.0f}s; ingesting into PostgreSQL and SQLite")
        pg_ingest_s, pg_info = await ingest(one_llm[0], corpus)
        lite_ingest_s, _ = await ingest(sqlite, corpus)
        log(f"ingested {pg_info['documents']} documents / {pg_info['chunks']} chunks; warming every replica")
        for u in one_llm + two_llm:
            await warm(u, with_llm=True)
        await warm(sqlite, with_llm=False)

        configs: list[tuple[str, str, str, list[str], bool]] = [
            ("mixed", "1×deepwell + 1×llm", "postgres", one_llm[:1], True),
            ("mixed", "2×deepwell + 1×llm", "postgres", one_llm, True),
            ("mixed", "1×deepwell + 2×llm", "postgres", two_llm[:1], True),
            ("mixed", "2×deepwell + 2×llm", "postgres", two_llm, True),
            ("search", "1×deepwell", "sqlite", [sqlite], False),
            ("search", "1×deepwell", "postgres", one_llm[:1], False),
            ("search", "2×deepwell", "postgres", one_llm, False),
        ]
        tallies = [Tally() for _ in configs]
        order = list(range(len(configs)))
        for p in range(args.passes):
            # forward, then backward: a machine getting busier or quieter mid-run biases no configuration
            for i in order if p % 2 == 0 else order[::-1]:
                kind, name, store, urls, asks = configs[i]
                per_round = 3 if asks else args.search_round
                ops = [ops_for(c, p * args.rounds, args.rounds, asks, per_round) for c in range(args.clients)]
                log(f"pass {p + 1}/{args.passes}: {kind}, {name} on {store}")
                before = (len(tallies[i].lat["search"]) + len(tallies[i].lat["ask"]), tallies[i].wall)
                await workload(servers, urls, ops, tallies[i])
                n = len(tallies[i].lat["search"]) + len(tallies[i].lat["ask"]) - before[0]
                took = tallies[i].wall - before[1]
                errs = len(tallies[i].errors)
                log(f"  {n} requests in {took:.1f}s = {n / took:.2f} req/s, errors so far {errs}")
        rows = [
            {"workload": kind, "config": name, "store": store, **t.summary()}
            for (kind, name, store, _, _), t in zip(configs, tallies, strict=True)
        ]
    for kind in ("mixed", "search"):
        base = next(r for r in rows if r["workload"] == kind)["req_per_s"]
        for r in rows:
            if r["workload"] == kind:
                r["ratio_vs_reference"] = r["req_per_s"] / base
    return {
        "cores": os.cpu_count(),
        "autogroup": autogroup(),
        "load_average_before": load_before[0],
        "load_average_after": os.getloadavg()[0],
        "clients": args.clients,
        "rounds": args.rounds,
        "passes": args.passes,
        "llm_threads": args.llm_threads,
        "corpus": {k: pg_info[k] for k in ("documents", "chunks")},
        "ingest_seconds": {"postgres": pg_ingest_s, "sqlite": lite_ingest_s},
        "total_seconds": time.perf_counter() - t_start,
        "rows": rows,
    }


def render(r: dict[str, Any]) -> str:
    lines = [
        f"Deepwell scale-out, one run on loopback. {r['cores']} cores, shared by every deepwell replica, "
        f"every llama.cpp server ({r['llm_threads']} thread each), PostgreSQL and the clients: "
        "the replicas do not get cores of their own.",
        f"Load average {r['load_average_before']:.1f} before, {r['load_average_after']:.1f} after; 'cores "
        "ours' is the CPU our processes used per second of wall time, 'others' what the rest of the machine "
        "used meanwhile (PostgreSQL counts as others); 'CPU ms/req' is ours per request.",
        f"Corpus {r['corpus']['documents']} documents / {r['corpus']['chunks']} chunks (ingest "
        f"{r['ingest_seconds']['postgres']:.1f}s on PostgreSQL, {r['ingest_seconds']['sqlite']:.1f}s on "
        f"SQLite). {r['clients']} concurrent MCP streamable-HTTP clients, split across the replicas in turn; "
        f"{r['passes']} passes over the configurations (forward, then backward).",
        "",
        f"{'configuration':<22} {'store':<8} {'req/s':>6} {'p50 ms':>7} {'p95 ms':>7} {'search p50':>10} "
        f"{'ask p50':>8} {'err':>3} {'cores ours/others':>17} {'CPU ms/req':>10} {'ratio':>6}",
    ]
    if r["autogroup"]:
        lines[2:2] = [
            "Linux sched_autogroup is on: the kernel splits CPU time between sessions first, and this run "
            "is one session, so while other sessions are busy more replicas get no more CPU in total."
        ]
    rounds = r["rounds"] * r["passes"]
    labels = {
        "mixed": f"mixed: {rounds}×(3 search + 1 ask, method single) per client; ratio = req/s against "
        "1×deepwell + 1×llm",
        "search": "search only (no LLM); ratio = req/s against SQLite, 1 replica",
    }
    shown: set[str] = set()
    for row in r["rows"]:
        if row["workload"] not in shown:
            shown.add(row["workload"])
            lines.append(f"-- {labels[row['workload']]}")
        ask = f"{row['ask_p50_ms']:>8.0f}" if "ask_p50_ms" in row else f"{'-':>8}"
        cores = f"{row['cores_ours']:.2f} / {row['cores_others']:.2f}"
        lines.append(
            f"{row['config']:<22} {row['store']:<8} {row['req_per_s']:>6.2f} {row['p50_ms']:>7.0f} "
            f"{row['p95_ms']:>7.0f} {row.get('search_p50_ms', math.nan):>10.0f} {ask} {row['errors']:>3} "
            f"{cores:>17} {row['cpu_ms_per_request']:>10.0f} {row['ratio_vs_reference']:>5.2f}x"
        )
    lines.append(f"\nwhole run {r['total_seconds']:.0f}s (start-up, ingest, warm-up and the measurements)")
    for row in r["rows"]:
        for e in row["error_samples"]:
            lines.append(f"error in {row['config']} ({row['workload']}): {e}")
    return "\n".join(lines)


def main() -> None:
    fmt = argparse.RawDescriptionHelpFormatter
    ap = argparse.ArgumentParser(prog="python -m bench.scale", description=__doc__, formatter_class=fmt)
    ap.add_argument("--clients", type=int, default=4, help="concurrent MCP clients (default 4)")
    ap.add_argument("--rounds", type=int, default=2, help="rounds of 3 search + 1 ask, per pass (default 2)")
    ap.add_argument("--passes", type=int, default=2, help="passes over the configurations (default 2)")
    ap.add_argument("--search-round", type=int, default=8, help="searches per round, search-only (default 8)")
    ap.add_argument("--notes", type=int, default=60, help="generated notes (default 60)")
    ap.add_argument("--llm-threads", type=int, default=1, help="threads per llama.cpp server (default 1)")
    ap.add_argument("--quick", action="store_true", help="1 pass of 1 round, 20 notes: a smoke run")
    ap.add_argument("--pg-url", default=PG_ADMIN_URL, help="PostgreSQL admin URL; a fresh database is made")
    ap.add_argument("--json", action="store_true", help="print the results as JSON")
    args = ap.parse_args()
    if args.quick:
        args.rounds, args.passes, args.notes = 1, 1, 20
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    tmp = Path(tempfile.mkdtemp(prefix="deepwell-bench-scale-"))
    try:
        with postgres(args.pg_url) as pg_url:
            r = asyncio.run(measure(args, tmp, pg_url))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print(json.dumps(r, indent=2) if args.json else render(r))


if __name__ == "__main__":
    main()
