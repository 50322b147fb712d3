"""fastbce benchmark suite.

Run from the repository root::

    python -m bench            # default set: finishes in a few minutes on 2 cores
    python -m bench --quick    # CI-friendly subset
    python -m bench --cases summary   # the summary table's numbers only, a few minutes
    python -m bench --help

Modules, one concern each:

* ``cases``       -- benchmark cases, sizes, input data and the float64 reference
* ``contenders``  -- registry of fastbce and every optional peer (NumPy, tf_keras, torch, jax/optax, numba)
* ``timing``      -- best-of-N timing with ``time.perf_counter_ns`` and adaptive repeat counts
* ``roofline``    -- the machine's read bandwidth, measured without fastbce
* ``checks``      -- call latency, rows of 16 vs [n, 1], 1e8-element accuracy and bitwise identity
  across thread counts
* ``machine``     -- machine description (CPU, cores, caches, affinity, versions)
* ``report``      -- tables, the roofline share, the summary, JSON and the PNG plot
* ``targets``     -- opt-in check of a run against a TOML file of targets (``--targets``)
* ``eval_files``  -- ``python -m bench.eval_files``: ``fastbce eval`` on a 1.6 GB .npy pair and Parquet
  (peak RSS, GB/s); separate from ``python -m bench``
* ``cli``         -- command line and orchestration (``python -m bench``)
"""
