"""fastbce benchmark suite.

Run from the repository root::

    python -m bench            # default set: finishes in a few minutes on 2 cores
    python -m bench --quick    # CI-friendly subset
    python -m bench --help

Modules, one concern each:

* ``cases``       -- benchmark cases, sizes, input data and the float64 reference
* ``contenders``  -- registry of fastbce and every optional peer (NumPy, tf_keras, torch, jax/optax, numba)
* ``timing``      -- best-of-N timing with ``time.perf_counter_ns`` and adaptive repeat counts
* ``roofline``    -- the machine's read bandwidth, measured without fastbce
* ``checks``      -- call latency, 1e8-element accuracy and bitwise identity across thread counts
* ``machine``     -- machine description (CPU, cores, affinity, versions)
* ``report``      -- tables, acceptance summary, JSON and the PNG plot
* ``cli``         -- command line and orchestration (``python -m bench``)
"""
