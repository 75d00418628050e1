#!/bin/sh
# The Python environment of benches/blackjax/compare.py: jax, blackjax and scipy in /tmp/bjx
# (or the folder given as $1). Measured with jax 0.10.2, blackjax 1.7.1.
set -eu
venv="${1:-/tmp/bjx}"
python3 -m venv "$venv"
"$venv/bin/pip" install --quiet jax blackjax scipy
"$venv/bin/python" -c 'import jax, blackjax; print("jax", jax.__version__, "blackjax", blackjax.__version__)'
