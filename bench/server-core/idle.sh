#!/bin/bash
# SPDX-License-Identifier: MIT
# Server RSS growth per idle keep-alive connection (N held, default 10000),
# with the peers' idle_conns.py client:
#   bench/server-core/idle.sh build/release/tests/prog/server_demo
N=${N:-10000}
W=$(mktemp -d)
"$1" 127.0.0.1:0 1 > $W/srv.out & PID=$!
for i in $(seq 50); do grep -qs listening $W/srv.out && break; sleep 0.1; done
PORT=$(awk '{split($2,a,":"); print a[2]}' $W/srv.out)
curl -s http://127.0.0.1:$PORT/ > /dev/null   # the pooled request context
B=$(awk '/VmRSS/{print $2}' /proc/$PID/status)
mkfifo $W/hold
python3 /work/shared/peers/src/idle_conns.py 127.0.0.1 $PORT $N < $W/hold > $W/cli.out & CLI=$!
exec 3> $W/hold
for i in $(seq 120); do grep -qs READY $W/cli.out && break; sleep 1; done
sleep 1
A=$(awk '/VmRSS/{print $2}' /proc/$PID/status)
echo "$(cat $W/cli.out); rss before ${B} KiB, after ${A} KiB: $(( (A-B)*1024/N )) bytes per idle connection"
exec 3>&-
wait $CLI 2>/dev/null
kill $PID; wait $PID 2>/dev/null; rm -rf $W
