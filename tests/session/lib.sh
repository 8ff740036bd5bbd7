# shellcheck shell=bash disable=SC2034 # the variables are for the tests that source this file
# tests/session/lib.sh — helpers for the session tests (issue 13: connections
# that carry state), on top of tests/supervise/lib.sh (and so of
# tests/lib.sh).
#
# Source it first thing:   . "$(dirname "$0")/lib.sh"
#
# Everything those give (hc_pick_port, hc_start, hc_run_plain, hc_run_shim,
# hc_run_hc, hc_stats_get, hc_assert_*, hc_finish, $T, $HOST, $PY, $HC_GO,
# ...), and:
#   $S_CLIENTS   tests/session/clients (the Python clients)
#   $S_BIN       $HC_BUILD/session (the C clients: hiredis_session)
#   $S_PW        the default user's password (redis requirepass)
#   $S_USER $S_USER_PW   an ACL user of every s_start_redis server
#   $S_WRONG_PW  a password no server accepts
#   $S_SECRETS   all three, for s_assert_no_secret
#
# Servers (each on $HOST, port from hc_pick_port, in its own process group,
# data in $T, logs in $T/srv_NAME.*):
#   s_start_redis PORT [TIMEOUT]
#               redis-server closing connections idle TIMEOUT s (default 1),
#               `requirepass $S_PW`, ACL user $S_USER (password $S_USER_PW,
#               keys `~*`, every command); key k is "db0-value" in db 0 and
#               "db2-value" in db 2; waits until it answers
#   s_redis PORT CMD...      redis-cli as the default user, one command
#   s_redis_conns PORT       INFO's total_connections_received (the query's
#                            own connection included)
#   s_start_relay NAME PORT TARGET_PORT [IDLE]
#               `socat -d -d -T IDLE` (default 2) TCP relay PORT -> TARGET_PORT:
#               a load balancer's idle timer (FIN to both sides after IDLE s
#               without traffic); one server connection per accepted one
#   s_relay_accepts NAME     connections the relay accepted so far
#   s_start_mariadb PORT     a private mariadbd (datadir $T/mariadb, its own
#               socket), `--wait-timeout=2 --interactive-timeout=2`, user
#               hc@127.0.0.1 with password $S_PW; waits until it answers
#   s_mariadb_connections    SHOW GLOBAL STATUS 'Connections' (through the
#                            socket; the query's own connection included)
#   s_start_postgres PORT    a private PostgreSQL (lib.sh's hc_start_postgres:
#               initdb in $T, trust for user hc, TCP only) with
#               log_connections=on and no idle timeout of its own; its log
#               is $T/srv_postgres.err
#   s_start_nginx_h2 PORT    nginx (one process) with `listen ... http2` on
#               plain TCP (HTTP/2 prior knowledge), /index.html = "hello h2",
#               its keep-alive timeout 60 s; error log at info in
#               $T/srv_nginx.error.log
# Assertions:
#   s_assert_same FILE_A FILE_B WHAT     the two files are byte for byte equal
#   s_assert_class_same ERR_A ERR_B WHAT the two stderr files are equal once
#               resp_steps' "how:" detail lines are left out (the detail is
#               shown); for failures the design allows to differ only in
#               EOF vs EPIPE (the failure path: nothing sent)
#   s_assert_no_secret FILE...           no password of $S_SECRETS in any
#   s_assert_no_null FILE...             no "(null)" in any (a log line
#                                        printed a NULL string)
# shellcheck source-path=SCRIPTDIR source=../supervise/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/../supervise/lib.sh"
export LC_ALL=C # the servers' and clients' messages are compared as text

S_CLIENTS=$HC_TESTS/session/clients
S_BIN=$HC_BUILD/session
S_PW=hc-Secret-7d1f3a
S_USER=alice
S_USER_PW=alice-Pass-93kq
S_WRONG_PW=wrong-Pass-x5v2
S_SECRETS=("$S_PW" "$S_USER_PW" "$S_WRONG_PW")

# --- redis -------------------------------------------------------------------

s_redis() {
    local port=$1
    shift
    redis-cli -h "$HOST" -p "$port" -a "$S_PW" --no-auth-warning "$@"
}

s_redis_conns() {
    s_redis "$1" INFO stats | tr -d '\r' | sed -n 's/^total_connections_received://p'
}

s_start_redis() {
    local port=$1 timeout=${2:-1}
    mkdir -p "$T/redis"
    hc_start srv_redis redis-server --port "$port" --bind "$HOST" --timeout "$timeout" \
        --save '' --appendonly no --dir "$T/redis" --protected-mode no \
        --requirepass "$S_PW" --user "$S_USER" on ">$S_USER_PW" '~*' '&*' '+@all'
    hc_wait_port "$port" 10
    hc_wait_for 5 s_redis "$port" PING >/dev/null || { hc_log "lib.sh: redis does not answer"; exit 1; }
    if ! s_redis "$port" SET k db0-value >/dev/null || ! s_redis "$port" -n 2 SET k db2-value >/dev/null; then
        hc_log "lib.sh: could not seed redis"
        exit 1
    fi
}

# --- the idle-closing relay ---------------------------------------------------

