package replication

import (
	"context"
	"errors"
)

// QueryRows runs a statement with the text protocol and streams its first result set: row is
// called once per row with the column values as the server sent them (nil for NULL). The
// values alias the read buffer and are valid only during the call; vals is reused. Rows are
// read as row consumes them, so a big result set takes no memory of its own. When row returns
// an error, QueryRows stops reading and returns it, and the connection is unusable after that
// (the rest of the result set is not drained): close it.
func (c *Conn) QueryRows(ctx context.Context, query string, row func(vals [][]byte) error) error {
	if err := c.usable(); err != nil {
		return err
	}
	if c.dumping {
		return errors.New("replication: the connection is streaming a binlog dump; use another connection for queries")
	}
	idle := c.idle.Swap(false)
	defer func() { c.idle.Store(idle && c.broken == nil) }()
	op := "query " + abbreviate(query)
	b := append(append(c.w.start(), comQuery), query...)
	if err := c.writePacket(ctx, op, b, 0); err != nil {
		return err
	}
	data, err := c.readPacket(ctx, op)
	if err != nil {
		return err
	}
	switch {
	case len(data) == 0:
		return &ProtocolError{Op: op, Msg: "empty packet"}
	case data[0] == 0x00:
		cur := cursor{b: data[1:]}
		cur.lenenc()
		cur.lenenc()
		return c.drainMore(ctx, op, cur.u16())
	case data[0] == 0xff:
		return c.serverError(op, data)
	case data[0] == 0xfb:
		return &ProtocolError{Op: op, Msg: "LOCAL INFILE requests are not supported"}
	}
	cur := cursor{b: data}
	n, _ := cur.lenenc()
	if cur.bad || n == 0 || n > 4096 {
		return &ProtocolError{Op: op, Msg: "bad column count"}
	}
	for range n {
		data, err := c.readPacket(ctx, op)
		if err != nil {
			return err
		}
		if len(data) > 0 && data[0] == 0xff {
			return c.serverError(op, data)
		}
	}
	if c.caps&capDeprecateEOF == 0 {
		if _, err := c.readPacket(ctx, op); err != nil { // EOF after the column definitions
			return err
		}
	}
	vals := make([][]byte, n)
	for {
		data, err := c.readPacket(ctx, op)
		if err != nil {
			return err
		}
		if len(data) > 0 && data[0] == 0xff {
			return c.serverError(op, data)
		}
		if len(data) > 0 && data[0] == 0xfe && len(data) < maxPayload {
			return c.drainMore(ctx, op, c.endStatus(data))
		}
		cur := cursor{b: data}
		for i := range vals {
			v, null := cur.lenencBytes()
			if null {
				vals[i] = nil
			} else {
				vals[i] = v[:len(v):len(v)]
			}
		}
		if cur.bad || cur.rem() != 0 {
			return &ProtocolError{Op: op, Msg: "bad row"}
		}
		if err := row(vals); err != nil {
			if c.broken == nil {
				c.broken = errRowsAbandoned
			}
			return err
		}
	}
}

var errRowsAbandoned = errors.New("replication: a streamed result set was abandoned; the connection is unusable")

// drainMore reads (and discards) the further results a statement announced.
func (c *Conn) drainMore(ctx context.Context, op string, status uint16) error {
	for status&statusMoreResults != 0 {
		more, err := c.readResult(ctx, op, &Result{}, false)
		if err != nil {
			return err
		}
		if !more {
			break
		}
	}
	return nil
}
