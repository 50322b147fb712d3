#!/usr/bin/env bash
# Baseline-ISA proof for x86-64 (issue 3): builds the extension with CMake exactly as the wheel build does
# (Release, the project's own flags) in a private directory, keeping symbols, then with objdump
# (.ci/isa_audit.py) shows that
#   1. cpp/targets/avx2.cpp.o and avx512.cpp.o contain AVX (the detector works),
#   2. every other object (scalar kernels, bce, dispatch, threads, module) has no AVX and nothing beyond SSE2,
#   3. no weak/COMDAT function is emitted by both a target object and a baseline object,
#   4. in the linked _core*.so every function that contains AVX is defined by a target object.
# Then links cpp/tests/check_kernels.cpp against those same objects and runs it (all levels this CPU has;
# FASTBCE_KERNEL_SAMPLE=1, the default, sweeps the float32 ranges exhaustively; 0 skips the run).
# Prints the audit lines; on failure also the offending functions. Skips on non-x86-64 hosts.
#   env: FASTBCE_ISA_DIR (default /tmp/fastbce-isa), FASTBCE_KERNEL_SAMPLE (default 1)
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
WORK="${FASTBCE_ISA_DIR:-/tmp/fastbce-isa}"
SAMPLE="${FASTBCE_KERNEL_SAMPLE:-1}"
export PIP_DISABLE_PIP_VERSION_CHECK=1

case "$(uname -m)" in
  x86_64|amd64) ;;
  *) echo "SKIP: baseline-ISA audit is for x86-64 hosts (this is $(uname -m))"; exit 0 ;;
esac
for tool in objdump nm c++; do
  command -v "$tool" >/dev/null || { echo "FAIL: $tool not found (binutils / a C++ compiler are required)"; exit 1; }
done
mkdir -p "$WORK"
log="$WORK/build.log"
: >"$log"
fail() { tail -n 40 "$log"; echo "FAIL: $*"; exit 1; }

# Build tools in a private venv (the build requirements of pyproject.toml, plus cmake if the system lacks it).
if [ ! -x "$WORK/venv/bin/python" ]; then python3 -m venv "$WORK/venv" >>"$log" 2>&1 || fail "venv"; fi
PY="$WORK/venv/bin/python"
"$PY" -c "import pybind11" 2>/dev/null || "$PY" -m pip install -q pybind11 >>"$log" 2>&1 || fail "pip install pybind11"
CMAKE=cmake
if ! cmake --version >/dev/null 2>&1; then
  "$PY" -m pip install -q cmake >>"$log" 2>&1 || fail "pip install cmake"
  CMAKE="$WORK/venv/bin/cmake"
fi

BUILD="$WORK/build"
rm -rf "$BUILD"  # always from scratch: a cache from another checkout would be refused (or worse, reused)
# CMAKE_STRIP=true: pybind11_add_module strips local symbols after linking; keep them so that every
# function in the .so can be named (stripping removes symbols, not code).
"$CMAKE" -S "$ROOT" -B "$BUILD" -DCMAKE_BUILD_TYPE=Release -DPython_EXECUTABLE="$PY" \
  -Dpybind11_DIR="$("$PY" -m pybind11 --cmakedir)" -DCMAKE_STRIP=/bin/true >>"$log" 2>&1 || fail "cmake configure"
"$CMAKE" --build "$BUILD" --target _core -j 2 >>"$log" 2>&1 || fail "cmake build"

objdir="$BUILD/CMakeFiles/fastbce_kernels.dir/cpp"
# The dispatched x86-64 levels of cpp/levels.def (the one list of levels): their objects may hold AVX.
mapfile -t levels < <(sed -n 's/^FASTBCE_LEVEL(\([a-z0-9_]*\), *x86_64,.*/\1/p' "$ROOT/cpp/levels.def")
[ "${#levels[@]}" -ge 1 ] || fail "no x86_64 levels in cpp/levels.def"
targets=()
for level in "${levels[@]}"; do targets+=("$objdir/targets/$level.cpp.o"); done
baseline=()
while IFS= read -r obj; do
  is_target=0
  for t in "${targets[@]}"; do [ "$obj" = "$t" ] && is_target=1; done
  [ "$is_target" -eq 1 ] || baseline+=("$obj")
done < <(find "$BUILD/CMakeFiles/fastbce_kernels.dir" "$BUILD/CMakeFiles/_core.dir" -name '*.o' | sort)
for t in "${targets[@]}"; do [ -f "$t" ] || fail "target object $t not found"; done
[ "${#baseline[@]}" -ge 5 ] || fail "expected >= 5 baseline objects, found ${#baseline[@]}"
so="$(find "$BUILD" -maxdepth 1 -name '_core*.so' | head -n 1)"
[ -n "$so" ] || fail "_core*.so not found in $BUILD"

cd "$BUILD"  # shorter paths in the report
rel() { for p in "$@"; do printf '%s\n' "${p#"$BUILD"/}"; done; }
mapfile -t rtargets < <(rel "${targets[@]}")
mapfile -t rbaseline < <(rel "${baseline[@]}")
status=0
"$PY" "$ROOT/.ci/isa_audit.py" objects --targets "${rtargets[@]}" --baseline "${rbaseline[@]}" || status=1
"$PY" "$ROOT/.ci/isa_audit.py" so --targets "${rtargets[@]}" --so "$(rel "$so")" || status=1
[ "$status" -eq 0 ] || { echo "FAIL: AVX outside the dispatched kernels (above)"; exit 1; }
echo "baseline ISA: objects and $(basename "$so") clean (build: $BUILD)"

# The native kernel checks, linked against the very objects audited above (-O3, as shipped).
if [ "$SAMPLE" != "0" ]; then
  c++ -std=c++17 -O2 -ffp-contract=off -fno-math-errno -c "$ROOT/cpp/tests/check_kernels.cpp" -o "$WORK/check_kernels.o" \
    >>"$log" 2>&1 || fail "compile cpp/tests/check_kernels.cpp"
  c++ -pthread "$WORK/check_kernels.o" "${targets[@]}" \
    $(printf '%s\n' "${baseline[@]}" | grep -v '_core.dir') -o "$WORK/check_kernels" >>"$log" 2>&1 \
    || fail "link check_kernels"
  start=$SECONDS
  if ! "$WORK/check_kernels" --sample "$SAMPLE" >"$WORK/check_kernels.log" 2>&1; then
    grep -v '^PASS' "$WORK/check_kernels.log"
    echo "FAIL: native kernel checks (log $WORK/check_kernels.log)"
    exit 1
  fi
  echo "native kernels: $(head -n 1 "$WORK/check_kernels.log" | sed 's/^check_kernels: //'): $(tail -n 1 "$WORK/check_kernels.log" | sed 's/^check_kernels: //') in $((SECONDS - start))s"
fi
