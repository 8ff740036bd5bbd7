// behave.go - process behaviours a supervisor must leave exactly as they are:
// output, exit status, signals, fork and exec.  Static (CGO_ENABLED=0).
//
//	behave lines N        N lines "line I <padding>" on stdout, one write(2) each
//	behave pipe N         N lines through an os.Pipe to a reader goroutine,
//	                      one write(2) each; prints "pipe: LINES lines, BYTES
//	                      bytes, fnv64a HASH" (what the reader got)
//	behave exit N         prints "exiting N", exits N
//	behave sigterm        prints "pid PID", "ready" and waits (at most 20 s, then exits 9);
//	                      on SIGTERM prints "got SIGTERM" and dies of SIGTERM
//	                      itself (default disposition, raised again)
//	behave exec PROG ARG...
//	                      runs PROG with os/exec (fork+exec), its stdout and
//	                      stderr passed through, prints "child exit N" and exits
//	                      with N (the child's status; 128+SIG if it was killed)
package main

import (
	"fmt"
	"hash/fnv"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"strconv"
	"syscall"
	"time"
)

func usage() {
	fmt.Fprintln(os.Stderr, "usage: behave lines N | pipe N | exit N | sigterm | exec PROG ARG...")
	os.Exit(2)
}

func count(s string) int {
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 {
		usage()
	}
	return n
}

func line(i int) []byte {
	return []byte(fmt.Sprintf("line %d %s\n", i, "abcdefghijklmnopqrstuvwxyz"[:i%27]))
}

func main() {
	if len(os.Args) < 2 {
		usage()
	}
	switch os.Args[1] {
	case "lines":
		if len(os.Args) != 3 {
			usage()
		}
		n := count(os.Args[2])
		for i := 1; i <= n; i++ {
			if _, err := os.Stdout.Write(line(i)); err != nil {
				fmt.Fprintln(os.Stderr, "behave: write:", err)
				os.Exit(1)
			}
		}
	case "pipe":
		if len(os.Args) != 3 {
			usage()
		}
		n := count(os.Args[2])
		pr, pw, err := os.Pipe()
		if err != nil {
			fmt.Fprintln(os.Stderr, "behave: pipe:", err)
			os.Exit(1)
		}
		type result struct {
			lines, bytes int
			sum          uint64
		}
		done := make(chan result)
		go func() {
			h := fnv.New64a()
			buf := make([]byte, 65536)
			var res result
			for {
				k, err := pr.Read(buf)
				for _, b := range buf[:k] {
					if b == '\n' {
						res.lines++
					}
				}
				h.Write(buf[:k])
				res.bytes += k
				if err == io.EOF {
					break
				} else if err != nil {
					fmt.Fprintln(os.Stderr, "behave: pipe read:", err)
					os.Exit(1)
				}
			}
			res.sum = h.Sum64()
			done <- res
		}()
		for i := 1; i <= n; i++ {
			if _, err := pw.Write(line(i)); err != nil {
				fmt.Fprintln(os.Stderr, "behave: pipe write:", err)
				os.Exit(1)
			}
		}
		pw.Close()
		res := <-done
		fmt.Printf("pipe: %d lines, %d bytes, fnv64a %016x\n", res.lines, res.bytes, res.sum)
	case "exit":
		if len(os.Args) != 3 {
			usage()
		}
		n := count(os.Args[2])
		fmt.Printf("exiting %d\n", n)
		os.Exit(n)
	case "sigterm":
		c := make(chan os.Signal, 1)
		signal.Notify(c, syscall.SIGTERM)
		fmt.Printf("pid %d\nready\n", os.Getpid())
		select {
		case <-c:
			fmt.Println("got SIGTERM")
			signal.Reset(syscall.SIGTERM)
			syscall.Kill(os.Getpid(), syscall.SIGTERM)
			time.Sleep(5 * time.Second)
			fmt.Println("still alive after raising SIGTERM")
			os.Exit(8)
		case <-time.After(20 * time.Second):
			fmt.Println("no SIGTERM within 20 s")
			os.Exit(9)
		}
	case "exec":
		if len(os.Args) < 3 {
			usage()
		}
		cmd := exec.Command(os.Args[2], os.Args[3:]...)
		cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
		err := cmd.Run()
		status := 0
		if ee, ok := err.(*exec.ExitError); ok {
			ws := ee.Sys().(syscall.WaitStatus)
			if ws.Signaled() {
				status = 128 + int(ws.Signal())
			} else {
				status = ws.ExitStatus()
			}
		} else if err != nil {
			fmt.Fprintln(os.Stderr, "behave: exec:", err)
			os.Exit(127)
		}
		fmt.Printf("child exit %d\n", status)
		os.Exit(status)
	default:
		usage()
	}
}
