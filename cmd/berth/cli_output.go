package main

import (
	"context"
	"encoding/json"
	"fmt"
	"github.com/berth-dev/berth/api/client"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/berth-dev/berth/api"
)

// printJSON prints v as indented JSON with a trailing newline.
func printJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return fmt.Errorf("writing JSON: %w", err)
	}
	return nil
}

// printRawJSON prints an API answer exactly as it came, indented.
func printRawJSON(w io.Writer, raw json.RawMessage) error {
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		return fmt.Errorf("writing JSON: %w", err)
	}
	return printJSON(w, v)
}

// cliTable prints aligned columns.
type cliTable struct{ tw *tabwriter.Writer }

// newCLITable starts a table with the given header row (if any).
func newCLITable(w io.Writer, header ...string) *cliTable {
	t := &cliTable{tw: tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)}
	if len(header) > 0 {
		t.row(header...)
	}
	return t
}

// row adds one row; empty cells print as "-".
func (t *cliTable) row(cells ...string) {
	for i, c := range cells {
		if c == "" {
			c = "-"
		}
		c = strings.NewReplacer("\t", " ", "\n", " ").Replace(c)
		if i > 0 {
			io.WriteString(t.tw, "\t")
		}
		io.WriteString(t.tw, c)
	}
	io.WriteString(t.tw, "\n")
}

// flush writes the table out.
func (t *cliTable) flush() error { return t.tw.Flush() }

// humanBytes formats a byte count with a binary unit: "256 MiB", "1.5 GiB".
func humanBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return strconv.FormatInt(n, 10) + " B"
	}
	units := []string{"KiB", "MiB", "GiB", "TiB", "PiB", "EiB"}
	f := float64(n) / unit
	i := 0
	for f >= unit && i < len(units)-1 {
		f /= unit
		i++
	}
	s := strconv.FormatFloat(f, 'f', 1, 64)
	s = strings.TrimSuffix(s, ".0")
	return s + " " + units[i]
}

// humanCPU formats cores: "0.5", "2".
func humanCPU(c float64) string { return strconv.FormatFloat(c, 'f', -1, 64) }

// humanResources formats a resource amount: "cpu 0.5, mem 256 MiB, gpu 0".
func humanResources(r api.Resources) string {
	return fmt.Sprintf("cpu %s, mem %s, gpu %d", humanCPU(r.CPU), humanBytes(r.Mem), r.GPU)
}

// humanAge formats how long ago t was: "5s", "3m", "2h", "4d".
func humanAge(t, now time.Time) string {
	if t.IsZero() {
		return ""
	}
	d := now.Sub(t)
	switch {
	case d < 0:
		return "0s"
	case d < time.Minute:
		return fmt.Sprintf("%ds", int(d.Seconds()))
	case d < time.Hour:
		return fmt.Sprintf("%dm", int(d.Minutes()))
	case d < 48*time.Hour:
		return fmt.Sprintf("%dh", int(d.Hours()))
	default:
		return fmt.Sprintf("%dd", int(d.Hours()/24))
	}
}

// humanTime formats a timestamp in local time.
func humanTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.Local().Format("2006-01-02 15:04:05")
}

// truncateText shortens s to n characters with an ellipsis.
func truncateText(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}

// listing runs a command that takes no arguments and prints a collection:
// as JSON with --json, else through table.
func listing[T any](ctx context.Context, c *cli, f *cmdFlags, args []string,
	fetch func(*client.Client, context.Context) ([]T, error), table func([]T) error) error {
	if err := f.parse(args); err != nil {
		return err
	}
	if err := f.nargs(0, 0, ""); err != nil {
		return err
	}
	cl, err := c.client(f)
	if err != nil {
		return err
	}
	items, err := fetch(cl, ctx)
	if err != nil {
		return err
	}
	if f.json {
		return printJSON(c.stdout, items)
	}
	return table(items)
}
