#!/usr/bin/env bash
# kgo-store-window.sh: run tests with franz-go's topic-store window widened, so that the race
# docs/kafka.md describes ("A franz-go race at a topic's first transaction") happens every
# time instead of about once in a few hundred runs on a loaded host.
#
# franz-go's storePartitionsUpdate (pkg/kgo/topics_and_partitions.go) sends the records that
# waited for a new topic's metadata and only then stores the topic's partitions. This script
# builds the tests against a temporary copy of the franz-go module (go test -modfile with a
# replace; nothing in the repository or the module cache changes) whose copy of that file
# sleeps 20 ms between the two.
#
#   scripts/kgo-store-window.sh                       # the sink/kafka tests of the race
#   scripts/kgo-store-window.sh ./pkg/... -run 'TestX' # other packages and tests
#
# Without the sink's wait (ikafka.AwaitProducerPartitions) TestTxnSinkNewTopics fails with
# OUT_OF_ORDER_SEQUENCE_NUMBER and TestTxnSinkOffsetsOnlyFirstCommit reads no offset.
set -euo pipefail
cd "$(dirname "$0")/.."

dir="$(go list -m -f '{{.Dir}}' github.com/twmb/franz-go)"
src="$dir/pkg/kgo/topics_and_partitions.go"
[ -f "$src" ] || { echo "kgo-store-window.sh: $src not found (go mod download?)" >&2; exit 1; }

tmp="$(mktemp -d /tmp/kgo-store-window.XXXXXX)"
trap 'chmod -R u+w "$tmp" 2>/dev/null; rm -rf "$tmp"' EXIT
cp -r "$dir" "$tmp/franz-go"
chmod -R u+w "$tmp/franz-go"

# The sleep goes after the loop that partitions the waiting records, inside
# storePartitionsUpdate, before its deferred store; and "time" joins the imports.
awk '
  /^func \(cl \*Client\) storePartitionsUpdate\(/ { in_fn = 1 }
  in_fn && /cl\.doPartition\(l, lv, pr\)/ { after_loop = 1 }
  { print }
  after_loop && /^\t\t}$/ { print "\t\ttime.Sleep(20 * time.Millisecond) // kgo-store-window.sh"; after_loop = 0; in_fn = 0; n++ }
  /^\t"sync\/atomic"$/ { print "\t\"time\""; m++ }
  END { if (n != 1 || m != 1) exit 1 }
' "$src" > "$tmp/franz-go/pkg/kgo/topics_and_partitions.go" || {
  echo "kgo-store-window.sh: $src does not have the expected shape (franz-go changed?); nothing run" >&2
  exit 1
}
cp go.mod "$tmp/go.mod"
cp go.sum "$tmp/go.sum"
echo "replace github.com/twmb/franz-go => $tmp/franz-go" >> "$tmp/go.mod"

if [ $# -eq 0 ]; then
  set -- ./sink/kafka -run 'TestTxnSinkNewTopics|TestTxnSinkOffsetsOnlyFirstCommit|TestTxnSinkTimestamps'
fi
go test -race -count=1 -modfile "$tmp/go.mod" "$@"
