// pool_client.go - a pool of connections to redis used at once by as many
// goroutines: the Go runtime multiplexes them on a few threads and one epoll
// set, and every one of them goes stale in the same idle period.  Built with
// common_resp.go.
//
//	pool_client HOST PORT CONNS [IDLE_MS [DEADLINE_MS [SLOW_MS]]]
//
// Dials CONNS connections, then twice, IDLE_MS (default 3500) apart: on each
// connection in its own goroutine, at the same moment, sends PING (with
// SLOW_MS > 0: `BLPOP halfclose:nothing SLOW_MS/1000` + PING in one write, so
// the read waits in epoll) and reads the replies with a deadline of
// DEADLINE_MS (default 3000).
//
// stdout: "round R: N of CONNS answered" per round, then "ok"; exit 0.
// Every failure prints "pool_client: round R: conn I: OP: REASON" on stderr
// (REASON as in redis_ping: EOF, ECONNRESET, EPIPE, timeout, unexpected
// reply); the exit status is 1 if any connection failed with an error, 3 if
// all failures were timeouts, 4 for an unexpected reply, 2 for usage or a
// failed dial.
package main

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"sync"
	"time"
)

const prog = "pool_client"

func main() {
	needArgs(4, 7, "HOST PORT CONNS [IDLE_MS [DEADLINE_MS [SLOW_MS]]]")
	conns := num(arg(3), "CONNS", 0)
	idle, deadline, slow := pingArgs()
	if conns < 1 {
		fmt.Fprintln(os.Stderr, "pool_client: CONNS must be at least 1")
		os.Exit(2)
	}
	request, replies := pingRequest(slow)

	pool := make([]net.Conn, conns)
	readers := make([]*bufio.Reader, conns)
	for i := range pool {
		pool[i] = dial(fmt.Sprintf(" %d", i))
		readers[i] = bufio.NewReader(pool[i])
	}

	status := 0
	var mu sync.Mutex
	note := func(round, i int, op string, why string, rc int) {
		mu.Lock()
		defer mu.Unlock()
		fmt.Fprintf(os.Stderr, "pool_client: round %d: conn %d: %s: %s\n", round, i, op, why)
		if status == 0 || status == 3 || rc == 4 {
			status = rc
		}
	}
	for round := 1; round <= 2; round++ {
		if round > 1 {
			time.Sleep(idle)
		}
		var wg sync.WaitGroup
		answered := 0
		start := make(chan struct{})
		for i := range pool {
			wg.Add(1)
			go func(i int) {
				defer wg.Done()
				<-start
				c, r := pool[i], readers[i]
				if _, err := c.Write(request); err != nil {
					why, rc := reason(err)
					note(round, i, "write", why, rc)
					return
				}
				c.SetReadDeadline(time.Now().Add(deadline))
				if why, rc := readReplies(r, replies); why != "" {
					note(round, i, "read", why, rc)
					return
				}
				mu.Lock()
				answered++
				mu.Unlock()
			}(i)
		}
		close(start)
		wg.Wait()
		fmt.Printf("round %d: %d of %d answered\n", round, answered, conns)
	}
	for _, c := range pool {
		c.Close()
	}
	if status != 0 {
		os.Exit(status)
	}
	fmt.Println("ok")
}
