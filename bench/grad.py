"""Loss-and-gradient benchmarks: ``--cases grad`` and ``--cases train-step``.

``grad``: one call that returns the mean loss and d loss / d y_pred of float32 ``[n, 1]`` inputs.
fastbce's ``BinaryCrossentropy().value_and_grad`` against each framework's autodiff of the same loss:
**torch** (forward and ``torch.autograd.grad`` of the tf.keras formula written in torch; logits as
``softplus(x) - x*y``), **torch-builtin**
(the same through ``binary_cross_entropy`` / ``binary_cross_entropy_with_logits``, i.e. ``BCELoss`` /
``BCEWithLogitsLoss``), **jax** (``jax.jit(jax.value_and_grad(...))`` of the formula in jnp, likewise) and
**tf-function** (``tf.function`` around a ``GradientTape`` of ``tf_keras.losses.BinaryCrossentropy``).
Each result is checked against a float64 reference, loss and gradient. fastbce's share of the three-stream
roofline (``out = a + b``: two arrays read and one written, the bytes a loss-and-gradient moves) is measured
in the same run.

``train-step``: the loss and its gradient inside each framework's own step (``tf.function`` + ``GradientTape``,
``jax.jit(jax.value_and_grad(...))``, torch eager + ``torch.autograd.grad``), once with fastbce's loss (its
framework adapter: ``fastbce.BinaryCrossentropy()`` called on the framework's tensors) and once with the
framework's own loss. A framework whose adapter this fastbce does not have is measured with its own loss only,
and the output says so.
"""
from __future__ import annotations

import gc
import importlib.util
import inspect
import math
import os
import textwrap
import time

import numpy as np

from bench import cases as C, report, roofline
from bench.contenders import EPS, Contender, Fn, _native_stderr_silenced
from bench.timing import TimingConfig, measure_group


# --------------------------------------------------------------------------- value_and_grad contenders
class GradContender(Contender):
    """A contender whose calls return (loss, gradient)."""

    def prepare(self, case: C.GradCase, data: C.Data) -> Fn:
        raise NotImplementedError

    def to_numpy(self, out) -> tuple[np.ndarray, np.ndarray]:
        loss, grad = out
        return np.asarray(loss), np.asarray(grad)


def torch_step(torch, loss_fn, data: C.Data) -> Fn:
    """One torch step: loss_fn(y_true, y_pred) forward, then torch.autograd.grad with respect to y_pred."""
    yt = torch.from_numpy(data.y_true)
    yp = torch.from_numpy(data.y_pred).requires_grad_(True)

    def step():
        loss = loss_fn(yt, yp)
        (grad,) = torch.autograd.grad(loss, yp)
        return loss, grad

    return step


def torch_to_numpy(out) -> tuple[np.ndarray, np.ndarray]:
    loss, grad = out
    return loss.detach().numpy(), grad.numpy()


class FastGrad(GradContender):
    name = "fastbce"
    is_fastbce = True

    def load(self) -> None:
        import fastbce

        self.mod = fastbce

    def prepare(self, case: C.GradCase, data: C.Data) -> Fn:
        bce = self.mod.BinaryCrossentropy(from_logits=case.from_logits)
        yt, yp = data.y_true, data.y_pred
        if "out" in inspect.signature(bce.value_and_grad).parameters:
            # the gradient into a preallocated array, as a training loop keeps one (and the roofline's out = a + b)
            grad = np.empty_like(yp)
            return lambda: bce.value_and_grad(yt, yp, out=grad)
        return lambda: bce.value_and_grad(yt, yp)


# The logits formula max(x, 0) - x*y + log1p(exp(-|x|)) is softplus(x) - x*y evaluated stably; the autodiff
# peers are written with softplus, because differentiating max(x, 0) and |x| term by term gives a wrong gradient
# at x == 0 (torch: 1 - y, jax: -y, instead of 0.5 - y), and float32 normal inputs do hold exact zeros.
def torch_keras_formula(torch, from_logits: bool):
    """The tf.keras loss (mean reduction) written in torch."""
    if from_logits:
        softplus = torch.nn.functional.softplus
        return lambda yt, x: (softplus(x) - x * yt).mean()

    def probs(yt, p):
        p = torch.clamp(p, EPS, 1 - EPS)
        return -(yt * torch.log(p + EPS) + (1 - yt) * torch.log(1 - p + EPS)).mean()

    return probs


