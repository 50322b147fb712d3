"""How the float32 polynomials in cpp/simd/math.h were fitted (run: python cpp/simd/fit_polynomials.py).

Lawson-weighted least squares on dense Chebyshev points, which converges to the minimax fit for the
relative error of the whole function; prints, per degree, the max relative error and the coefficients
rounded to float32 (lowest degree first; math.h stores them highest first). Needs only NumPy.
"""
import numpy as np


def fit(func, lo, hi, degree, weight, iters=60):
    t = np.cos(np.linspace(0, np.pi, 6000))
    x = (lo + hi) / 2 + (hi - lo) / 2 * t
    x = x[x != 0]
    basis = np.stack([x**k for k in range(degree + 1)], 1)
    target, w = func(x), weight(x)
    lawson = np.ones_like(x)
    for _ in range(iters):
        sw = np.sqrt(lawson) * w
        c, *_ = np.linalg.lstsq(basis * sw[:, None], target * sw, rcond=None)
        err = np.abs((basis @ c - target) * w)
        lawson = lawson * err
        lawson /= lawson.sum()
    return c, err.max()


def main():
    print("log: log1p(f) = f + f^2 Q(f), f in [-0.25, 0.5] (m in [0.75, 1.5)); math.h uses degree 7")
    for d in range(5, 9):
        c, e = fit(lambda f: (np.log1p(f) - f) / f**2, -0.25, 0.5, d, lambda f: f**2 / np.abs(np.log1p(f)))
        print(f"  degree {d}: 2^{np.log2(e):.1f}", c.astype(np.float32).tolist())
    h = np.log(2) / 2
    print("exp: exp(r) = 1 + r + r^2 P(r), |r| <= ln2/2; math.h uses degree 4")
    for d in range(3, 7):
        c, e = fit(lambda r: (np.expm1(r) - r) / r**2, -h, h, d, lambda r: r**2 / np.exp(r))
        print(f"  degree {d}: 2^{np.log2(e):.1f}", c.astype(np.float32).tolist())


if __name__ == "__main__":
    main()
