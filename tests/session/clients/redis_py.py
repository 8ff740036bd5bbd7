"""redis_py.py — redis-py (python3-redis), unmodified, the way applications use it:
a client with db= and password=, reading one key ROUNDS times, IDLE_MS apart.

    redis_py.py MODE HOST PORT DB PASSWORD ROUNDS IDLE_MS KEY

MODE pool:    redis.Redis(db=, password=): the default ConnectionPool, which
              checks a pooled connection before it hands it out (can_read:
              a read that finds the EOF) and, finding it closed, reconnects
              by itself (AUTH and SELECT again).
MODE single:  redis.Redis(db=, password=, client_name="hc-py",
              single_connection_client=True): one connection for the client's
              life, no check before reuse, no retry (redis-py's default
              Retry has 0 retries on a ConnectionError).
stdout: "redis-py VERSION", then "round N: VALUE" ("(nil)" for none) per
round, then "ok"; exit 0.  On an error one line on stderr, "redis_py: round
N: CLASS: MESSAGE" (redis-py's exception), exit 1.  The password is never
printed.
"""
import sys
import time

import redis


def main():
    if len(sys.argv) != 9 or sys.argv[1] not in ("pool", "single"):
        print("usage: redis_py.py pool|single HOST PORT DB PASSWORD ROUNDS IDLE_MS KEY", file=sys.stderr)
        sys.exit(2)
    mode, host, port, db, password, rounds, idle, key = sys.argv[1:]
    kw = {}
    if mode == "single":
        kw = {"single_connection_client": True, "client_name": "hc-py"}
    r = redis.Redis(host=host, port=int(port), db=int(db), password=password, **kw)
    print(f"redis-py {redis.__version__}", flush=True)
    for n in range(1, int(rounds) + 1):
        if n > 1:
            time.sleep(int(idle) / 1000)
        try:
            v = r.get(key)
        except redis.RedisError as exc:
            print(f"redis_py: round {n}: {type(exc).__name__}: {exc}", file=sys.stderr)
            sys.exit(1)
        print(f"round {n}: {'(nil)' if v is None else v.decode()}", flush=True)
    print("ok")


if __name__ == "__main__":
    main()
