#!/usr/bin/env bash
# Install everything the tests need, then run them all: `bash scripts/test.sh [pytest args]`.
# System packages (Debian): redis-server for the Redis tests, nginx for the scaled-out stack's tests (the
# tests start their own on a free port: the package's own service is kept from starting), chromium for the browser tests,
# fonts-noto-cjk so Traditional Chinese renders, fonts-noto-color-emoji so emoji in statements print, poppler-utils (pdftoppm) for the PDF checks,
# libpango-1.0-0 and libpangoft2-1.0-0 for WeasyPrint (the PDF export).
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
command -v redis-server >/dev/null 2>&1 || need+=(redis-server)
command -v redis-cli >/dev/null 2>&1 || need+=(redis-tools)   # redis-cli --cluster create
command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ] || need+=(nginx)
[ -x /usr/bin/chromium ] || need+=(chromium)
command -v pdftoppm >/dev/null 2>&1 || need+=(poppler-utils)
# Capture the listings first: `fc-list | grep -q` under pipefail fails whenever grep exits at the first
# match and fc-list dies of SIGPIPE, which misdetected the fonts about 2 runs in 5.
fonts=$(fc-list : family 2>/dev/null || true)
grep -qi "Noto Sans CJK" <<<"$fonts" || need+=(fonts-noto-cjk)
grep -qi "Noto Color Emoji" <<<"$fonts" || need+=(fonts-noto-color-emoji)
libs=$(ldconfig -p 2>/dev/null || true)
grep -q "libpangoft2-1.0" <<<"$libs" || need+=(libpango-1.0-0 libpangoft2-1.0-0)
if [ ${#need[@]} -gt 0 ]; then
  echo "installing system packages: ${need[*]}"
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  # Installing nginx or redis-server would start the system's own service (nginx on port 80): a policy
  # that refuses service starts during the install keeps them stopped, then goes away again.
  policy=""
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    policy=/usr/sbin/policy-rc.d
    printf '#!/bin/sh\nexit 101\n' | $SUDO tee "$policy" >/dev/null && $SUDO chmod +x "$policy"
  fi
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
  [ -z "$policy" ] || $SUDO rm -f "$policy"
fi

PYTHON=${PYTHON:-python3}
[ -d .venv ] || "$PYTHON" -m venv .venv
. .venv/bin/activate
pip install -q --upgrade pip >/dev/null 2>&1 || true
pip install -q -e ".[test]"
exec python -m pytest "$@"
