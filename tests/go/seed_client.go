// seed_client.go - the seed document's client.go (shared/seed), made to
// build and to take the server's address as arguments:
//
//	seed_client [HOST PORT]      default localhost 5555, as in the seed
//
// As in the seed: prints "connection established", dials, sleeps 3 s + 3 s
// (long enough for `ncat -l -i 2` to close the idle connection), writes
// "Halo", prints "writen to server = Halo", sleeps 3 s, writes "Halo2",
// prints, closes, exits 0.  It never reads.  A failed write prints
// "Write to server failed: ERROR" and exits 1.  Everything is printed with
// println, so on stderr, as in the seed.
//
// Built with CGO_ENABLED=0: a static binary that makes its own system calls,
// out of LD_PRELOAD's reach.  The Go runtime ignores SIGPIPE for sockets, so
// without halfclose the first write "succeeds" into the dead connection (the
// server answers with RST) and the second fails with EPIPE ("broken pipe").
package main

import (
	"net"
	"os"
	"time"
)

func main() {
	host, port := "localhost", "5555"
	if len(os.Args) == 3 {
		host, port = os.Args[1], os.Args[2]
	} else if len(os.Args) != 1 {
		println("usage: seed_client [HOST PORT]")
		os.Exit(2)
	}

	strEcho := "Halo"
	servAddr := net.JoinHostPort(host, port)
	tcpAddr, err := net.ResolveTCPAddr("tcp", servAddr)
	if err != nil {
		println("ResolveTCPAddr failed:", err.Error())
		os.Exit(1)
	}

	println("connection established")
	conn, err := net.DialTCP("tcp", nil, tcpAddr)
	if err != nil {
		println("Dial failed:", err.Error())
		os.Exit(1)
	}

	// sleep until connection closed
	time.Sleep(3000 * time.Millisecond)

	// first write to half-closed connection
	time.Sleep(3000 * time.Millisecond)
	_, err = conn.Write([]byte(strEcho))
	if err != nil {
		println("Write to server failed:", err.Error())
		os.Exit(1)
	}
	println("writen to server = ", strEcho)

	// second write to half-closed connection
	time.Sleep(3000 * time.Millisecond)
	strEcho = "Halo2"
	_, err = conn.Write([]byte(strEcho))
	if err != nil {
		println("Write to server failed:", err.Error())
		os.Exit(1)
	}

	println("writen to server = ", strEcho)

	conn.Close()
}
