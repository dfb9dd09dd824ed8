package cli

import (
	"errors"
	"fmt"
	"strings"

	"github.com/sluicecdc/sluice/envelope"
)

// registerColumnOptions adds the encoder's column options (envelope.ColumnOptions; Debezium's
// column.truncate.to.<n>.chars, column.mask.with.<n>.chars, column.mask.hash.…,
// column.propagate.source.type and message.key.columns) to s: --message-key-columns,
// --column-propagate-source-type, --column-option <property>=<regexes> (repeatable), and the
// properties themselves in the --config file.
func registerColumnOptions(s *Set, o *envelope.ColumnOptions) {
	fs := s.FlagSet()
	var errs []error
	fs.Func("message-key-columns", "the key columns of matching tables in place of their primary key: <table regex>:<col>,<col>;… (message.key.columns)", o.SetKeyColumns)
	fs.Func("column-propagate-source-type", "comma-separated regexes of <db|schema>.<table>.<column> whose schemas get the __debezium.source.column.* parameters (column.propagate.source.type)", func(v string) error {
		return o.Set("column.propagate.source.type", v)
	})
	fs.Func("column-option", "a column option as its Debezium property, e.g. column.mask.with.8.chars=inventory.customers.email, column.truncate.to.20.chars=…, column.mask.hash.SHA-256.with.salt.<salt>=…; repeatable (docs/transforms.md)", func(v string) error {
		k, val, ok := strings.Cut(v, "=")
		if !ok || !envelope.IsColumnOption(k) || k == "message.key.columns" || k == "column.propagate.source.type" {
			return errors.New("want column.truncate.to.<n>.chars=, column.mask.with.<n>.chars= or column.mask.hash.[v2.]<algorithm>.with.salt.<salt>= followed by column regexes")
		}
		return o.Set(k, val)
	})
	s.SetGroup(GroupOutput, "message-key-columns", "column-propagate-source-type", "column-option")
	s.Names(map[string]string{"message.key.columns": "message-key-columns", "column.propagate.source.type": "column-propagate-source-type"})
	s.Prefix("column.", func(key, val string) bool {
		if !envelope.IsColumnOption(key) {
			return false
		}
		if err := o.Set(key, val); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", s.ConfigFile, err))
		}
		return true
	})
	s.Check(func() error { return errors.Join(errs...) })
}