class _TorchBase(GradContender):
    def load(self) -> None:
        import torch
        import torch.nn.functional as F

        self.torch, self.F = torch, F

    def versions(self) -> dict[str, str]:
        return {"torch": self.torch.__version__, "torch.num_threads": str(self.torch.get_num_threads())}

    def _loss(self, case: C.GradCase):
        raise NotImplementedError

    def prepare(self, case: C.GradCase, data: C.Data) -> Fn:
        return torch_step(self.torch, self._loss(case), data)

    def to_numpy(self, out) -> tuple[np.ndarray, np.ndarray]:
        return torch_to_numpy(out)


class TorchAutograd(_TorchBase):
    name = "torch"

    def _loss(self, case: C.GradCase):
        return torch_keras_formula(self.torch, case.from_logits)


class TorchBuiltin(_TorchBase):
    name = "torch-builtin"

    def _loss(self, case: C.GradCase):
        F = self.F
        if case.from_logits:
            return lambda yt, x: F.binary_cross_entropy_with_logits(x, yt)
        return lambda yt, p: F.binary_cross_entropy(p, yt)


def jax_keras_formula(jnp, from_logits: bool):
    """The tf.keras loss (mean reduction) written in jnp; weakly typed constants keep float32."""
    if from_logits:
        return lambda yt, x: jnp.mean(jnp.logaddexp(x, 0) - x * yt)  # softplus(x) - x*y

    def probs(yt, p):
        p = jnp.clip(p, EPS, 1 - EPS)
        return -jnp.mean(yt * jnp.log(p + EPS) + (1 - yt) * jnp.log(1 - p + EPS))

    return probs


class JaxGrad(GradContender):
    name = "jax"

    def load(self) -> None:
        os.environ.setdefault("JAX_PLATFORMS", "cpu")
        import jax
        import jax.numpy as jnp

        self.jax, self.jnp = jax, jnp

    def versions(self) -> dict[str, str]:
        return {"jax": self.jax.__version__}

    def prepare(self, case: C.GradCase, data: C.Data) -> Fn:
        jax = self.jax
        compiled = jax.jit(jax.value_and_grad(jax_keras_formula(self.jnp, case.from_logits), argnums=1))
        yt, yp = jax.device_put(data.y_true), jax.device_put(data.y_pred)
        return lambda: jax.block_until_ready(compiled(yt, yp))


def tf_value_and_grad(tf, loss):
    """``tf.function`` of a ``GradientTape`` around ``loss(y_true, y_pred)``: (loss, d loss / d y_pred)."""
    @tf.function
    def step(yt, yp):
        with tf.GradientTape() as tape:
            tape.watch(yp)
            value = loss(yt, yp)
        return value, tape.gradient(value, yp)

    return step


class TFGrad(GradContender):
    name = "tf-function"

    def load(self) -> None:
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
        with _native_stderr_silenced():
            import tensorflow as tf
            import tf_keras

        tf.get_logger().setLevel("ERROR")  # retracing warnings: every (case, size) is a new function
        self.tf, self.keras = tf, tf_keras

    def versions(self) -> dict[str, str]:
        return {"tensorflow": self.tf.__version__, "tf_keras": self.keras.__version__}

    def prepare(self, case: C.GradCase, data: C.Data) -> Fn:
        tf = self.tf
        step = tf_value_and_grad(tf, self.keras.losses.BinaryCrossentropy(from_logits=case.from_logits))
        yt, yp = tf.constant(data.y_true), tf.constant(data.y_pred)
        return lambda: step(yt, yp)

    def to_numpy(self, out) -> tuple[np.ndarray, np.ndarray]:
        loss, grad = out
        return loss.numpy(), grad.numpy()


GRAD_REGISTRY: dict[str, type[GradContender]] = {
    c.name: c for c in (FastGrad, TorchAutograd, TorchBuiltin, JaxGrad, TFGrad)
}


def load(names: list[str], registry: dict) -> tuple[list, dict[str, str]]:
    """Instantiate and import the named contenders of ``registry`` (others are ignored)."""
    loaded, skipped = [], {}
    for name in names:
        if name not in registry:
            continue
        c = registry[name]()
        try:
            c.load()
        except Exception as e:  # noqa: BLE001 - any import failure means "not installed here"
            skipped[name] = f"{type(e).__name__}: {e}".splitlines()[0][:160]
            continue
        loaded.append(c)
    return loaded, skipped


