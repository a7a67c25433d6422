#!/usr/bin/env bash
# The reconcile report's browser test needs a Chromium. Where there is none and this is a
# Debian-family machine run as root (CI, the project's own machines), install Debian's package;
# elsewhere say how, and the test is skipped with that reason. Never fails `make test`.
set -u
for name in chromium chromium-browser google-chrome; do
    command -v "$name" >/dev/null 2>&1 && exit 0
done
if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
    echo "installing Debian's chromium for the browser test (apt-get, once)..."
    export DEBIAN_FRONTEND=noninteractive
    # Bounded: a machine without a reachable mirror must not hold `make test` up for long.
    if timeout 300 apt-get install -y -q chromium >/dev/null 2>&1 \
        || { timeout 300 apt-get update -q >/dev/null 2>&1 \
            && timeout 300 apt-get install -y -q chromium >/dev/null 2>&1; }; then
        exit 0
    fi
    echo "could not install chromium; the browser test will be skipped" >&2
    exit 0
fi
echo "no Chromium on PATH: the reconcile report's browser test will be skipped" \
    "(install chromium to run it)" >&2
exit 0
