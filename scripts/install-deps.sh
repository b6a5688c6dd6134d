#!/usr/bin/env bash
# Installs the Debian packages named as arguments that are not installed yet
# (apt-get update once, only when something is missing). Root, or sudo -n.
set -euo pipefail
missing=()
for p in "$@"; do
    dpkg -s "$p" 2>/dev/null | grep -q '^Status: install ok installed' || missing+=("$p")
done
((${#missing[@]})) || exit 0
echo "installing: ${missing[*]}"
SUDO=()
if [[ $(id -u) != 0 ]]; then
    command -v sudo >/dev/null || { echo "not root and no sudo: install ${missing[*]}" >&2; exit 1; }
    SUDO=(sudo -n)
fi
"${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q
"${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
