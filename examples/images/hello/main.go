// Command berth-hello is the web app of Berth's default session image: a
// tiny HTTP server that shows which session it runs in and echoes the
// request, so a user can see the app proxy at work.
package main

import (
	"fmt"
	"html"
	"log"
	"net/http"
	"os"
	"sort"
	"strings"
	"time"
)

func main() {
	port := os.Getenv("PORT")
	if port == "" {
		port = "8080"
	}
	host, _ := os.Hostname()
	started := time.Now()
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintln(w, "ok")
	})
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		var hdrs []string
		for k, v := range r.Header {
			hdrs = append(hdrs, fmt.Sprintf("%s: %s", k, strings.Join(v, ", ")))
		}
		sort.Strings(hdrs)
		fmt.Fprintf(w, `<!doctype html><html><head><title>Berth hello</title>
<style>body{font-family:system-ui,sans-serif;max-width:46rem;margin:3rem auto;color:#1d2733}pre{background:#f3f5f7;padding:1rem;overflow:auto}</style></head>
<body><h1>Hello from Berth</h1>
<p>This page is served by <code>berth-hello</code> inside container <b>%s</b>, up since %s.</p>
<p>Request: <code>%s %s</code></p>
<pre>%s</pre></body></html>
`, html.EscapeString(host), started.UTC().Format(time.RFC3339), html.EscapeString(r.Method), html.EscapeString(r.URL.RequestURI()), html.EscapeString(strings.Join(hdrs, "\n")))
	})
	log.Printf("berth-hello listening on :%s", port)
	log.Fatal(http.ListenAndServe(":"+port, mux))
}
