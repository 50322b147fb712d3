#!/usr/bin/env bash
# tests/test_tf_keras_conformance.py against real tf_keras, and pos_weight / the Keras 3 reductions against torch
# and Keras 3 (tests/test_pos_weight.py, tests/test_spec_contract.py), in their own venv (.venv-tf) so that
# TensorFlow and torch never enter the main test venv. Those tests skip themselves when a framework is missing;
# here a skip is a FAILURE:
# the JUnit report must show > 0 tests, all passed, none skipped.
#   env: FASTBCE_TF_VENV (default .venv-tf in the checkout)
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
VENV="${FASTBCE_TF_VENV:-$ROOT/.venv-tf}"
export PIP_DISABLE_PIP_VERSION_CHECK=1
export TF_CPP_MIN_LOG_LEVEL=3  # TensorFlow's C++ start-up chatter
# tf-keras 2.X is written for tensorflow 2.X: keep both on the same minor (2.21: tests/test_config.py's
# expected configs were printed by tf_keras 2.21.0).
TF_SPEC='tensorflow-cpu~=2.21.0'
TFK_SPEC='tf-keras~=2.21.0'
TORCH_SPEC='torch==2.13.0'  # the CPU build (other pins may pull a multi-GB CUDA build); Keras 3 comes with tensorflow
cd "$ROOT"
rm -rf "$VENV"
mkdir -p "$VENV"
log="$VENV/ci.log"
fail() { tail -n 60 "$log"; echo "FAIL: $*  (full log: $log)"; exit 1; }

python3 -m venv "$VENV" >>"$log" 2>&1 || fail "venv"
"$VENV/bin/pip" install -q '.[test]' "$TF_SPEC" "$TORCH_SPEC" >>"$log" 2>&1 || fail "pip install .[test] $TF_SPEC $TORCH_SPEC"
# --no-deps: tf-keras's one requirement is the distribution 'tensorflow', which would pull the full TensorFlow
# wheel on top of tensorflow-cpu (same import package, files overwritten; 2.2 GB instead of 1.6 GB).
# tensorflow-cpu provides that package; the version check below replaces pip's.
"$VENV/bin/pip" install -q --no-deps "$TFK_SPEC" >>"$log" 2>&1 || fail "pip install $TFK_SPEC"
versions="$("$VENV/bin/python" -c 'import tensorflow as tf, tf_keras as k; print(tf.__version__, k.__version__)' 2>>"$log")" \
  || fail "import tensorflow, tf_keras"
read -r tf_v tfk_v <<<"$versions"
[ "${tf_v%.*}" = "${tfk_v%.*}" ] || fail "tensorflow $tf_v and tf_keras $tfk_v are not the same minor version"

xml="$VENV/conformance.xml"
status=0
"$VENV/bin/python" -m pytest -q -p no:cacheprovider -rs --junitxml="$xml" tests/test_tf_keras_conformance.py \
  tests/test_pos_weight.py tests/test_spec_contract.py \
  >>"$log" 2>&1 || status=$?
[ "$status" -eq 0 ] || fail "tf_keras conformance tests (pytest exit $status)"
# Count from the JUnit report, not from pytest's exit code: a skipped module also exits 0.
counts="$("$VENV/bin/python" - "$xml" <<'EOF'
import sys
import xml.etree.ElementTree as ET

root = ET.parse(sys.argv[1]).getroot()
suite = root if root.tag == "testsuite" else root.find("testsuite")
n = {k: int(suite.get(k, 0)) for k in ("tests", "failures", "errors", "skipped")}
print(n["tests"], n["failures"], n["errors"], n["skipped"])
EOF
)" || fail "reading $xml"
read -r tests failures errors skipped <<<"$counts"
if [ "$tests" -eq 0 ] || [ "$failures" -ne 0 ] || [ "$errors" -ne 0 ] || [ "$skipped" -ne 0 ]; then
  grep -E '^SKIPPED' "$log" | head -5 || true
  fail "tf_keras conformance did not really run: tests=$tests failures=$failures errors=$errors skipped=$skipped"
fi
echo "tf_keras / torch / Keras 3 conformance: $tests tests passed, 0 skipped (tensorflow-cpu $tf_v, tf_keras $tfk_v; $(tail -n 1 "$log"))"
