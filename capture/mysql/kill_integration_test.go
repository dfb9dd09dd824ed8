//go:build integration

package mysql

import (
	"bufio"
	"encoding/json"
	"fmt"
	"github.com/sluicecdc/sluice/internal/testkit"
	"math/rand"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// TestKillNine runs the real `sluice mysql` binary (stdout sink, offsets and schema history in
// files) while a writer commits multi-row transactions, kills it with SIGKILL at random points
// at least 20 times and restarts it: every change must come out, in binlog order once the
// repeats (records after the last saved offset) are dropped, and no repeat may start in the
// middle of a transaction except at a saved in-transaction offset.
func TestKillNine(t *testing.T) {
	bin := sluiceBin(t) // built once per test binary
	for _, srv := range servers(t) {
		t.Run(srv.name, func(t *testing.T) { killNine(t, srv, bin) })
	}
}

func killNine(t *testing.T, srv server, bin string) {
	db := openDB(t, srv.dsn)
	freshDB(t, db, dbKill)
	mustExec(t, db, "CREATE TABLE "+dbKill+".t (id INT PRIMARY KEY, v INT NOT NULL)")
	dir := testkit.PrivateDir(t, "sluice-kill-")
	addr := strings.TrimSuffix(strings.TrimPrefix(srv.dsn, "root@tcp("), ")/")
	sid := fmt.Sprint(serverIDs.Add(1))
	run := func(i int) (*exec.Cmd, string) {
		out := filepath.Join(dir, fmt.Sprintf("out%03d.jsonl", i))
		f, err := os.Create(out)
		if err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command(bin, "mysql", "--dsn", "mysql://root@"+addr, "--server-id", sid, "--topic-prefix", "dbserver1",
			"--database-include", dbKill, "--offsets-file", filepath.Join(dir, "offsets.json"), "--offsets-flush-interval", "20ms",
			"--schemas-enable=false", "--log-format", "text", "--log-level", "warn")
		cmd.Stdout = f
		cmd.Stderr, _ = os.Create(out + ".err")
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		f.Close()
		return cmd, out
	}
	// first run: the (empty) snapshot, until the offsets file holds the stream start
	cmd0, out0 := run(999)
	deadline0 := time.Now().Add(30 * time.Second)
	for {
		b, _ := os.ReadFile(filepath.Join(dir, "offsets.json"))
		if len(b) > 0 && !strings.Contains(string(b), "INITIAL") {
			break
		}
		if time.Now().After(deadline0) {
			t.Fatalf("no offsets after the snapshot; %s", out0)
		}
		time.Sleep(20 * time.Millisecond)
	}
	cmd0.Process.Signal(syscall.SIGKILL)
	cmd0.Wait()
	// writer: 10-row transactions (an insert of 5, an update of 5) until stopped
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var txns int
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			var vals []string
			for j := 0; j < 5; j++ {
				vals = append(vals, fmt.Sprintf("(%d,%d)", i*5+j, i))
			}
			tx, err := db.Begin()
			if err != nil {
				t.Error(err)
				return
			}
			tx.Exec("INSERT INTO " + dbKill + ".t VALUES " + strings.Join(vals, ","))
			tx.Exec(fmt.Sprintf("UPDATE "+dbKill+".t SET v=v+1000 WHERE id >= %d", i*5))
			if err := tx.Commit(); err != nil {
				t.Error(err)
				return
			}
			txns++
			time.Sleep(2 * time.Millisecond)
		}
	}()
	rng := rand.New(rand.NewSource(time.Now().UnixNano()))
	var outs []string
	const cycles = 22
	for i := 0; i < cycles; i++ {
		cmd, out := run(i)
		outs = append(outs, out)
		time.Sleep(time.Duration(150+rng.Intn(350)) * time.Millisecond)
		cmd.Process.Signal(syscall.SIGKILL)
		cmd.Wait()
	}
	close(stop)
	wg.Wait()
	want := txns * 10
	// final run until everything is out
	cmd, out := run(cycles)
	outs = append(outs, out)
	deadline := time.Now().Add(60 * time.Second)
	for {
		seen, _, _ := readKillOutputs(t, outs)
		if len(seen) >= want || time.Now().After(deadline) {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	cmd.Process.Signal(syscall.SIGTERM)
	cmd.Wait()
	seen, order, dups := readKillOutputs(t, outs)
	if len(seen) != want {
		b, _ := os.ReadFile(outs[len(outs)-1] + ".err")
		t.Fatalf("%d distinct changes after %d kills, want %d (writer committed %d transactions)\n%s", len(seen), cycles, want, txns, b)
	}
	// binlog order: (file, pos, row) strictly increasing over first occurrences
	for i := 1; i < len(order); i++ {
		if !order[i-1].less(order[i]) {
			t.Fatalf("change %d %+v comes after %+v", i, order[i], order[i-1])
		}
	}
	t.Logf("%d changes of %d transactions complete and in order after %d SIGKILLs; %d records repeated after restarts (those after the last saved offset)", want, txns, cycles, dups)
}

type killID struct {
	File     string
	Pos, Row int64
	Op       string
}

func (a killID) less(b killID) bool {
	if c := compareFiles(a.File, b.File); c != 0 {
		return c < 0
	}
	if a.Pos != b.Pos {
		return a.Pos < b.Pos
	}
	return a.Row < b.Row
}

// readKillOutputs returns the distinct streamed changes (by file/pos/row), their first
// occurrences in output order, and how many records repeated one seen before.
func readKillOutputs(t *testing.T, outs []string) (map[killID]bool, []killID, int) {
	seen := map[killID]bool{}
	var order []killID
	dups := 0
	for _, o := range outs {
		f, err := os.Open(o)
		if err != nil {
			continue
		}
		sc := bufio.NewScanner(f)
		sc.Buffer(make([]byte, 1<<20), 1<<24)
		for sc.Scan() {
			var r struct {
				Topic string `json:"topic"`
				Value *struct {
					Op     string `json:"op"`
					Source struct {
						File string `json:"file"`
						Pos  int64  `json:"pos"`
						Row  int64  `json:"row"`
					} `json:"source"`
				} `json:"value"`
			}
			if json.Unmarshal(sc.Bytes(), &r) != nil || r.Topic != "dbserver1."+dbKill+".t" || r.Value == nil || r.Value.Op == "r" {
				continue // torn last line of a killed run, tombstones, snapshot rows
			}
			id := killID{r.Value.Source.File, r.Value.Source.Pos, r.Value.Source.Row, r.Value.Op}
			if seen[id] {
				dups++
				continue
			}
			seen[id] = true
			order = append(order, id)
		}
		f.Close()
	}
	return seen, order, dups
}