s_start_relay() {
    local name=$1 port=$2 target=$3 idle=${4:-2}
    hc_start "$name" socat -d -d -T "$idle" "TCP-LISTEN:$port,bind=$HOST,reuseaddr,fork" \
        "TCP:$HOST:$target"
    hc_wait_port "$port"
}

s_relay_accepts() {
    grep -c 'accepting connection from' "$T/$1.err" 2>/dev/null
}

# --- MariaDB -----------------------------------------------------------------

S_MARIADB_SOCK=
s_mariadb_root() {
    mariadb --no-defaults -S "$S_MARIADB_SOCK" -u"$(id -un)" -N -B "$@"
}

s_mariadb_connections() {
    s_mariadb_root -e "SHOW GLOBAL STATUS LIKE 'Connections'" | awk '{ print $2 }'
}

# mariadb-install-db and mariadbd run as root with --user=root: the datadir
# is ours, nothing else is touched (--no-defaults: no /etc/mysql config).
s_start_mariadb() {
    local port=$1 d=$T/mariadb
    mkdir -p "$d"
    S_MARIADB_SOCK=$d/sock
    mariadb-install-db --no-defaults --datadir="$d/data" --user="$(id -un)" \
        --auth-root-authentication-method=socket --skip-test-db \
        >"$T/srv_mariadb.install" 2>&1 || { hc_log "lib.sh: mariadb-install-db failed"; exit 1; }
    hc_start srv_mariadb mariadbd --no-defaults --datadir="$d/data" --socket="$S_MARIADB_SOCK" \
        --port="$port" --bind-address="$HOST" --user="$(id -un)" --skip-name-resolve \
        --wait-timeout=2 --interactive-timeout=2 --innodb-buffer-pool-size=16M \
        --skip-log-bin --log-error="$T/srv_mariadb.err.log" --pid-file="$d/pid"
    hc_wait_port "$port" 20
    hc_wait_for 10 s_mariadb_root -e 'SELECT 1' >/dev/null ||
        { hc_log "lib.sh: mariadbd does not answer"; exit 1; }
    s_mariadb_root -e "CREATE USER hc@'$HOST' IDENTIFIED BY '$S_PW';
                       GRANT ALL ON *.* TO hc@'$HOST';" ||
        { hc_log "lib.sh: could not create the user"; exit 1; }
}

# --- PostgreSQL --------------------------------------------------------------

# PostgreSQL with its connections logged and no idle timeout of its own.
s_start_postgres() {
    hc_start_postgres "$1" log_connections=on || exit 1
    hc_wait_port "$1" 20
}

# --- nginx, HTTP/2 prior knowledge --------------------------------------------

s_start_nginx_h2() {
    local port=$1 d=$T/nginx
    mkdir -p "$d/html" "$d/tmp"
    printf 'hello h2\n' >"$d/html/index.html"
    cat >"$d/nginx.conf" <<EOF
daemon off;
master_process off;
worker_processes 1;
pid $d/nginx.pid;
error_log $T/srv_nginx.error.log info;
events { worker_connections 256; }
http {
    log_format conn '\$connection \$request \$status';
    access_log $T/srv_nginx.access.log conn;
    keepalive_timeout 60s;
    client_body_temp_path $d/tmp;
    proxy_temp_path $d/tmp;
    fastcgi_temp_path $d/tmp;
    uwsgi_temp_path $d/tmp;
    scgi_temp_path $d/tmp;
    server { listen $HOST:$port http2; root $d/html; }
}
EOF
    hc_start srv_nginx nginx -c "$d/nginx.conf" -p "$d" -e "$T/srv_nginx.error.log"
    hc_wait_port "$port" 10
}

# --- assertions --------------------------------------------------------------

s_assert_same() {
    if cmp -s "$1" "$2"; then
        hc_pass "$3: the same as without the library ($(head -c 200 "$1" | tr '\n' '|'))"
    else
        hc_fail "$3: the same as without the library (without: $(head -c 300 "$1" | tr '\n' '|'); with: $(head -c 300 "$2" | tr '\n' '|'))"
    fi
}

s_assert_class_same() {
    grep -v '^resp_steps: how: ' "$1" >"$1.class"
    grep -v '^resp_steps: how: ' "$2" >"$2.class"
    hc_log "    (detail without: $(grep '^resp_steps: how: ' "$1" | tr '\n' '|') with: $(grep '^resp_steps: how: ' "$2" | tr '\n' '|'))"
    s_assert_same "$1.class" "$2.class" "$3"
}

s_assert_no_secret() {
    local f s found=
    for f in "$@"; do
        for s in "${S_SECRETS[@]}"; do
            grep -qF -- "$s" "$f" 2>/dev/null && found+=" $(basename "$f")"
        done
    done
    if [ -z "$found" ]; then
        hc_pass "no password in $(for f in "$@"; do printf '%s ' "$(basename "$f")"; done)"
    else
        hc_fail "no password in the log (found in:$found)"
    fi
}

s_assert_no_null() {
    local f
    for f in "$@"; do
        if grep -qF '(null)' "$f" 2>/dev/null; then
            hc_fail "$(basename "$f") has no '(null)' (it has: $(grep -F '(null)' "$f" | head -n 2 | tr '\n' '|'))"
            return
        fi
    done
    hc_pass "no '(null)' in $(for f in "$@"; do printf '%s ' "$(basename "$f")"; done)"
}
