// Command hello is the tiny static HTTP server in podmantest's hello image.
//
// Without arguments it serves "hello from berth" on :8080 (or $PORT) and
// logs each request to stdout. `hello echo ARGS...` prints ARGS and exits;
// `hello exit N` exits with status N (for exec tests in an image without a
// shell).
package main

import (
	"fmt"
	"log"
	"net/http"
	"os"
	"strconv"
	"strings"
)

func main() {
	if len(os.Args) > 1 {
		switch os.Args[1] {
		case "echo":
			fmt.Println(strings.Join(os.Args[2:], " "))
			return
		case "exit":
			code := 1
			if len(os.Args) > 2 {
				code, _ = strconv.Atoi(os.Args[2])
			}
			fmt.Fprintf(os.Stderr, "exiting with %d\n", code)
			os.Exit(code)
		default:
			fmt.Fprintf(os.Stderr, "usage: hello [echo ARGS... | exit N]\n")
			os.Exit(2)
		}
	}
	port := os.Getenv("PORT")
	if port == "" {
		port = "8080"
	}
	http.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		fmt.Printf("%s %s\n", r.Method, r.URL.Path)
		fmt.Fprintf(w, "hello from berth\n")
	})
	fmt.Printf("hello: listening on :%s\n", port)
	log.Fatal(http.ListenAndServe(":"+port, nil))
}
