#!/usr/bin/env bash
# Builds the extension with AddressSanitizer + UndefinedBehaviorSanitizer and runs the test suite under it.
# Python itself is not instrumented, so the ASan runtime is preloaded; leak checking is off because the
# interpreter keeps memory alive at exit by design (the leak check of fastbce itself is tests' RSS test).
set -euo pipefail
cd "$(dirname "$0")/.."
venv=${SANITIZE_VENV:-/tmp/fastbce-sanitize-venv}
rm -rf "$venv"
python3 -m venv "$venv"
"$venv/bin/pip" install -q --disable-pip-version-check \
  -Ccmake.define.FASTBCE_SANITIZE=ON -Cbuild-dir=/tmp/fastbce-sanitize-build '.[test]'
asan=$(g++ -print-file-name=libasan.so)
ubsan=$(g++ -print-file-name=libubsan.so)
export ASAN_OPTIONS=detect_leaks=0:abort_on_error=1:strict_init_order=1
export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
# The slow tests (exhaustive sweeps, huge inputs) add nothing under the sanitizers but hours.
LD_PRELOAD="$asan $ubsan" "$venv/bin/python" -m pytest -q -p no:cacheprovider -m "not slow" -x "$@"
echo "sanitize: ASan+UBSan clean"
