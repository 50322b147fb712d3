"""A caller's flush-to-zero / denormals-are-zero mode (set, e.g., by a library built with -ffast-math) must not
change any result: every task of the core runs in the default floating-point mode, on the caller and the pool."""
import ctypes
import platform
import shutil
import subprocess

import numpy as np
import pytest

import fastbce

FTZ_DAZ = 0x8040


@pytest.fixture
def mxcsr(tmp_path):
    if platform.machine().lower() not in ("x86_64", "amd64"):
        pytest.skip("MXCSR is x86-64 only")
    cc = shutil.which("cc") or shutil.which("gcc")
    if not cc:
        pytest.skip("no C compiler to build the MXCSR helper")
    src = tmp_path / "mxcsr.c"
    src.write_text("#include <xmmintrin.h>\n"
                   "unsigned get_csr(void) { return _mm_getcsr(); }\n"
                   "void set_csr(unsigned v) { _mm_setcsr(v); }\n")
    lib = tmp_path / "libmxcsr.so"
    subprocess.run([cc, "-shared", "-fPIC", "-O1", str(src), "-o", str(lib)], check=True)
    helper = ctypes.CDLL(str(lib))
    helper.get_csr.restype = ctypes.c_uint
    helper.set_csr.argtypes = [ctypes.c_uint]
    return helper


@pytest.mark.parametrize("threads", [1, 2])
def test_caller_ftz_daz_changes_nothing(each_isa, mxcsr, threads):
    n = 1 << 20  # above the parallel threshold: caller and worker both run tasks
    y = np.zeros((n, 1), np.float32)
    x = np.full((n, 1), -100.0, np.float32)  # log1p(exp(-100)) ~ 3.7e-44: a subnormal float32 loss
    per_sample = fastbce.BinaryCrossentropy(from_logits=True, reduction="none")
    total = fastbce.BinaryCrossentropy(from_logits=True, reduction="sum")
    before_threads = fastbce.get_num_threads()
    fastbce.set_num_threads(threads)
    try:
        expected = (np.asarray(per_sample(y, x)).tobytes(), np.asarray(total(y, x)).tobytes())
        assert np.asarray(per_sample(y, x)).view(np.int32).min() > 0  # subnormals really are produced
        old = mxcsr.get_csr()
        mxcsr.set_csr(old | FTZ_DAZ)
        try:
            got = (np.asarray(per_sample(y, x)).tobytes(), np.asarray(total(y, x)).tobytes())
            assert mxcsr.get_csr() & FTZ_DAZ == FTZ_DAZ  # the caller's mode is restored afterwards
        finally:
            mxcsr.set_csr(old)
        assert got == expected
    finally:
        fastbce.set_num_threads(before_threads)