# --------------------------------------------------------------------------- train-step contenders
FRAMEWORKS = ("tensorflow", "jax", "torch")
_SHORT = {"tensorflow": "tf", "jax": "jax", "torch": "torch"}
#: what "the framework's own loss" is in each
OWN_LOSS = {
    "tensorflow": "tf_keras.losses.BinaryCrossentropy",
    "jax": "optax.sigmoid_binary_cross_entropy for logits (without optax: the jnp formula), the jnp formula "
           "for probabilities",
    "torch": "binary_cross_entropy / binary_cross_entropy_with_logits",
}


def has_adapter(framework: str) -> bool:
    """Whether this fastbce hands tensors of ``framework`` to an adapter of its own."""
    try:
        return importlib.util.find_spec(f"fastbce._frameworks.{framework}") is not None
    except ImportError:  # no fastbce, or one without _frameworks
        return False


class TrainStep:
    """One framework: its compiled loss-and-gradient step with fastbce's loss and with its own."""

    def __init__(self, framework: str):
        self.framework = self.name = framework
        self.short = _SHORT[framework]

    def load(self) -> None:
        if self.framework == "tensorflow":
            os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
            with _native_stderr_silenced():
                import tensorflow as tf
                import tf_keras

            tf.get_logger().setLevel("ERROR")
            self.tf, self.keras = tf, tf_keras
        elif self.framework == "jax":
            os.environ.setdefault("JAX_PLATFORMS", "cpu")
            import jax
            import jax.numpy as jnp

            self.jax, self.jnp = jax, jnp
            try:
                import optax
            except ImportError:
                optax = None
            self.optax = optax
        else:
            import torch
            import torch.nn.functional as F

            self.torch, self.F = torch, F

    def versions(self) -> dict[str, str]:
        if self.framework == "tensorflow":
            return {"tensorflow": self.tf.__version__, "tf_keras": self.keras.__version__}
        if self.framework == "jax":
            return {"jax": self.jax.__version__, **({"optax": self.optax.__version__} if self.optax else {})}
        return {"torch": self.torch.__version__, "torch.num_threads": str(self.torch.get_num_threads())}

    def prepare(self, case: C.GradCase, data: C.Data, with_fastbce: bool) -> Fn:
        if with_fastbce:
            import fastbce

            loss = fastbce.BinaryCrossentropy(from_logits=case.from_logits)
        if self.framework == "tensorflow":
            tf = self.tf
            if not with_fastbce:
                loss = self.keras.losses.BinaryCrossentropy(from_logits=case.from_logits)
            step = tf_value_and_grad(tf, loss)
            yt, yp = tf.constant(data.y_true), tf.constant(data.y_pred)
            return lambda: step(yt, yp)
        if self.framework == "jax":
            jax, jnp = self.jax, self.jnp
            if not with_fastbce:
                if case.from_logits and self.optax is not None:
                    optax = self.optax

                    def loss(yt, x):
                        return jnp.mean(optax.sigmoid_binary_cross_entropy(x, yt))
                else:
                    loss = jax_keras_formula(jnp, case.from_logits)
            compiled = jax.jit(jax.value_and_grad(loss, argnums=1))
            yt, yp = jax.device_put(data.y_true), jax.device_put(data.y_pred)
            return lambda: jax.block_until_ready(compiled(yt, yp))
        F = self.F
        if not with_fastbce:
            loss = ((lambda yt, x: F.binary_cross_entropy_with_logits(x, yt)) if case.from_logits
                    else (lambda yt, p: F.binary_cross_entropy(p, yt)))
        return torch_step(self.torch, loss, data)

    def to_numpy(self, out) -> tuple[np.ndarray, np.ndarray]:
        if self.framework == "torch":
            return torch_to_numpy(out)
        loss, grad = out
        return np.asarray(loss), np.asarray(grad)


def train_contender_name(framework: str, with_fastbce: bool) -> str:
    return f"{_SHORT[framework]}:{'fastbce' if with_fastbce else 'own'}"


