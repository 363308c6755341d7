#!/bin/bash
# SPDX-License-Identifier: MIT
# Quick side-by-side of the server core against nginx in ONE run (the full
# benchmark is bench/server/run): server pinned to cpu 0, wrk to cpu 1,
# server CPU µs per request from /proc/PID/stat.
#   bench/server-core/quick.sh build/release/tests/prog/server_demo [seconds]
set -e
BIN=$1; D=${2:-5}
W=$(mktemp -d); trap 'rm -rf $W' EXIT
mkdir -p $W/nginx
cat > $W/nginx.conf <<CONF
worker_processes 1;
daemon off;
error_log $W/nginx/error.log warn;
pid $W/nginx/nginx.pid;
events { worker_connections 20000; use epoll; }
http {
  access_log off; keepalive_timeout 300s; keepalive_requests 100000000;
  client_body_temp_path $W/nginx/body; proxy_temp_path $W/nginx/proxy;
  fastcgi_temp_path $W/nginx/fastcgi; uwsgi_temp_path $W/nginx/uwsgi;
  scgi_temp_path $W/nginx/scgi;
  server { listen 127.0.0.1:18091 backlog=4096;
    location / { default_type text/plain; return 200 "Hello, World!"; } }
}
CONF
cat > $W/p16.lua <<'L'
init = function(args)
  local r = {}
  for i = 1, 16 do r[i] = wrk.format("GET", "/") end
  req = table.concat(r)
end
request = function() return req end
L
ticks() { awk '{print $14+$15}' /proc/$1/stat; }
run() { # name pid url [lua]
  taskset -c 1 wrk -t1 -c64 -d1s $3 > /dev/null 2>&1
  local t0=$(ticks $2) out
  out=$(taskset -c 1 wrk -t1 -c64 -d${D}s ${4:+-s $4} $3 2>&1)
  local t1=$(ticks $2)
  local n=$(echo "$out" | awk '/requests in/{print $1}')
  echo "$1${4:+ pipelined16}: $(echo "$out" | awk '/Requests\/sec/{print $2}') req/s," \
       "server $(python3 -c "print(round(($t1-$t0)*1e6/$(getconf CLK_TCK)/$n,2))") us/req" \
       "$(echo "$out" | grep -E 'Socket errors|Non-2xx' | tr '\n' ' ')"
}
taskset -c 0 nginx -c $W/nginx.conf -p $W/nginx/ & NG=$!
taskset -c 0 $BIN 127.0.0.1:18092 1 > $W/corio.out & CO=$!
sleep 1
NGW=$(pgrep -P $NG | head -1)
run nginx $NGW http://127.0.0.1:18091/
run corio $CO http://127.0.0.1:18092/
run nginx $NGW http://127.0.0.1:18091/ $W/p16.lua
run corio $CO http://127.0.0.1:18092/ $W/p16.lua
kill $CO $NG; wait 2>/dev/null || true
