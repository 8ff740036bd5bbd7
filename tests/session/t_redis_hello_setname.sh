#!/usr/bin/env bash
# A raw RESP client (clients/resp_steps.py) builds a rich session on one
# connection to redis (`--timeout 1`, requirepass, ACL user alice):
#   HELLO 3 AUTH alice PASS SETNAME first-name   (RESP3, user, a name)
#   CLIENT SETNAME healme                        (a later name replaces it)
#   CLIENT NO-EVICT on
#   SELECT 2
# then CLIENT ID + HGETALL h, 3.5 s idle, then CLIENT GETNAME, ACL WHOAMI,
# HGETALL h and CLIENT ID on the same connection, and CLIENT LIST from
# another connection.
#   plain: the commands after the gap find the connection closed: "connection
#          lost" (read EOF), exit 1.
#   shim:  healed with the whole session, in order: the new connection is
#          named healme, is alice, speaks RESP3 (HGETALL is a map, not an
#          array), is in db 2 and not evictable; CLIENT LIST, from outside,
#          shows exactly one client named healme, and that is the new
#          connection (its id is the one CLIENT ID gives after the heal, not
#          the old one); reconnects >= 1, session_rebuilds >= 1; no password
#          in the log.
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

hc_pick_port P
s_start_redis "$P" 1
s_redis "$P" -n 2 HSET h f v >/dev/null
steps=("send:HELLO 3 AUTH $S_USER $S_USER_PW SETNAME first-name"
    "send:CLIENT SETNAME healme" "send:CLIENT NO-EVICT on" "send:SELECT 2"
    "send:CLIENT ID;HGETALL h" "sleep:3500"
    "send:CLIENT GETNAME;ACL WHOAMI;HGETALL h;CLIENT ID"
    "other:AUTH $S_PW;CLIENT LIST")

hc_section "plain: HELLO 3 AUTH + SETNAME, CLIENT SETNAME, NO-EVICT, SELECT 2; 3.5 s idle; GETNAME ..."
hc_run_plain hello_plain "$PY" "$S_CLIENTS/resp_steps.py" "$HOST" "$P" "${steps[@]}"
hc_assert_rc 1 resp_steps
hc_assert_contains "$OUT" '"proto": :3' "resp_steps stdout (HELLO 3 answered with a map)"
hc_assert_contains "$ERR" "resp_steps: step 7 (CLIENT GETNAME;ACL WHOAMI;HGETALL h;CLIENT ID): connection lost" \
    "resp_steps stderr"

hc_require_shim
hc_section "shim: the same session, healed"
hc_run_shim hello_shim HALFCLOSE_LOG=info "HALFCLOSE_LOG_FILE=$T/hello_shim.log" \
    "$PY" "$S_CLIENTS/resp_steps.py" "$HOST" "$P" "${steps[@]}"
hc_show_file "$T/hello_shim.log" log
hc_assert_rc 0 resp_steps
# the replies after the gap, in order
after=$(sed -n '/^> CLIENT GETNAME$/,/^other> /p' "$OUT" | grep '^< ' | head -n 4)
mapfile -t r <<<"$after"
hc_check "CLIENT GETNAME after the heal: healme (got ${r[0]:-nothing})" [ "${r[0]:-}" = '< "healme"' ]
hc_check "ACL WHOAMI after the heal: alice (got ${r[1]:-nothing})" [ "${r[1]:-}" = '< "alice"' ]
hc_check "HGETALL h after the heal: a RESP3 map from db 2 (got ${r[2]:-nothing})" \
    [ "${r[2]:-}" = '< map{"f": "v"}' ]
id_old=$(sed -n '/^> CLIENT ID$/,/^> CLIENT GETNAME$/p' "$OUT" | grep -m1 '^< :' | tr -dc 0-9)
id_new=$(printf '%s\n' "${r[3]:-}" | tr -dc 0-9)
hc_check "CLIENT ID changed across the heal (old ${id_old:-?}, new ${id_new:-?})" \
    [ -n "$id_old" -a -n "$id_new" -a "$id_old" != "$id_new" ]
grep -E '(^| )name=healme ' "$OUT" >"$T/named.txt"
hc_show_file "$T/named.txt" "CLIENT LIST, name=healme"
hc_check "CLIENT LIST has exactly one client named healme" [ "$(wc -l <"$T/named.txt")" -eq 1 ]
hc_check "... it is the new connection (id=$id_new)" grep -Eq "(^|[^0-9a-z])id=${id_new:-x} " "$T/named.txt"
hc_check "... it is alice" grep -q ' user=alice ' "$T/named.txt"
hc_check "... it speaks RESP3" grep -Eq ' resp=3( |$)' "$T/named.txt"
hc_check "... it is in db 2" grep -q ' db=2 ' "$T/named.txt"
hc_check "... it is not evictable (flags has e)" grep -Eq ' flags=[A-Za-z]*e' "$T/named.txt"
hc_assert_stat "$STATS" reconnects -ge 1
hc_assert_stat "$STATS" session_rebuilds -ge 1
hc_assert_stat "$STATS" session_failures -eq 0
s_assert_no_secret "$T/hello_shim.log" "$STATS" "$ERR"
s_assert_no_null "$T/hello_shim.log"

hc_finish