# --------------------------------------------------------------------------- runs
def _measure(case: C.GradCase, size: int, fns_to_prepare: dict[str, tuple], store: C.DataStore,
             timing: TimingConfig,
             roof: roofline.Writers | None = None) -> tuple[dict[str, report.Record], dict | None]:
    """Prepare, warm up, check and time ``{name: (prepare, to_numpy, strict)}`` on one (case, size), and
    ``roof``'s callables in the same rounds: (the records, that roofline or None)."""
    data = store.data(case.loss_case, size)
    loss_ref = store.reference(case.loss_case, size)
    grad_ref = C.grad_reference(case, data)
    fns, recs, first_ns = {}, {}, {}
    for name, (prepare, to_numpy, strict) in fns_to_prepare.items():
        rec = recs[name] = report.Record(case.name, size, name, "unsupported")
        try:
            fn = prepare(case, data)
            t0 = time.perf_counter_ns()
            out = fn()  # warm-up (compile / trace) and correctness check
            first_ns[name] = time.perf_counter_ns() - t0
            rec.note = C.check_grad(case, *to_numpy(out), loss_ref, grad_ref, strict=strict)
            rec.status = "ok" if rec.note is None else "wrong"
            fns[name] = fn
        except Exception as e:  # noqa: BLE001 - a peer failing must not stop the bench
            rec.status, rec.note = "failed", f"{type(e).__name__}: {e}".splitlines()[0][:160]
    timed = measure_group(roofline.with_roofline(fns, roof), timing, first_ns)
    timed, point_roof = roofline.split_roofline(timed, roof)
    for name, t in timed.items():
        recs[name].ns, recs[name].samples, recs[name].inner = t.best_ns, t.samples, t.inner
    return recs, point_roof


def _plan(cases: list[C.GradCase], sizes: list[int]) -> list[tuple[C.GradCase, int]]:
    return [(c, n) for n in sizes for c in cases]


def run_grad(cases: list[C.GradCase], sizes: list[int], loaded: list[GradContender], store: C.DataStore,
             timing: TimingConfig, progress=None, roofline_on: bool = True) -> report.Results:
    """Every contender at every (case, size); with ``roofline_on``, the three-stream roofline is timed in the
    same rounds as fastbce at every size from report.ROOFLINE_MIN_SIZE (results.rooflines)."""
    results = report.Results([c.name for c in loaded], [c.name for c in cases])
    todo = {c.name: (c.prepare, c.to_numpy, c.is_fastbce) for c in loaded}
    roofs = roofline.PerSize(roofline.Writers)
    for case, size in _plan(cases, sizes):
        roof = roofs.at(size, roofline_on and results.fastbce in todo and size >= report.ROOFLINE_MIN_SIZE)
        t0 = time.perf_counter()
        recs, point_roof = _measure(case, size, todo, store, timing, roof)
        for rec in recs.values():
            results.add(rec)
        if point_roof is not None:
            results.rooflines[(case.name, size)] = point_roof
        if progress:
            progress(report.progress_line(results, case.name, size, recs, time.perf_counter() - t0, width=24))
        store.clear()
        gc.collect()
    roofs.close()
    return results


def run_train(cases: list[C.GradCase], sizes: list[int], steps: list[TrainStep], store: C.DataStore,
              timing: TimingConfig, progress=None) -> tuple[report.Results, dict[str, bool]]:
    """Every framework's step with its own loss and, where the adapter exists, with fastbce's.
    Returns the results and {framework: adapter present}."""
    adapters = {s.framework: has_adapter(s.framework) for s in steps}
    todo = {}
    for s in steps:
        for with_fastbce in (True, False):
            if with_fastbce and not adapters[s.framework]:
                continue
            todo[train_contender_name(s.framework, with_fastbce)] = (
                (lambda case, data, s=s, f=with_fastbce: s.prepare(case, data, f)), s.to_numpy, with_fastbce)
    results = report.Results(list(todo), [c.name for c in cases], fastbce_name="")
    for case, size in _plan(cases, sizes):
        t0 = time.perf_counter()
        recs, _ = _measure(case, size, todo, store, timing)
        for rec in recs.values():
            results.add(rec)
        if progress:
            progress(f"  {case.name:<24} {C.format_size(size):>4}  "
                     + "  ".join(f"{name} {report.cell(rec)}" for name, rec in recs.items())
                     + f"  [{time.perf_counter() - t0:.1f}s]")
        store.clear()
        gc.collect()
    return results, adapters


def measure_roofline(sizes: list[int]) -> dict[int, dict]:
    return {n: roofline.measure_write(n) for n in sizes if n >= report.ROOFLINE_MIN_SIZE}


