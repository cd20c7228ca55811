#!/usr/bin/env bash
# Side-by-side load figures on this machine, with one load generator
# (`sigil bench`: every request signed with a fresh nonce, keep-alive,
# 16 connections): a bare axum route (no OAuth), `sigil serve` with nonces
# in memory (`--memory-nonces`), `sigil serve` on its default SQLite
# store, `sigil serve` on PostgreSQL + Redis, and Flask +
# oauthlib under gunicorn (2 workers), once with everything in memory and
# once with the client, token and nonces in SQLite as sigil serve keeps them. Targets alternate (A B C D A B C D
# ...) for ROUNDS rounds; the medians and ratios go into BENCHMARKS.md
# between the bench:begin/bench:end markers, with the machine description.
#
#   bench/run.sh                      # 3 rounds of 10 s per target
#   ROUNDS=5 DURATION=20 bench/run.sh
#
# Needs what ./test.sh installs (PostgreSQL, Redis, .venv) and gunicorn.
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh
ROUNDS=${ROUNDS:-3}
DURATION=${DURATION:-10}
CONCURRENCY=${CONCURRENCY:-16}
PG_ADMIN=${SIGIL_TEST_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/test}
REDIS=${SIGIL_BENCH_REDIS_URL:-redis://127.0.0.1:6379/8}

build_release
PG_DB="sigil_bench_$$"
EXTRA_CLEANUP+=('pkill -f "gunicorn.*127.0.0.1:${FLASK_PORT:-none}"'
  'pkill -f "gunicorn.*127.0.0.1:${FLASK_SQ_PORT:-none}"'
  'psql "$PG_ADMIN" -q -c "DROP DATABASE IF EXISTS $PG_DB WITH (FORCE)" >/dev/null 2>&1')

log "starting the five targets"
SQLITE_DB="sqlite://$WORK/sigil.db"
SQLITE_URL=$(start sqlite "$S" serve --listen 127.0.0.1:0 --database "$SQLITE_DB")
read -r SQ_KEY SQ_SECRET SQ_TOKEN SQ_TS <<< "$(credentials "$SQLITE_URL" --database "$SQLITE_DB")"
MEM_DB="sqlite://$WORK/memory-nonces.db"
MEM_URL=$(start memory "$S" serve --listen 127.0.0.1:0 --database "$MEM_DB" --memory-nonces)
read -r MEM_KEY MEM_SECRET MEM_TOKEN MEM_TS <<< "$(credentials "$MEM_URL" --database "$MEM_DB")"

psql "$PG_ADMIN" -q -c "CREATE DATABASE $PG_DB" >/dev/null
PG_URL="${PG_ADMIN%/*}/$PG_DB"
.venv/bin/python - "$REDIS" <<'PY'
import socket, sys, urllib.parse
u = urllib.parse.urlparse(sys.argv[1]); db = (u.path or "/0").strip("/") or "0"
s = socket.create_connection((u.hostname, u.port or 6379))
s.sendall(f"SELECT {db}\r\nFLUSHDB\r\n".encode()); s.recv(100)
PY
PGR_URL=$(start pgredis "$S" serve --listen 127.0.0.1:0 --database "$PG_URL" --redis "$REDIS")
read -r PG_KEY PG_SECRET PG_TOKEN PG_TS <<< "$(credentials "$PGR_URL" --database "$PG_URL" --redis "$REDIS")"

BARE_URL=$(start bare "$BARE")

# Flask + oauthlib under gunicorn on PORT; extra environment in "$@".
start_flask() { # name port env...
  local name=$1 port=$2; shift 2
  (cd bench && env BENCH_KEY=flask-key BENCH_SECRET=flask-secret BENCH_TOKEN=flask-token \
    BENCH_TOKEN_SECRET=flask-token-secret "$@" \
    ../.venv/bin/gunicorn --log-level warning -w 2 -b "127.0.0.1:$port" flask_provider:app > "$WORK/$name.err" 2>&1) &
  echo $! >> "$WORK/pids"
  for _ in $(seq 100); do (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break; sleep 0.1; done
}
free_port() { .venv/bin/python -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
FLASK_PORT=$(free_port)
start_flask flask "$FLASK_PORT"
FLASK_URL="http://127.0.0.1:$FLASK_PORT"
FLASK_SQ_PORT=$(free_port)
start_flask flask-sqlite "$FLASK_SQ_PORT" BENCH_SQLITE="$WORK/flask.db"
FLASK_SQ_URL="http://127.0.0.1:$FLASK_SQ_PORT"

load() { # name url key secret token token_secret
  "$S" bench --url "$2/api/me" --consumer-key "$3" --consumer-secret "$4" --token "$5" --token-secret "$6" \
    --concurrency "$CONCURRENCY" --duration "$DURATION" --json
}

mkdir -p "$WORK/results"
for round in $(seq "$ROUNDS"); do
  log "round $round of $ROUNDS"
  load bare "$BARE_URL" any any any any > "$WORK/results/bare-$round.json"
  load memory "$MEM_URL" "$MEM_KEY" "$MEM_SECRET" "$MEM_TOKEN" "$MEM_TS" > "$WORK/results/memory-$round.json"
  load sqlite "$SQLITE_URL" "$SQ_KEY" "$SQ_SECRET" "$SQ_TOKEN" "$SQ_TS" > "$WORK/results/sqlite-$round.json"
  load pgredis "$PGR_URL" "$PG_KEY" "$PG_SECRET" "$PG_TOKEN" "$PG_TS" > "$WORK/results/pgredis-$round.json"
  load flask "$FLASK_URL" flask-key flask-secret flask-token flask-token-secret > "$WORK/results/flask-$round.json"
  load flask-sqlite "$FLASK_SQ_URL" flask-key flask-secret flask-token flask-token-secret > "$WORK/results/flask-sqlite-$round.json"
done

log "flow: whole dances on SQLite"
"$S" bench --url "$SQLITE_URL" --flow --consumer-key "$SQ_KEY" --consumer-secret "$SQ_SECRET" \
  --user alice --password bench-password-1 --concurrency 4 --duration "$DURATION" --json > "$WORK/results/flow.json"

log "start-up on the existing SQLite file"
SQLITE_PID=$(cat "$WORK/sqlite.pid")
kill "$SQLITE_PID"
while kill -0 "$SQLITE_PID" 2>/dev/null; do sleep 0.1; done
for _ in $(seq 5); do
  port=$(free_port)
  h=$("$S" sign --url "http://127.0.0.1:$port/api/me" --consumer-key "$SQ_KEY" --consumer-secret "$SQ_SECRET" \
        --token "$SQ_TOKEN" --token-secret "$SQ_TS")
  .venv/bin/python bench/startup.py "$port" "$h" -- "$S" serve --listen "127.0.0.1:$port" --database "$SQLITE_DB" \
    >> "$WORK/results/startup"
done

log "writing BENCHMARKS.md"
.venv/bin/python - "$WORK/results" "$ROUNDS" "$DURATION" "$CONCURRENCY" > "$WORK/block" <<'PY'
import json, os, platform, statistics, subprocess, sys, datetime
results, rounds, duration, conc = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
names = {"bare": "bare axum route (no OAuth)", "memory": "sigil serve, nonces in memory",
         "sqlite": "sigil serve, SQLite (default)",
         "pgredis": "sigil serve, PostgreSQL + Redis", "flask": "Flask + oauthlib, gunicorn -w 2, in memory",
         "flask-sqlite": "Flask + oauthlib, gunicorn -w 2, SQLite"}
rows = {}
for key in names:
    runs = [json.load(open(f"{results}/{key}-{r}.json")) for r in range(1, rounds + 1)]
    rows[key] = {
        "rps": statistics.median(r["requests_per_second"] for r in runs),
        "p99": statistics.median(r["latency_ms"]["p99"] for r in runs),
        "p50": statistics.median(r["latency_ms"]["p50"] for r in runs),
        "ok": sum(r["status"]["200"] for r in runs),
        "bad": sum(r["status"]["401"] + r["status"]["other"] + r["transport_errors"] for r in runs),
        "all": [round(r["requests_per_second"]) for r in runs],
    }
for key, r in rows.items():
    if r["ok"] == 0:
        sys.exit(f"{names[key]} answered no request with 200: see the runs in {results}")
flow = json.load(open(f"{results}/flow.json"))
startups = [float(l) for l in open(f"{results}/startup") if l.strip()]
cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "unknown CPU")
bare = rows["bare"]["rps"]
lines = [
    "<!-- bench:begin (written by bench/run.sh; do not edit by hand) -->",
    f"Measured {datetime.date.today()} on {os.cpu_count()} cores ({cpu}), {platform.system()} {platform.release()};",
    f"`sigil bench` with {conc} keep-alive connections, {duration} s per run, {rounds} rounds alternating the targets;",
    "the generator shares the machine. Medians of the rounds; every run's figure in the last column.",
    "",
    "| target | requests/s | vs bare axum | p50 ms | p99 ms | non-200 | runs (req/s) |",
    "|---|---|---|---|---|---|---|",
]
for key, name in names.items():
    r = rows[key]
    lines.append(f"| {name} | {r['rps']:.0f} | {r['rps'] / bare:.2f}x | {r['p50']:.2f} | {r['p99']:.2f} | {r['bad']} | {', '.join(map(str, r['all']))} |")
lines += [
    "",
    f"Against Flask + oauthlib in memory: sigil serve {rows['memory']['rps'] / rows['flask']['rps']:.1f}x (nonces in memory), "
    f"{rows['sqlite']['rps'] / rows['flask']['rps']:.1f}x (SQLite), {rows['pgredis']['rps'] / rows['flask']['rps']:.1f}x (PostgreSQL + Redis); "
    f"the bare axum route {bare / rows['flask']['rps']:.1f}x. "
    f"Like for like on SQLite (both commit every nonce before answering): sigil serve "
    f"{rows['sqlite']['rps'] / rows['flask-sqlite']['rps']:.1f}x Flask + oauthlib.",
    f"Whole three-legged dances (`sigil bench --flow`, 4 workers, SQLite, approval in the web UI): "
    f"{flow['dances_per_second']:.1f} dances/s, p50 {flow['latency_ms']['p50']:.1f} ms per dance.",
    f"Start-up of `sigil serve` on the existing SQLite file, from spawn to the first accepted signed request "
    f"({len(startups)} starts): median {statistics.median(startups):.1f} ms ({', '.join(f'{t:.1f}' for t in startups)}).",
    "<!-- bench:end -->",
]
print("\n".join(lines))
PY
write_block bench "Side by side over HTTP (bench/run.sh)" "$WORK/block"
