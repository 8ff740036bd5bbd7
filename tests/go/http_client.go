// http_client.go - Go's net/http client (its Transport pools keep-alive
// connections) making requests spaced past the server's keep-alive timeout.
//
//	http_client URL [N [GAP_MS]]
//
// Makes N (default 3) GET requests to URL, GAP_MS (default 1500) apart, each
// with a 5 s timeout, and prints per request "request I: STATUS, BYTES bytes,
// reused=BOOL" (whether the Transport took a pooled connection: with a
// keep-alive timeout below GAP_MS it notices the close itself, in its
// background read loop, and dials anew), then "ok"; exit 0.  A failed
// request prints "http_client: request I: ERROR" on stderr and exits 1; a
// status other than 200 exits 1 too.
package main

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptrace"
	"os"
	"strconv"
	"time"
)

func main() {
	if len(os.Args) < 2 || len(os.Args) > 4 {
		fmt.Fprintln(os.Stderr, "usage: http_client URL [N [GAP_MS]]")
		os.Exit(2)
	}
	n, gap := 3, 1500
	var err error
	if len(os.Args) > 2 {
		if n, err = strconv.Atoi(os.Args[2]); err != nil || n < 1 {
			fmt.Fprintln(os.Stderr, "http_client: bad N:", os.Args[2])
			os.Exit(2)
		}
	}
	if len(os.Args) > 3 {
		if gap, err = strconv.Atoi(os.Args[3]); err != nil || gap < 0 {
			fmt.Fprintln(os.Stderr, "http_client: bad GAP_MS:", os.Args[3])
			os.Exit(2)
		}
	}
	client := &http.Client{Timeout: 5 * time.Second}

	for i := 1; i <= n; i++ {
		if i > 1 {
			time.Sleep(time.Duration(gap) * time.Millisecond)
		}
		reused := false
		trace := &httptrace.ClientTrace{
			GotConn: func(info httptrace.GotConnInfo) { reused = info.Reused },
		}
		req, err := http.NewRequest("GET", os.Args[1], nil)
		if err != nil {
			fmt.Fprintf(os.Stderr, "http_client: request %d: %v\n", i, err)
			os.Exit(2)
		}
		req = req.WithContext(httptrace.WithClientTrace(req.Context(), trace))
		resp, err := client.Do(req)
		if err != nil {
			fmt.Fprintf(os.Stderr, "http_client: request %d: %v\n", i, err)
			os.Exit(1)
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			fmt.Fprintf(os.Stderr, "http_client: request %d: reading the body: %v\n", i, err)
			os.Exit(1)
		}
		fmt.Printf("request %d: %d, %d bytes, reused=%v\n", i, resp.StatusCode, len(body), reused)
		if resp.StatusCode != 200 {
			fmt.Fprintf(os.Stderr, "http_client: request %d: status %d\n", i, resp.StatusCode)
			os.Exit(1)
		}
	}
	fmt.Println("ok")
}