def better_roofline(*runs: dict[int, dict] | None) -> dict[int, dict] | None:
    """Per size the faster of several roofline runs, with every run's GB/s."""
    runs = [r for r in runs if r]
    if not runs:
        return None
    out = {}
    for n in runs[0]:
        measured = [r[n] for r in runs if n in r]
        out[n] = dict(max(measured, key=lambda x: x["elems_per_s"]),
                      runs_gbytes_per_s=[x["gbytes_per_s"] for x in measured])
    return out


def roofline_fractions(results: report.Results, roof: dict[int, dict] | None) -> list[dict]:
    """fastbce's bytes moved per second (12 per element) over the three-stream roofline's, per case and size:
    the roofline timed in the same rounds as fastbce there where there is one, else the one measured at that
    size before and after the cases."""
    out = []
    for case in results.cases():
        c = C.GRAD_BY_NAME[case]
        for size in results.sizes(case):
            rec = results.get(case, size, results.fastbce)
            r = results.rooflines.get((case, size)) or (roof or {}).get(size)
            if rec is None or rec.status != "ok" or r is None:
                continue
            gbs = rec.melem_s * 1e6 * c.bytes_per_elem / 1e9
            out.append({"case": case, "size": size, "melem_s": rec.melem_s, "gbytes_per_s": gbs,
                        "roofline_gbytes_per_s": r["gbytes_per_s"], "fraction": gbs / r["gbytes_per_s"],
                        "roofline_interleaved": (case, size) in results.rooflines})
    return out


def metrics(results: report.Results | None, fractions: list[dict]) -> list[dict]:
    """The gradient numbers a summary or a target can refer to (see bench.report.METRICS)."""
    return report.throughput_metrics(results, fractions, prefix="grad_") if results else []


# --------------------------------------------------------------------------- text
def grad_text(results: report.Results | None, roof: dict[int, dict] | None, fractions: list[dict]) -> str:
    if results is None or not results.records:
        return "Loss and gradient: not measured"
    names = [n for n in results.contenders if any(r.contender == n for r in results.records)]
    cols = ["size"] + names + ["best peer", "ratio", "roofline"]
    widths = [6] + [max(8, len(n)) for n in names] + [13, 7, 9]
    share = {(f["case"], f["size"]): f["fraction"] for f in fractions}
    lines = textwrap.wrap(
        "Loss and gradient, Melem/s (one call returning the mean loss and d loss / d y_pred of float32 [n, 1] "
        "inputs; higher is better). fastbce: BinaryCrossentropy().value_and_grad (with out=, into a preallocated "
        "array, where this fastbce has it); torch: the tf.keras formula in torch (logits: softplus(x) - x*y), "
        "forward + torch.autograd.grad; torch-builtin: binary_cross_entropy(_with_logits), the same way; jax: "
        "jax.jit(jax.value_and_grad(the formula in jnp)); tf-function: tf.function around a GradientTape of "
        "tf_keras.losses.BinaryCrossentropy.", 110)
    lines += ["ratio = fastbce / the fastest peer with a correct loss and gradient; roofline = fastbce's share of the",
              "three-stream roofline timed in the same interleaved rounds as fastbce at that case and size (where it",
              "was not, the one below); '!' = wrong result, 'err' = raised, '-' = not run"]
    for case in results.cases():
        lines += ["", f"== {case}: {C.label_of(case)}, [n, 1]",
                  "  ".join(c.rjust(w) for c, w in zip(cols, widths))]
        for size in results.sizes(case):
            peer, _ = results.best_peer(case, size)
            ratio = results.ratio(case, size)
            frac = share.get((case, size))
            row = [C.format_size(size)] + [report.cell(results.get(case, size, n)) for n in names]
            row += [peer or "-", "-" if math.isnan(ratio) else f"{ratio:.1f}x",
                    "-" if frac is None else f"{frac * 100:.0f}%"]
            lines.append("  ".join(c.rjust(w) for c, w in zip(row, widths)))
    lines += _notes(results)
    lines += ["", roofline_text(roof, results)]
    return "\n".join(lines)


