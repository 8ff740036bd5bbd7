#!/usr/bin/env bash
# row_wrk.sh - wrk (1 thread, 50 keep-alive connections, 2 s) against a private
# nginx serving a tiny static page, plain vs with the shim preloaded into wrk
# (epoll, non-blocking sockets), interleaved pairs; Requests/sec median and spread, the median of
# the pairs' shim/plain ratios, goal >= 0.98x.  Timed only (skipped by make bench-counts).
. "$(dirname "$0")/lib.sh"
timed_rows || exit 0

RUNS=${HC_QUICK:+3}
RUNS=${RUNS:-5}
for c in nginx wrk; do command -v $c >/dev/null || die "$c not installed (make deps)"; done

pick_port srv_port; port=$srv_port # (pick_port has a local named "port")
D=$T/nginx
mkdir -p "$D/html" "$D/tmp" || die "mkdir $D"
printf 'hello from halfclose bench\n' >"$D/html/index.html"
cat >"$D/nginx.conf" <<CONF
daemon off;
master_process off;
worker_processes 1;
pid $D/nginx.pid;
error_log $D/error.log warn;
events { worker_connections 1024; }
http {
    access_log off;
    keepalive_timeout 65s;
    keepalive_requests 1000000;
    client_body_temp_path $D/tmp/body;
    proxy_temp_path $D/tmp/proxy;
    fastcgi_temp_path $D/tmp/fastcgi;
    uwsgi_temp_path $D/tmp/uwsgi;
    scgi_temp_path $D/tmp/scgi;
    server {
        listen 127.0.0.1:$port;
        root $D/html;
    }
}
CONF
start_server npid nginx "$(command -v nginx)" -p "$D" -c "$D/nginx.conf" -e "$D/error.log"
wait_port "$port" 5 "$npid" || { cat "$T/nginx.err" "$D/error.log" >&2; die "nginx did not start"; }

url=http://127.0.0.1:$port/
# wrk prints "Requests/sec: N"; a run with socket errors or non-2xx answers is a failure.
wrk_cmd() {
    echo "$1 wrk -t1 -c50 -d2s $url >$T/wrk.out 2>&1 || { cat $T/wrk.out >&2; false; } &&
        ! grep -E 'Socket errors|Non-2xx' $T/wrk.out >&2 && awk '/^Requests\\/sec:/ { print \$2 }' $T/wrk.out"
}
log "nginx on $url; $RUNS runs each, alternating plain/shim"
alternate "$RUNS" "$(wrk_cmd "${HC_ENV_CLEAN[*]}")" \
    "$(wrk_cmd "${HC_ENV_CLEAN[*]} LD_PRELOAD=$HC_LIB HALFCLOSE_STATS=$T/stats")" || {
    kill -0 "$npid" 2>/dev/null || cat "$T/nginx.err" "$D/error.log" >&2
    die "wrk failed"
}
kill -0 "$npid" 2>/dev/null || { cat "$T/nginx.err" "$D/error.log" >&2; die "nginx died"; }
st=$(grep '^halfclose' "$T/stats" | tail -n 1)
log "plain req/s: $ALT_PLAIN; shim: $ALT_SHIM"
log "shim stats (last run): $st"
m=$(stat_get "$T/stats" managed) rc=$(stat_get "$T/stats" reconnects)
# 50 connections, plus the one wrk opens first to check the address.
[ "$m" = 51 ] && [ "$rc" = 0 ] || log "WARNING: expected managed=51 (50 + wrk's address check) reconnects=0, got managed=$m reconnects=$rc"

pm=$(median $ALT_PLAIN) sm=$(median $ALT_SHIM) r=$(paired_ratio "$ALT_PLAIN" "$ALT_SHIM")
log "ratio of medians $(ratio "$pm" "$sm")"
row "wrk -t1 -c50 -d2s nginx static page (shim: managed=$m reconnects=$rc)" \
    "Requests/sec median (spread); ratio: median of pairs" \
    "$(printf '%.0f' "$pm") ($(spread $ALT_PLAIN))" "$(printf '%.0f' "$sm") ($(spread $ALT_SHIM))" \
    "${r}x" ">= 0.98x" "$(ge "$r" 0.98)"
