#!/usr/bin/env bash
# The RustSec advisories check (cargo deny check advisories).
#
# With an unpacked snapshot of the advisory database (SIGIL_ADVISORY_DB, or
# ../shared/advisory-db beside this checkout), the check runs offline: the
# snapshot is copied where cargo-deny looks for the database of its default
# URL (<db-path>/advisory-db-3157b0e258782691), made a git repository with
# one commit dated as the snapshot (cargo-deny reads the HEAD commit's date),
# and checked with --offline. Without a snapshot cargo-deny fetches the
# database from GitHub itself.
set -euo pipefail
cd "$(dirname "$0")/.."

snapshot="${SIGIL_ADVISORY_DB:-../shared/advisory-db}"
if [ ! -d "$snapshot/crates" ]; then
  echo "==> no advisory snapshot at $snapshot: cargo-deny fetches the database" >&2
  exec cargo deny --log-level error check advisories
fi

work="$PWD/target/advisory-db"
db="$work/advisory-db-3157b0e258782691"
rm -rf "$work"
mkdir -p "$db"
cp -R "$snapshot"/. "$db"/
# The snapshot's date, from its SNAPSHOT.md ("commit <sha> (YYYY-MM-DD)").
date=$(sed -n 's/.*commit [0-9a-f]\{40\} (\([0-9-]\{10\}\)).*/\1/p' "$snapshot/SNAPSHOT.md" | head -n 1)
[ -n "$date" ] || { echo "cannot read the snapshot's date from $snapshot/SNAPSHOT.md" >&2; exit 1; }
(
  cd "$db"
  git init -q
  git add -A
  GIT_AUTHOR_DATE="${date}T00:00:00Z" GIT_COMMITTER_DATE="${date}T00:00:00Z" \
    git -c user.name=snapshot -c user.email=snapshot@localhost commit -q -m "advisory-db snapshot $date"
)
sed "s|^db-path = .*|db-path = \"$work\"|" deny.toml > "$work/deny.toml"
# --offline keeps cargo metadata offline too: every platform's crates first.
cargo fetch --locked --quiet
echo "==> cargo deny --offline check advisories (snapshot of $date)" >&2
cargo deny --log-level error --offline --config "$work/deny.toml" check advisories
