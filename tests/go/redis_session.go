// redis_session.go - a redis client with a session: it logs in and selects a
// database once on its one connection, as an application's connection setup
// does, then reads one key ROUNDS times, IDLE_MS apart.  Raw RESP over a
// net.Conn (the Go runtime's netpoller), stdlib only; built with
// common_resp.go.
//
//	redis_session HOST PORT USER PASS DB ROUNDS IDLE_MS KEY
//
// USER "-": `AUTH PASS` (requirepass); else `AUTH USER PASS` (an ACL user).
// PASS "-": no AUTH.  DB 0: no SELECT.  Each command is its own write,
// followed by a read of its reply (deadline 3 s).
//
// stdout: "auth: REPLY", "select: REPLY", then "round N: REPLY" per round,
// then "ok"; exit 0.  REPLY is the value of a bulk string, "(nil)", the
// status text ("OK") or "error TEXT" for a redis error (NOAUTH, WRONGPASS:
// the connection still works, the client goes on).  The password is never
// printed.  On a failed connection one line on stderr, "redis_session: STEP:
// OP: REASON" (REASON as in redis_ping: EOF, ECONNRESET, EPIPE, timeout,
// ...), exit 1 (3 for a timeout); a reply that is no RESP exits 4; usage or
// a failed dial exits 2.
package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"
)

const prog = "redis_session"

func main() {
	needArgs(9, 9, "HOST PORT USER PASS DB ROUNDS IDLE_MS KEY")
	user, pass, key := os.Args[3], os.Args[4], os.Args[8]
	db := num(os.Args[5], "DB", -1)
	rounds := num(os.Args[6], "ROUNDS", -1)
	idle := time.Duration(num(os.Args[7], "IDLE_MS", -1)) * time.Millisecond

	conn := dial("")
	r := bufio.NewReader(conn)
	fail := func(step, op string, err error) {
		why, rc := reason(err)
		fmt.Fprintf(os.Stderr, "redis_session: %s: %s: %s\n", step, op, why)
		os.Exit(rc)
	}
	// do sends one command and prints its reply as "STEP: REPLY".
	do := func(step string, args ...string) {
		if _, err := conn.Write(encode(args...)); err != nil {
			fail(step, "write", err)
		}
		conn.SetReadDeadline(time.Now().Add(3 * time.Second))
		line, err := r.ReadString('\n')
		if err != nil {
			fail(step, "read", err)
		}
		line = strings.TrimSuffix(line, "\r\n")
		var reply string
		switch {
		case strings.HasPrefix(line, "+"):
			reply = line[1:]
		case strings.HasPrefix(line, "-"):
			reply = "error " + line[1:]
		case line == "$-1":
			reply = "(nil)"
		case strings.HasPrefix(line, "$"):
			n, err := strconv.Atoi(line[1:])
			if err != nil {
				fmt.Fprintf(os.Stderr, "redis_session: %s: read: unexpected reply %q\n", step, line)
				os.Exit(4)
			}
			buf := make([]byte, n+2)
			if _, err := io.ReadFull(r, buf); err != nil {
				fail(step, "read", err)
			}
			reply = string(buf[:n])
		default:
			fmt.Fprintf(os.Stderr, "redis_session: %s: read: unexpected reply %q\n", step, line)
			os.Exit(4)
		}
		fmt.Printf("%s: %s\n", step, reply)
	}

	if pass != "-" {
		if user == "-" {
			do("auth", "AUTH", pass)
		} else {
			do("auth", "AUTH", user, pass)
		}
	}
	if db != 0 {
		do("select", "SELECT", strconv.Itoa(db))
	}
	for round := 1; round <= rounds; round++ {
		if round > 1 {
			time.Sleep(idle)
		}
		do(fmt.Sprintf("round %d", round), "GET", key)
	}
	conn.Close()
	fmt.Println("ok")
}
