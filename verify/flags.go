package verify

import (
	"errors"
	"flag"
	"time"
)

// RegisterFlags registers the comparison's settings on fs. The command line re-checks for a
// minute by default (RecheckTimeout's zero value, no re-check, suits a library caller that
// compares quiet tables).
func (c *Config) RegisterFlags(fs *flag.FlagSet) {
	c.setDefaults()
	fs.DurationVar(&c.RecheckTimeout, "recheck-timeout", time.Minute, "re-read ranges that differ until they agree or this long has passed (a running pipeline catches up); 0: report the first pass")
	fs.DurationVar(&c.RecheckInterval, "recheck-interval", c.RecheckInterval, "wait between re-reads of differing ranges")
	fs.IntVar(&c.LeafRows, "leaf-rows", c.LeafRows, "compare ranges of about this many rows key by key")
	fs.IntVar(&c.MaxKeys, "max-keys", c.MaxKeys, "keys printed per table and kind (missing, differing, extra)")
}

// Validate reports every bad field.
func (c *Config) Validate() error {
	var errs []error
	if c.RecheckTimeout < 0 || c.RecheckInterval < 0 {
		errs = append(errs, errors.New("--recheck-timeout and --recheck-interval must not be negative"))
	}
	if c.LeafRows < 0 || c.MaxKeys < 0 || c.MaxBuckets < 0 {
		errs = append(errs, errors.New("--leaf-rows and --max-keys must not be negative"))
	}
	return errors.Join(errs...)
}
