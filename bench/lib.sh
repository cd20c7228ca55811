# Shared by bench/run.sh and bench/soak.sh: release binaries, a scratch
# folder whose servers are stopped on exit, and credentials on a store.
# Source it from the repository root.

log() { printf '==> %s\n' "$*" >&2; }

# Builds the release binaries; sets S (sigil) and BARE (the bare axum route).
build_release() {
  log "building release binaries"
  cargo build --release -q -p sigil
  cargo build --release -q -p sigil-axum --example bare_hello
  S=$PWD/target/release/sigil
  BARE=$PWD/target/release/examples/bare_hello
  if [ ! -x .venv/bin/python ]; then python3 -m venv .venv; fi
  .venv/bin/python -m pip install -q --disable-pip-version-check -r interop/requirements.txt -r bench/requirements.txt
}

# WORK: a scratch folder; every server started with `start` is stopped on
# exit, and the folder removed (unless KEEP is set). Scripts add their own
# clean-up to EXTRA_CLEANUP.
WORK=$(mktemp -d)
EXTRA_CLEANUP=()
cleanup() {
  for p in $(cat "$WORK/pids" 2>/dev/null); do kill "$p" 2>/dev/null || true; done
  for c in "${EXTRA_CLEANUP[@]}"; do eval "$c" || true; done
  if [ -z "${KEEP:-}" ]; then rm -rf "$WORK"; else echo "kept $WORK" >&2; fi
}
trap cleanup EXIT

# Benchmarked servers serve no metrics listener (several run at once).
export SIGIL_METRICS_LISTEN=off

# Starts a server whose stdout has a line "listening on URL"; prints URL.
# Its PID goes to $WORK/NAME.pid (and $WORK/pids, for the clean-up).
start() {
  local name=$1; shift
  "$@" > "$WORK/$name.out" 2> "$WORK/$name.err" &
  # `start` runs in a command substitution (a subshell): keep the PID in a file.
  echo $! >> "$WORK/pids"
  echo $! > "$WORK/$name.pid"
  for _ in $(seq 100); do
    if grep -q "listening on" "$WORK/$name.out" 2>/dev/null; then
      sed -n 's/^listening on //p' "$WORK/$name.out" | head -n 1
      return
    fi
    sleep 0.1
  done
  echo "$name did not start: $(cat "$WORK/$name.err")" >&2
  exit 1
}

field() { tr '&' '\n' | sed -n "s/^$1=//p"; }
json() { .venv/bin/python -c "import json,sys; print(json.load(sys.stdin)['$1'])"; }

# A user, a client and an access token on the store behind URL; prints
# "KEY SECRET TOKEN TOKEN_SECRET".
credentials() {
  local url=$1; shift
  local admin=("$S" admin "$@")
  "${admin[@]}" user add alice --password-stdin <<< 'bench-password-1' >/dev/null
  local client key secret h r rt rts verifier at ats
  client=$("${admin[@]}" client add --name Bench --callback http://127.0.0.1:9/cb --allow-oob --json)
  key=$(echo "$client" | json key); secret=$(echo "$client" | json secret)
  h=$("$S" sign -X POST --url "$url/oauth/request_token" --consumer-key "$key" --consumer-secret "$secret" --oauth oauth_callback=oob)
  r=$(curl -s -X POST -H "Authorization: $h" "$url/oauth/request_token")
  rt=$(echo "$r" | field oauth_token); rts=$(echo "$r" | field oauth_token_secret)
  verifier=$("${admin[@]}" authorize --token "$rt" --user alice --json | json verifier)
  h=$("$S" sign -X POST --url "$url/oauth/access_token" --consumer-key "$key" --consumer-secret "$secret" \
        --token "$rt" --token-secret "$rts" --oauth "oauth_verifier=$verifier")
  r=$(curl -s -X POST -H "Authorization: $h" "$url/oauth/access_token")
  at=$(echo "$r" | field oauth_token); ats=$(echo "$r" | field oauth_token_secret)
  echo "$key $secret $at $ats"
}

# Replaces the block between <!-- NAME:begin and <!-- NAME:end --> in
# BENCHMARKS.md with the file BLOCK (appended under HEADING if missing).
write_block() { # NAME HEADING BLOCK
  .venv/bin/python - "$1" "$2" "$3" <<'PY'
import sys
name, heading, path = sys.argv[1:4]
block = open(path).read().rstrip("\n")
text = open("BENCHMARKS.md").read()
begin, end = f"<!-- {name}:begin", f"<!-- {name}:end -->"
if begin in text:
    text = text[: text.index(begin)] + block + text[text.index(end) + len(end) :]
else:
    text += f"\n## {heading}\n\n{block}\n"
open("BENCHMARKS.md", "w").write(text)
print(block)
PY
}
