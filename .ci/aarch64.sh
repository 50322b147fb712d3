#!/usr/bin/env bash
# aarch64 / NEON on an x86-64 host: cross-compile the kernels (cpp/targets/{scalar,neon}.cpp + driver code) and
# cpp/tests/check_kernels.cpp with Debian's g++-aarch64-linux-gnu for plain armv8-a, statically linked, and run
# the driver under qemu-aarch64 (Debian qemu-user). It checks the NEON and scalar levels: log/log1p/exp ULP
# bounds (float32 sampled every FASTBCE_AARCH64_SAMPLE-th float, float64 random) and the fused loss against a
# float64 reference and against the scalar level.
# Skips (exit 0, with a SKIP line) only when the cross compiler or qemu cannot be installed.
# Quiet on success (one summary line), the full driver output on failure.
#   env: FASTBCE_AARCH64_DIR (build dir, default /tmp/fastbce-aarch64), FASTBCE_AARCH64_SAMPLE (default 64)
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
WORK="${FASTBCE_AARCH64_DIR:-/tmp/fastbce-aarch64}"
SAMPLE="${FASTBCE_AARCH64_SAMPLE:-64}"
CXX=aarch64-linux-gnu-g++
QEMU=qemu-aarch64
mkdir -p "$WORK"

have_tools() { command -v "$CXX" >/dev/null 2>&1 && command -v "$QEMU" >/dev/null 2>&1; }
if ! have_tools; then
  SUDO=""
  if [ "$(id -u)" -ne 0 ]; then SUDO="sudo -n"; fi
  pkgs=(g++-aarch64-linux-gnu qemu-user)
  export DEBIAN_FRONTEND=noninteractive
  if ! $SUDO apt-get install -y -q "${pkgs[@]}" >"$WORK/apt.log" 2>&1; then
    $SUDO apt-get update -q >>"$WORK/apt.log" 2>&1 || true
    $SUDO apt-get install -y -q "${pkgs[@]}" >>"$WORK/apt.log" 2>&1 || true
  fi
  if ! have_tools; then
    echo "SKIP: aarch64/NEON check: could not install ${pkgs[*]} (see $WORK/apt.log)"
    exit 0
  fi
fi

# The same flags CMakeLists.txt gives the kernel objects (-O2 here), for plain armv8-a (NEON is part of it).
# The levels come from cpp/levels.def, as CMakeLists.txt reads them: aarch64 and "any" levels are compiled.
FLAGS=(-std=c++17 -O2 -march=armv8-a -ffp-contract=off -fno-math-errno -Wall -Wextra)
SOURCES=(cpp/bce.cpp cpp/dispatch.cpp cpp/threads.cpp cpp/tests/check_kernels.cpp)
while read -r level arch; do
  if [ "$arch" = aarch64 ] || [ "$arch" = any ]; then
    FLAGS+=("-DFASTBCE_COMPILED_$level=1"); SOURCES+=("cpp/targets/$level.cpp")
  else
    FLAGS+=("-DFASTBCE_COMPILED_$level=0")
  fi
done < <(sed -n 's/^FASTBCE_LEVEL(\([a-z0-9_]*\), *\([a-z0-9_]*\),.*/\1 \2/p' "$ROOT/cpp/levels.def")
start=$SECONDS
objs=()
pids=()
for src in "${SOURCES[@]}"; do
  obj="$WORK/$(basename "${src%.cpp}").o"
  objs+=("$obj")
  "$CXX" "${FLAGS[@]}" -c "$ROOT/$src" -o "$obj" 2>"$obj.log" &
  pids+=($!)
  if [ "${#pids[@]}" -ge 2 ]; then wait "${pids[0]}" || { cat "${objs[-2]}.log" "$obj.log"; echo "FAIL: aarch64 cross-compile"; exit 1; }; pids=("${pids[@]:1}"); fi
done
for pid in "${pids[@]}"; do wait "$pid" || { cat "$WORK"/*.o.log; echo "FAIL: aarch64 cross-compile"; exit 1; }; done
"$CXX" -static -pthread "${objs[@]}" -o "$WORK/check_kernels"
compile_s=$((SECONDS - start))

if [[ "$(file "$WORK/check_kernels" 2>/dev/null || true)" != *"ARM aarch64"* ]]; then
  command -v file >/dev/null 2>&1 && { echo "FAIL: $WORK/check_kernels is not an aarch64 binary"; exit 1; }
fi

start=$SECONDS
status=0
"$QEMU" -L /usr/aarch64-linux-gnu "$WORK/check_kernels" --sample "$SAMPLE" >"$WORK/check.log" 2>&1 || status=$?
run_s=$((SECONDS - start))
if [ "$status" -ne 0 ] || ! grep -q "^check_kernels: levels neon scalar;" "$WORK/check.log"; then
  cat "$WORK/check.log"
  echo "FAIL: aarch64/NEON kernels under qemu-aarch64 (exit $status; log $WORK/check.log)"
  exit 1
fi
summary="$(tail -n 1 "$WORK/check.log")"
echo "aarch64/NEON under qemu-aarch64: ${summary#check_kernels: } (compile ${compile_s}s, run ${run_s}s, float32 stride $SAMPLE)"
