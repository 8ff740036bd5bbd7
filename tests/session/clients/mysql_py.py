"""mysql_py.py — PyMySQL (python3-pymysql), unmodified: one connection, a query,
IDLE_MS idle, another query on the same connection.

    mysql_py.py HOST PORT USER PASSWORD IDLE_MS

stdout: "pymysql VERSION", "query 1: ROWS", "query 2: ROWS", "ok"; exit 0.
On an error one line on stderr, "mysql_py: query N: CLASS CODE: MESSAGE"
(PyMySQL's exception: OperationalError 2006 "MySQL server has gone away
(...)", 2013 "Lost connection to MySQL server during query", ...), exit 1.
"""
import sys
import time

import pymysql


def main():
    if len(sys.argv) != 6:
        print("usage: mysql_py.py HOST PORT USER PASSWORD IDLE_MS", file=sys.stderr)
        sys.exit(2)
    host, port, user, password, idle = sys.argv[1:]
    print(f"pymysql {pymysql.__version__}", flush=True)
    conn = pymysql.connect(host=host, port=int(port), user=user, password=password)
    cur = conn.cursor()
    for n in (1, 2):
        if n > 1:
            time.sleep(int(idle) / 1000)
        try:
            cur.execute(f"SELECT {n}")
            rows = cur.fetchall()
        except pymysql.MySQLError as exc:
            code, msg = (exc.args + ("", ""))[:2]
            print(f"mysql_py: query {n}: {type(exc).__name__} {code}: {msg}", file=sys.stderr)
            sys.exit(1)
        print(f"query {n}: {rows}", flush=True)
    print("ok")


if __name__ == "__main__":
    main()
