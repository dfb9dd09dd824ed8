package kafka

import (
	"flag"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/sluicecdc/sluice/internal/properties"
)

// EOS is the exactly-once setting of the Kafka sink (--exactly-once): with Enabled the sink is
// a TxnSink. Kept apart from Config, whose fields the at-least-once Sink uses.
type EOS struct {
	// Enabled writes records and offsets in Kafka transactions (exactly.once.support=required,
	// as Kafka Connect names it; requested, Connect's default, leaves it off). Needs
	// --offsets-topic.
	Enabled bool
	// CommitInterval is TxnConfig.CommitInterval (default DefaultCommitInterval).
	CommitInterval time.Duration
}

// eosFlag is --exactly-once: a boolean flag that also takes Connect's words.
type eosFlag struct{ e *EOS }

func (f eosFlag) IsBoolFlag() bool { return true }
func (f eosFlag) String() string {
	if f.e != nil && f.e.Enabled {
		return "true"
	}
	return "false"
}
func (f eosFlag) Set(s string) error {
	switch strings.ToLower(s) {
	case "required":
		f.e.Enabled = true
		return nil
	case "requested", "disabled":
		f.e.Enabled = false
		return nil
	}
	v, err := strconv.ParseBool(s)
	if err != nil {
		return fmt.Errorf("want true, false or required")
	}
	f.e.Enabled = v
	return nil
}

// RegisterFlags registers --exactly-once and --exactly-once-commit-interval.
func (e *EOS) RegisterFlags(fs *flag.FlagSet) properties.Names {
	fs.Var(eosFlag{e}, "exactly-once", "write records and offsets to Kafka in transactions, so read_committed consumers see every change exactly once across crashes (exactly.once.support=required); needs --sink kafka and --offsets-topic; a second process of the same connector fences the first (docs/kafka.md)")
	durationVar(fs, &e.CommitInterval, DefaultCommitInterval, "exactly-once-commit-interval",
		"with --exactly-once, how long a Kafka transaction stays open at most while changes arrive; read_committed consumers see records after its commit")
	return properties.Names{"exactly.once.support": "exactly-once"}
}
