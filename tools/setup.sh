#!/usr/bin/env bash
# Set up a bare Debian machine for hil: the Arm toolchain and QEMU from apt,
# then hil and its Python dependencies in ./.venv. Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."

sudo=""
if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi

# chromium: the HTML report is checked in a real headless browser by the tests.
# libstdc++-arm-none-eabi-*: TFLite Micro is C++. make: examples/own_firmware builds with it.
packages=(make qemu-system-arm gcc-arm-none-eabi libnewlib-arm-none-eabi python3-venv clang libclang-rt-14-dev chromium postgresql libstdc++-arm-none-eabi-dev libstdc++-arm-none-eabi-newlib)
missing=()
for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
    echo "setup: installing ${missing[*]}"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

if [ ! -x .venv/bin/python ]; then
    python3 -m venv .venv
fi
.venv/bin/python -m pip install -q --upgrade pip 'setuptools>=77'  # the e2e wheel build runs without isolation
.venv/bin/python -m pip install -q -e '.[dev]'
echo "setup: done ($(.venv/bin/python -c 'import hil; print("hil", hil.__version__)'))"
