#!/usr/bin/env bash
# Memory under sustained load: `sigil serve` on its default SQLite store,
# loaded by `sigil bench` (16 keep-alive connections, every request signed
# with a fresh nonce) for DURATION seconds, 660 by default: past the 600 s
# nonce lifetime, so expired nonces are being deleted by the end. The
# server's resident memory is sampled every 10 s; at the end the nonce rows
# are counted against the bound rate x (nonce lifetime + sweep interval).
# The figures go into BENCHMARKS.md between soak:begin and soak:end.
#
#   bench/soak.sh
#   DURATION=120 bench/soak.sh     # a shorter look (the bound is then trivial)
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh
DURATION=${DURATION:-660}
CONCURRENCY=${CONCURRENCY:-16}
# The policy's default nonce lifetime, and how often the nonce writer
# sweeps (crates/sigil-store/src/nonce_writer.rs).
LIFETIME=600
SWEEP=2

build_release
DB_FILE="$WORK/soak.db"
URL=$(start soak "$S" serve --listen 127.0.0.1:0 --database "sqlite://$DB_FILE")
PID=$(cat "$WORK/soak.pid")
read -r KEY SECRET TOKEN TOKEN_SECRET <<< "$(credentials "$URL" --database "sqlite://$DB_FILE")"

(
  start_s=$(date +%s)
  while kill -0 "$PID" 2>/dev/null; do
    echo "$(( $(date +%s) - start_s )) $(awk '/^VmRSS/ {print $2}' "/proc/$PID/status")"
    sleep 10
  done
) > "$WORK/rss" &
SAMPLER=$!
EXTRA_CLEANUP+=("kill $SAMPLER 2>/dev/null")

log "loading $URL/api/me for $DURATION s"
"$S" bench --url "$URL/api/me" --consumer-key "$KEY" --consumer-secret "$SECRET" \
  --token "$TOKEN" --token-secret "$TOKEN_SECRET" \
  --concurrency "$CONCURRENCY" --duration "$DURATION" --json > "$WORK/soak.json"
sleep 1
kill "$SAMPLER" 2>/dev/null || true

.venv/bin/python - "$WORK" "$DB_FILE" "$LIFETIME" "$SWEEP" "$CONCURRENCY" > "$WORK/block" <<'PY'
import datetime, json, os, sqlite3, sys
work, db, lifetime, sweep, conc = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
run = json.load(open(f"{work}/soak.json"))
samples = [tuple(map(int, l.split())) for l in open(f"{work}/rss") if len(l.split()) == 2]
def rss_at(t):
    return min(samples, key=lambda s: abs(s[0] - t))[1] / 1024
rate = run["requests_per_second"]
rows = sqlite3.connect(db).execute("SELECT COUNT(*) FROM nonces").fetchone()[0]
bound = rate * (lifetime + sweep)
one, ten, last = rss_at(60), rss_at(600), samples[-1][1] / 1024
peak = max(s[1] for s in samples) / 1024
ok = run["status"]["200"]
print("<!-- soak:begin (written by bench/soak.sh; do not edit by hand) -->")
print(f"Measured {datetime.date.today()} on {os.cpu_count()} cores: `sigil serve` on SQLite, GET /api/me, "
      f"{conc} connections, {run['seconds']:.0f} s; {ok} requests answered 200 "
      f"({rate:.0f}/s), {run['status']['401'] + run['status']['other'] + run['transport_errors']} not.")
print()
print("| resident memory | after 1 min | after 10 min | at the end | peak | 10 min / 1 min |")
print("|---|---|---|---|---|---|")
print(f"| `sigil serve` | {one:.1f} MiB | {ten:.1f} MiB | {last:.1f} MiB | {peak:.1f} MiB | {ten / one:.2f}x |")
print()
print(f"Nonce rows at the end: {rows} (bound: {rate:.0f}/s x ({lifetime} s lifetime + {sweep} s sweep) = {bound:.0f}; "
      f"requests sent in all: {ok}).")
print("<!-- soak:end -->")
PY
write_block soak "Memory under sustained load (bench/soak.sh)" "$WORK/block"
