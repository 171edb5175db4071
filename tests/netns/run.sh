#!/bin/sh
# Run the network-namespace suite where only loopback exists, so a failing guard sends nothing.
# As root: a plain network namespace; otherwise a user namespace maps us to root inside it.
set -eu
PY=${PY:-.venv/bin/python}
if [ "$(id -u)" -eq 0 ]; then UNSHARE="unshare -n"; else UNSHARE="unshare -rn"; fi
exec $UNSHARE sh -c "ip link set lo up && HOTLINE_TEST_NETNS=1 exec $PY -m pytest -ra tests/netns $*"
