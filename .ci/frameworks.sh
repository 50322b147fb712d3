#!/usr/bin/env bash
# Everything that needs a framework, in one venv of its own (.venv-fw) so that TensorFlow, torch, JAX, XGBoost and
# LightGBM never enter the main test venv: the tf_keras conformance test, pos_weight and the Keras 3 reductions
# against torch and Keras 3 (tests/test_pos_weight.py, tests/test_spec_contract.py), the framework adapters
# (tests/test_fw_*.py, with pyarrow for the file formats), the gradients vs TensorFlow (tests/test_grad_*.py) and
# the boosting objectives (tests/test_gbdt.py).
# The test files are globbed, so new ones of those names run here without a change to this script.
# Those tests skip themselves when a framework is missing; here a skip is a FAILURE:
# the JUnit report must show > 0 tests, all passed, none skipped.
# The frameworks and their pins are pyproject.toml's optional extra `frameworks` (one place for the versions).
#   env: FASTBCE_FW_VENV (default .venv-fw in the checkout)
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
VENV="${FASTBCE_FW_VENV:-$ROOT/.venv-fw}"
export PIP_DISABLE_PIP_VERSION_CHECK=1
export TF_CPP_MIN_LOG_LEVEL=3  # TensorFlow's C++ start-up chatter
export JAX_PLATFORMS=cpu       # no accelerator probing
cd "$ROOT"
rm -rf "$VENV"
mkdir -p "$VENV"
log="$VENV/ci.log"
fail() { tail -n 60 "$log"; echo "FAIL: $*  (full log: $log)"; exit 1; }

python3 -m venv "$VENV" >>"$log" 2>&1 || fail "venv"
# The extra's requirements, read from pyproject.toml (tomllib: Python >= 3.11; tomli before).
"$VENV/bin/python" -c 'import tomllib' 2>/dev/null || "$VENV/bin/pip" install -q tomli >>"$log" 2>&1 || fail "tomli"
reqs="$("$VENV/bin/python" - <<'PY' 2>>"$log"
try:
    import tomllib
except ImportError:
    import tomli as tomllib
with open("pyproject.toml", "rb") as f:
    print("\n".join(tomllib.load(f)["project"]["optional-dependencies"]["frameworks"]))
PY
)" || fail "reading the frameworks extra from pyproject.toml"
# --no-deps for tf-keras: its one requirement is the distribution 'tensorflow', which would pull the full TensorFlow
# wheel on top of tensorflow-cpu (same import package, files overwritten; 2.2 GB instead of 1.6 GB).
# tensorflow-cpu provides that package; the version check below replaces pip's.
deps=() nodeps=()
while IFS= read -r req; do
  case "$req" in
    tf-keras*|tf_keras*) nodeps+=("$req") ;;
    ?*) deps+=("$req") ;;
  esac
done <<<"$reqs"
[ "${#deps[@]}" -gt 0 ] && [ "${#nodeps[@]}" -gt 0 ] || fail "the frameworks extra lists no tf-keras or nothing else: $reqs"
"$VENV/bin/pip" install -q '.[test,files]' "${deps[@]}" >>"$log" 2>&1 || fail "pip install .[test,files] ${deps[*]}"
"$VENV/bin/pip" install -q --no-deps "${nodeps[@]}" >>"$log" 2>&1 || fail "pip install --no-deps ${nodeps[*]}"
versions="$("$VENV/bin/python" - 2>>"$log" <<'PY'
import dask, distributed, jax, lightgbm, sklearn, tensorflow as tf, tf_keras, torch, xgboost
print(tf.__version__, tf_keras.__version__, torch.__version__, jax.__version__, xgboost.__version__,
      lightgbm.__version__, sklearn.__version__)
PY
)" || fail "import the frameworks"
read -r tf_v tfk_v torch_v jax_v xgb_v lgb_v skl_v <<<"$versions"
# tf-keras 2.X is written for tensorflow 2.X: keep both on the same minor (2.21: tests/test_config.py's
# expected configs were printed by tf_keras 2.21.0).
[ "${tf_v%.*}" = "${tfk_v%.*}" ] || fail "tensorflow $tf_v and tf_keras $tfk_v are not the same minor version"

shopt -s nullglob
tests=(tests/test_tf_keras_conformance.py tests/test_pos_weight.py tests/test_spec_contract.py
       tests/test_gbdt.py tests/test_fw_*.py tests/test_grad_*.py)
shopt -u nullglob
for t in "${tests[@]}"; do [ -f "$t" ] || fail "missing test file $t"; done

xml="$VENV/frameworks.xml"
status=0
"$VENV/bin/python" -m pytest -q -p no:cacheprovider -rs --junitxml="$xml" "${tests[@]}" >>"$log" 2>&1 || status=$?
[ "$status" -eq 0 ] || fail "framework tests (pytest exit $status)"
# Count from the JUnit report, not from pytest's exit code: a skipped module also exits 0.
counts="$("$VENV/bin/python" - "$xml" <<'PY'
import sys
import xml.etree.ElementTree as ET

root = ET.parse(sys.argv[1]).getroot()
suite = root if root.tag == "testsuite" else root.find("testsuite")
n = {k: int(suite.get(k, 0)) for k in ("tests", "failures", "errors", "skipped")}
print(n["tests"], n["failures"], n["errors"], n["skipped"])
PY
)" || fail "reading $xml"
read -r tests_n failures errors skipped <<<"$counts"
if [ "$tests_n" -eq 0 ] || [ "$failures" -ne 0 ] || [ "$errors" -ne 0 ] || [ "$skipped" -ne 0 ]; then
  grep -E '^SKIPPED' "$log" | head -5 || true
  fail "the framework tests did not really run: tests=$tests_n failures=$failures errors=$errors skipped=$skipped"
fi
echo "framework tests (${tests[*]#tests/}): $tests_n passed, 0 skipped"
echo "  tensorflow-cpu $tf_v, tf_keras $tfk_v, torch $torch_v, jax $jax_v, xgboost $xgb_v, lightgbm $lgb_v," \
     "scikit-learn $skl_v; $(tail -n 1 "$log")"
