// common_resp.go - not a program: what the RESP clients redis_ping,
// pool_client and redis_session share, built into each of them (the
// Makefile's GO_RESP_BINS).  Each defines prog, its name in its messages.
// Stdlib only.
package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// reason says why a read or write failed, as the clients print it, and the
// exit status that leads to: EOF (the server closed the connection),
// ECONNRESET, EPIPE or another error: 1; "timeout (...)" (the read deadline
// passed without a reply: the reply never reached the program): 3.
func reason(err error) (string, int) {
	var ne net.Error
	switch {
	case errors.Is(err, io.EOF):
		return "EOF", 1
	case errors.As(err, &ne) && ne.Timeout():
		return "timeout (" + err.Error() + ")", 3
	case errors.Is(err, syscall.ECONNRESET):
		return "ECONNRESET", 1
	case errors.Is(err, syscall.EPIPE):
		return "EPIPE", 1
	}
	return err.Error(), 1
}

// needArgs exits 2 with "usage: PROG USAGE" unless os.Args has from min to
// max entries (the program's name included).
func needArgs(min, max int, usage string) {
	if len(os.Args) < min || len(os.Args) > max {
		fmt.Fprintf(os.Stderr, "usage: %s %s\n", prog, usage)
		os.Exit(2)
	}
}

// arg is the program's argument i, or "" if there are fewer.
func arg(i int) string {
	if i < len(os.Args) {
		return os.Args[i]
	}
	return ""
}

// num is the non-negative decimal s, named what in the message; def if s is
// empty and def >= 0.  Anything else exits 2 with "PROG: bad WHAT: S".
func num(s, what string, def int) int {
	if s == "" && def >= 0 {
		return def
	}
	v, err := strconv.Atoi(s)
	if err != nil || v < 0 {
		fmt.Fprintf(os.Stderr, "%s: bad %s: %s\n", prog, what, s)
		os.Exit(2)
	}
	return v
}

// pingArgs are the arguments 4 to 6 of redis_ping and pool_client: IDLE_MS
// (default 3500) and DEADLINE_MS (default 3000) as durations, SLOW_MS
// (default 0).
func pingArgs() (idle, deadline time.Duration, slow int) {
	idle = time.Duration(num(arg(4), "IDLE_MS", 3500)) * time.Millisecond
	deadline = time.Duration(num(arg(5), "DEADLINE_MS", 3000)) * time.Millisecond
	return idle, deadline, num(arg(6), "SLOW_MS", 0)
}

// dial connects to HOST:PORT (os.Args[1], os.Args[2]); a failure exits 2 with
// "PROG: dial[ WHICH]: ERROR".
func dial(which string) net.Conn {
	c, err := net.Dial("tcp", net.JoinHostPort(os.Args[1], os.Args[2]))
	if err != nil {
		fmt.Fprintf(os.Stderr, "%s: dial%s: %v\n", prog, which, err)
		os.Exit(2)
	}
	return c
}

// encode is a command as redis-cli sends it: an array of bulk strings.
func encode(args ...string) []byte {
	var b strings.Builder
	fmt.Fprintf(&b, "*%d\r\n", len(args))
	for _, a := range args {
		fmt.Fprintf(&b, "$%d\r\n%s\r\n", len(a), a)
	}
	return []byte(b.String())
}

// pingRequest is one write, PING, and the replies it gets.  With slowMS > 0
// it is `BLPOP halfclose:nothing SLOW_MS/1000` and PING: redis answers only
// after slowMS (a null array, then +PONG), so the read certainly finds
// nothing at first and the Go runtime waits for the socket in epoll.
func pingRequest(slowMS int) ([]byte, []string) {
	if slowMS <= 0 {
		return encode("PING"), []string{"+PONG\r\n"}
	}
	secs := fmt.Sprintf("%d.%03d", slowMS/1000, slowMS%1000)
	return append(encode("BLPOP", "halfclose:nothing", secs), encode("PING")...), []string{"*-1\r\n", "+PONG\r\n"}
}

// readReplies reads a line for each of want; "" if each was as wanted, else
// why not (as reason says, or `unexpected reply "..." (expected "...")`) and
// the exit status: reason's, or 4 for an unexpected reply.
func readReplies(r *bufio.Reader, want []string) (string, int) {
	for _, w := range want {
		line, err := r.ReadString('\n')
		if err != nil {
			return reason(err)
		}
		if line != w {
			return fmt.Sprintf("unexpected reply %q (expected %q)", line, w), 4
		}
	}
	return "", 0
}
