#!/bin/sh
# The Python environment of benches/pyod/peers.py: pyod, scikit-learn and numpy in /tmp/pyod
# (or the folder given as $1).
set -eu
venv="${1:-/tmp/pyod}"
python3 -m venv "$venv"
"$venv/bin/pip" install --quiet pyod scikit-learn numpy
"$venv/bin/python" -c 'import pyod, sklearn; print("pyod", pyod.__version__, "scikit-learn", sklearn.__version__)'
