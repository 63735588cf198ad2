#!/usr/bin/env bash
# Install Debian's headless Chromium and its ChromeDriver for tests/test_browser.py.
# Idempotent: does nothing when both are there. Needs root (or sudo) and Debian's package registry;
# no browser build is downloaded from anywhere else.
set -euo pipefail
chromium="${COURSE_CHROMIUM:-/usr/bin/chromium}"
driver="${COURSE_CHROMEDRIVER:-/usr/bin/chromedriver}"
if [ -x "$chromium" ] && [ -x "$driver" ]; then
  echo "[browser] $("$chromium" --version 2>/dev/null | head -n 1); $("$driver" --version | head -n 1)"
  exit 0
fi
if [ "$(id -u)" -eq 0 ]; then
  sudo=()
elif command -v sudo >/dev/null && sudo -n true 2>/dev/null; then
  sudo=(sudo -n)
else
  echo "[browser] chromium and chromium-driver are missing and this user cannot install them;" >&2
  echo "[browser] ask for: apt-get install chromium chromium-driver (tests/test_browser.py is skipped outside CI)" >&2
  exit 1
fi
if ! command -v apt-get >/dev/null; then
  echo "[browser] no apt-get here: install Chromium and ChromeDriver of the same version, then set" >&2
  echo "[browser] COURSE_CHROMIUM and COURSE_CHROMEDRIVER to their paths" >&2
  exit 1
fi
echo "[browser] installing Debian's chromium and chromium-driver"
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get update -q
"${sudo[@]}" apt-get install -y -q --no-install-recommends chromium chromium-driver
echo "[browser] $("$chromium" --version 2>/dev/null | head -n 1); $("$driver" --version | head -n 1)"
