#!/bin/sh
# The Python environment of the PyTorch peer (../shared/peers/torch_uva_step.py and
# torch_uva_train.py): torch 2.5.1 and numpy in /tmp/torch (or the folder given as $1).
set -eu
venv="${1:-/tmp/torch}"
python3 -m venv "$venv"
"$venv/bin/pip" install --quiet torch==2.5.1 numpy
"$venv/bin/python" -c 'import torch; print("torch", torch.__version__)'
