package verify

import (
	"fmt"
	"math/big"
	"strconv"
)

// SumRows is a range-sums query's result: database/sql's and pgx's rows both are one.
type SumRows interface {
	Next() bool
	Scan(dest ...any) error
	Err() error
}

// ReadSums reads rows of (bucket as text, row count, exact decimal sum of the rows' 64-bit
// hashes as text) into sums by bucket. The sum is reduced modulo 2^64, so that a side summing
// in arbitrary precision (PostgreSQL numeric, MySQL DECIMAL) agrees with one that wraps
// (ClickHouse UInt64).
func ReadSums(rows SumRows) (map[uint64]Sum, error) {
	out := map[uint64]Sum{}
	for rows.Next() {
		var (
			b, sum string
			n      int64
		)
		if err := rows.Scan(&b, &n, &sum); err != nil {
			return nil, err
		}
		bi, err := strconv.ParseUint(b, 10, 64)
		if err != nil {
			return nil, fmt.Errorf("bucket %q: %w", b, err)
		}
		s, ok := new(big.Int).SetString(sum, 10)
		if !ok {
			return nil, fmt.Errorf("sum %q is not an integer", sum)
		}
		out[bi] = Sum{Rows: n, Hash: s.Mod(s, two64).Uint64()}
	}
	return out, rows.Err()
}

var two64 = new(big.Int).Lsh(big.NewInt(1), 64)
