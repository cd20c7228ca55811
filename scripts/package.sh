#!/usr/bin/env bash
# Builds the Debian package (cargo deb) and unpacks it (dpkg-deb -x, never
# installed) for crates/sigil/tests/package.rs, which test.sh then runs with
# SIGIL_PACKAGE_ROOT (the unpacked files) and SIGIL_PACKAGE_CONTROL (its
# maintainer scripts and conffiles). Verifies the unit with systemd-analyze
# where that command exists. Takes the dev profile: the test is of the
# packaging; `cargo deb -p sigil` makes the release build users install.
set -euo pipefail
cd "$(dirname "$0")/.."

out=target/package
rm -rf "$out"
mkdir -p "$out"
cargo deb --quiet -p sigil --profile dev -o "$out/sigil.deb" >&2
dpkg-deb -x "$out/sigil.deb" "$out/root"
dpkg-deb -e "$out/sigil.deb" "$out/control"

unit="$out/root/usr/lib/systemd/system/sigil.service"
[ -f "$unit" ] || { echo "the package has no systemd unit at /usr/lib/systemd/system/sigil.service" >&2; exit 1; }
if command -v systemd-analyze >/dev/null; then
  # The unit as packaged, its binary path pointed at the unpacked binary
  # (verify checks that the command exists).
  mkdir -p "$out/verify"
  sed "s#^ExecStart=/usr/bin/sigil #ExecStart=$PWD/$out/root/usr/bin/sigil #" "$unit" > "$out/verify/sigil.service"
  systemd-analyze verify "$out/verify/sigil.service"
  echo "systemd-analyze verify: sigil.service is valid" >&2
else
  echo "systemd-analyze not found: unit not verified (the package test still checks it)" >&2
fi
echo "SIGIL_PACKAGE_ROOT=$PWD/$out/root"
echo "SIGIL_PACKAGE_CONTROL=$PWD/$out/control"