def roofline_text(roof: dict[int, dict] | None, results: report.Results | None = None) -> str:
    if not roof:
        return "Three-stream roofline: not measured"
    methods = ", ".join(next(iter(roof.values()))["methods"])
    lines = ["Three-stream roofline: out = a + b over float32 arrays of n elements (two read, one written: 12 bytes",
             f"per element, what a float32 loss and gradient move), by {methods};",
             "measured at each size from 4K up at the start and at the end of the gradient cases (the better counts),",
             "and in the same rounds as fastbce at each case (the shares above use that one):",
             f"  {'size':>5}  {'Melem/s':>8}  {'GB/s':>6}  fastest  {'with fastbce (per case)':>24}"]
    for n in sorted(roof):
        r = roof[n]
        alongside = [p["gbytes_per_s"] for (_, size), p in (results.rooflines if results else {}).items()
                     if size == n]
        with_fastbce = f"  {', '.join(f'{g:.1f}' for g in alongside)} GB/s" if alongside else ""
        lines.append(f"  {C.format_size(n):>5}  {r['elems_per_s'] / 1e6:8.0f}  {r['gbytes_per_s']:6.1f}  "
                     f"{r['best_method']}{with_fastbce}")
    return "\n".join(lines)


def train_text(results: report.Results | None, adapters: dict[str, bool] | None, steps: list[TrainStep]) -> str:
    if results is None or not results.records:
        return "Loss and gradient in a compiled step: not measured"
    frameworks = [s.framework for s in steps]
    lines = ["Loss and gradient inside each framework's step, Melem/s (float32 [n, 1]; higher is better):",
             "tf: tf.function + GradientTape; jax: jax.jit(jax.value_and_grad(...)); torch: eager forward +",
             "torch.autograd.grad. 'fastbce' = fastbce.BinaryCrossentropy() called on the framework's tensors (its",
             "framework adapter), 'own' = the framework's loss:"]
    lines += [f"  {_SHORT[f]}: {OWN_LOSS[f]}" for f in frameworks]
    lines.append("ratio = fastbce / own; '!' = wrong result, 'err' = raised, '-' = not run")
    missing = [f for f in frameworks if not (adapters or {}).get(f)]
    cols = ["size"]
    for f in frameworks:
        cols += [f"{_SHORT[f]}:fastbce", f"{_SHORT[f]}:own", "ratio"]
    widths = [6] + [max(9, len(c)) for c in cols[1:]]
    for case in results.cases():
        lines += ["", f"== {case}: {C.label_of(case)}, [n, 1]", "  ".join(c.rjust(w) for c, w in zip(cols, widths))]
        for size in results.sizes(case):
            row = [C.format_size(size)]
            for f in frameworks:
                fast = results.get(case, size, train_contender_name(f, True))
                own = results.get(case, size, train_contender_name(f, False))
                ok = fast is not None and own is not None and fast.status == own.status == "ok"
                row += [report.cell(fast), report.cell(own), f"{fast.melem_s / own.melem_s:.1f}x" if ok else "-"]
            lines.append("  ".join(c.rjust(w) for c, w in zip(row, widths)))
    lines += _notes(results)
    if missing:
        lines += [""] + textwrap.wrap(
            "Not measured with fastbce: this fastbce has no adapter for "
            + ", ".join(f"{f} (fastbce._frameworks.{f})" for f in missing)
            + ("; it ran with its own loss only." if len(missing) == 1 else "; each ran with its own loss only."), 110)
    return "\n".join(lines)


def _notes(results: report.Results) -> list[str]:
    notes = [r for r in results.records if r.status in ("wrong", "failed") and r.note]
    return [""] + [f"  {r.contender} {r.case} {C.format_size(r.size)}: {r.status}: {r.note}" for r in notes] \
        if notes else []


def summary_lines(ms: list[dict]) -> list[str]:
    """The gradient lines of the summary: ratio to the best peer and the three-stream roofline share."""
    lines = []
    sizes = list(report.SUMMARY_SIZES)
    for metric, heading in (("grad_peer_ratio", "loss and gradient, [n, 1]: fastbce / the fastest peer (named):"),
                            ("grad_roofline_share", "loss and gradient, [n, 1]: fastbce's share of the three-stream "
                                                    "roofline:")):
        rows = []
        for case in ("grad-f32-prob-binary", "grad-f32-logits-binary"):
            cells = {n: report.find_metric(ms, metric, case, n) for n in sizes}
            if not any(cells.values()):
                continue
            row = ""
            for n in sizes:
                m = cells[n]
                text = "" if m is None else (f"{m['value'] * 100:.0f}%" if metric == "grad_roofline_share"
                                             else f"{m['value']:.1f}x ({m['best_peer']})")
                row += f"{text:>22}"
            rows.append(("    " + C.label_of(case).ljust(48) + row).rstrip())
        if rows:
            lines += ["  " + heading] + rows
    return lines
