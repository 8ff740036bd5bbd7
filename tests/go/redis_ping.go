// redis_ping.go - a request/response client on one pooled connection to
// redis, speaking raw RESP over a net.Conn (the Go runtime's own netpoller:
// non-blocking socket, edge-triggered epoll), stdlib only; built with
// common_resp.go.
//
//	redis_ping HOST PORT [ROUNDS [IDLE_MS [DEADLINE_MS [SLOW_MS]]]]
//
// Dials once, then ROUNDS times (default 2): sends PING, reads the reply
// with a read deadline of DEADLINE_MS (default 3000) and expects +PONG;
// sleeps IDLE_MS (default 3500) between rounds, so that a server with
// `--timeout 2` closes the idle connection before the next PING.
//
// With SLOW_MS > 0 each request is `BLPOP halfclose:nothing SLOW_MS/1000`
// and PING in one write: redis answers only after SLOW_MS (a null array,
// then +PONG), so the read certainly finds nothing at first and the runtime
// waits for the socket in epoll.  A bare PING's reply is often already there
// when the read is made, and then epoll is never asked.
//
// stdout: "round N: PONG" per round, then "ok"; exit 0.
// On failure one line on stderr, "redis_ping: round N: OP: REASON", where
// REASON is EOF (the server closed the connection), ECONNRESET, EPIPE,
// "timeout" (the read deadline passed without a reply: the reply never
// reached the program) or "unexpected reply ..."; exit status:
//
//	1  the connection failed (EOF, ECONNRESET, EPIPE, another error)
//	3  the read deadline passed
//	4  an unexpected reply
//	2  usage, or the dial failed
package main

import (
	"bufio"
	"fmt"
	"os"
	"time"
)

const prog = "redis_ping"

func main() {
	needArgs(3, 7, "HOST PORT [ROUNDS [IDLE_MS [DEADLINE_MS [SLOW_MS]]]]")
	rounds := num(arg(3), "ROUNDS", 2)
	idle, deadline, slow := pingArgs()
	request, replies := pingRequest(slow)

	conn := dial("")
	r := bufio.NewReader(conn)
	fail := func(round int, op, why string, rc int) {
		fmt.Fprintf(os.Stderr, "redis_ping: round %d: %s: %s\n", round, op, why)
		os.Exit(rc)
	}

	for round := 1; round <= rounds; round++ {
		if round > 1 {
			time.Sleep(idle)
		}
		if _, err := conn.Write(request); err != nil {
			why, rc := reason(err)
			fail(round, "write", why, rc)
		}
		conn.SetReadDeadline(time.Now().Add(deadline))
		if why, rc := readReplies(r, replies); why != "" {
			fail(round, "read", why, rc)
		}
		if slow > 0 {
			fmt.Printf("round %d: PONG (after BLPOP for %d ms)\n", round, slow)
		} else {
			fmt.Printf("round %d: PONG\n", round)
		}
	}
	conn.Close()
	fmt.Println("ok")
}
