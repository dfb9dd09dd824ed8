package cli

import (
	"errors"
	"fmt"
	"strings"
)

// unimplemented is a Debezium property sluice does not implement and whose setting changes
// what reaches the consumers: which rows or columns, the values, the names, the topics. Its
// default (or, with no default, leaving it empty) is accepted; any other value stops the
// command with the reason and what to do instead. Logging it as unknown let a configuration
// copied from Debezium run and write something else than what it asks for: every column
// under column.include.list, a placeholder the consumer does not look for, another topic.
type unimplemented struct {
	defaults []string // the values that ask for what sluice does ("" stands for unset)
	why      string
}

var unimplementedProperties = map[string]unimplemented{
	"column.include.list": {nil, "sluice leaves columns out by column.exclude.list (--column-exclude) only: list the columns to leave out there"},
	"snapshot.include.collection.list": {nil, "sluice snapshots every captured table; to snapshot only some, start with snapshot.mode=no_data and " +
		"send an execute-snapshot signal for those (docs/signals.md)"},
	"snapshot.select.statement.overrides":   {nil, "sluice snapshots whole tables; an execute-snapshot signal takes additional-conditions (docs/signals.md)"},
	"snapshot.select.statement.overrides.*": {nil, "sluice snapshots whole tables; an execute-snapshot signal takes additional-conditions (docs/signals.md)"},
	"unavailable.value.placeholder":         {[]string{"__debezium_unavailable_value"}, "sluice writes Debezium's default placeholder __debezium_unavailable_value for unchanged TOAST values"},
	"topic.delimiter":                       {[]string{"."}, "sluice names topics <topic.prefix>.<schema or database>.<table>; a RegexRouter transform (transforms.*) renames them"},
	"topic.naming.strategy": {[]string{"io.debezium.schema.SchemaTopicNamingStrategy", "io.debezium.schema.DefaultTopicNamingStrategy"},
		"sluice names topics as Debezium's default strategy does; a RegexRouter transform (transforms.*) renames them"},
	"topic.heartbeat.prefix":         {[]string{"__debezium-heartbeat"}, "sluice writes heartbeats to __debezium-heartbeat.<topic.prefix>"},
	"topic.transaction":              {[]string{"transaction"}, "sluice writes transaction metadata to <topic.prefix>.transaction"},
	"schema.name.adjustment.mode":    {[]string{"none"}, "sluice does not adjust schema names (Debezium's default none)"},
	"field.name.adjustment.mode":     {[]string{"none"}, "sluice does not adjust field names (Debezium's default none)"},
	"sanitize.field.names":           {[]string{"false"}, "sluice does not adjust field names (field.name.adjustment.mode none)"},
	"money.fraction.digits":          {[]string{"2"}, "sluice writes money with 2 fraction digits, Debezium's default"},
	"converters":                     {nil, "sluice cannot run custom converter classes: remove converters (and their <name>.type lines)"},
	"datatype.propagate.source.type": {nil, "sluice propagates source types by column only: column.propagate.source.type (--column-propagate-source-type)"},
	"predicates":                     {nil, "sluice does not support Kafka Connect predicates (a transform applies to every record); io.debezium.transforms.Filter selects records"},
	"debezium.predicates":            {nil, "sluice does not support Kafka Connect predicates (a transform applies to every record); io.debezium.transforms.Filter selects records"},
	"gtid.source.includes": {nil, "sluice captures the transactions of every GTID source: a filter by server UUID would leave changes out " +
		"(or, ignored, let in those you meant to keep out)"},
	"gtid.source.excludes": {nil, "sluice captures the transactions of every GTID source: a filter by server UUID would leave changes out " +
		"(or, ignored, let in those you meant to keep out)"},
	"event.deserialization.failure.handling.mode": {[]string{"fail"}, "sluice stops at a binlog event it cannot decode, naming its position; it never skips one"},
	"inconsistent.schema.handling.mode": {[]string{"fail"}, "sluice stops at a row event of a table missing from the schema history, naming the fix " +
		"(--schema-repair or --snapshot-mode recovery); it never skips one"},
	"post.processors":             {nil, "sluice has no post processors (the column reselector included)"},
	"message.prefix.include.list": {nil, "sluice emits every logical decoding message (op m)"},
	"message.prefix.exclude.list": {nil, "sluice emits every logical decoding message (op m)"},
	"replica.identity.autoset.values": {nil, "sluice does not change a table's replica identity: run ALTER TABLE … REPLICA IDENTITY FULL (or USING INDEX …) " +
		"on those tables before the start"},
	"database.initial.statements": {nil, "sluice runs no statements of yours on its connections: set the session defaults on the database user " +
		"(ALTER ROLE … SET …) instead"},
	"schema.refresh.mode":     {[]string{"columns_diff"}, "sluice refreshes a table's schema when PostgreSQL sends a new relation (columns_diff)"},
	"flush.lsn.source":        {[]string{"true"}, "sluice always confirms the slot up to the last position saved in its offsets"},
	"include.schema.comments": {[]string{"false"}, "sluice does not put column comments into the schemas"},
	"slot.failover":           {[]string{"false"}, "sluice creates replication slots without failover"},
}

// unimplementedCheck is the Accept check of p.
func unimplementedCheck(p string, u unimplemented) func(string) (string, error) {
	return func(v string) (string, error) {
		v = strings.TrimSpace(v)
		if v == "" && !strings.HasSuffix(p, ".*") {
			return "", nil
		}
		for _, d := range u.defaults {
			if strings.EqualFold(v, d) {
				return "", nil
			}
		}
		if len(u.defaults) == 0 {
			return "", errors.New("not supported: " + u.why + "; remove the line")
		}
		return "", fmt.Errorf("only %s is supported: %s", strings.Join(u.defaults, " or "), u.why)
	}
}
