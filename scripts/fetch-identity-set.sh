#!/usr/bin/env bash
# Fetches the labelled identity set used by `npm run bench -- --only people`: dlib's examples/johns (5 people,
# 55 face photos) from Debian's libdlib19.1 package, unpacked under bench/out/identity-set (git-ignored; the
# photos are not ours to redistribute, so they never enter the repository).
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
dest="$here/bench/out/identity-set"
if [ -d "$dest/usr/share/doc/libdlib19.1/examples/johns" ]; then echo "$dest"; exit 0; fi
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
chmod 777 "$work"
(cd "$work" && apt-get download libdlib19.1 >/dev/null)
mkdir -p "$dest"
dpkg-deb -x "$work"/libdlib19.1_*.deb "$dest"
echo "$dest"
