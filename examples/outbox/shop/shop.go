// Package shop is the outbox example's application code: an orders service that records an
// order and its OrderCreated event in one transaction (the transactional outbox), and the
// services downstream that react to the event as sluice's outbox event router publishes it
// (inventory reserves the items, notification tells the customer). It is an example to copy,
// not part of sluice.
package shop

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"sync"
)

// Item is one line of an order.
type Item struct {
	SKU string `json:"sku"`
	Qty int    `json:"qty"`
}

// Order is what the orders service stores and announces.
type Order struct {
	ID       int64  `json:"id"`
	Customer string `json:"customer"`
	Items    []Item `json:"items"`
}

// PlaceOrder stores o and its OrderCreated event in one transaction, so the event exists if
// and only if the order does: a crash between the two writes cannot lose or invent an event.
// The outbox row is deleted in the same transaction: the log keeps the insert, which is all
// sluice needs, and the table stays empty (the router ignores the delete). dialect is
// "postgres" or "mysql" (placeholders). It returns the event id.
func PlaceOrder(ctx context.Context, db *sql.DB, dialect string, o Order) (string, error) {
	payload, err := json.Marshal(o)
	if err != nil {
		return "", err
	}
	id := newUUID()
	q := func(s string) string {
		if dialect != "postgres" {
			return s
		}
		n := 0
		var b strings.Builder
		for _, c := range s {
			if c == '?' {
				n++
				b.WriteString("$" + strconv.Itoa(n))
				continue
			}
			b.WriteRune(c)
		}
		return b.String()
	}
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return "", err
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, q("INSERT INTO orders (id, customer, status) VALUES (?, ?, ?)"), o.ID, o.Customer, "NEW"); err != nil {
		return "", fmt.Errorf("insert order: %w", err)
	}
	if _, err := tx.ExecContext(ctx, q("INSERT INTO outbox (id, aggregatetype, aggregateid, type, payload) VALUES (?, ?, ?, ?, ?)"),
		id, "order", strconv.FormatInt(o.ID, 10), "OrderCreated", string(payload)); err != nil {
		return "", fmt.Errorf("insert outbox event: %w", err)
	}
	if _, err := tx.ExecContext(ctx, q("DELETE FROM outbox WHERE id = ?"), id); err != nil {
		return "", fmt.Errorf("delete outbox event: %w", err)
	}
	return id, tx.Commit()
}

func newUUID() string {
	var b [16]byte
	rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

// Event is one message of outbox.event.order as the router writes it (schemas disabled): the
// key is the aggregate id as a JSON string, the header "id" the event id, the header
// "eventType" the type column (table.fields.additional.placement=type:header:eventType), and
// the value the payload column as JSON (table.expand.json.payload=true).
type Event struct {
	ID          string
	Type        string
	AggregateID string
	Payload     json.RawMessage
}

// DecodeEvent reads a Kafka message of an outbox topic.
func DecodeEvent(key, value []byte, headers map[string]string) (Event, error) {
	e := Event{ID: headers["id"], Type: headers["eventType"], Payload: value}
	if err := json.Unmarshal(key, &e.AggregateID); err != nil {
		return e, fmt.Errorf("event key %q: %w", key, err)
	}
	if e.ID == "" {
		return e, errors.New("event without an id header")
	}
	return e, nil
}

// Inventory is the inventory service's stock.
type Inventory struct {
	mu    sync.Mutex
	stock map[string]int
}

// NewInventory returns an inventory holding stock.
func NewInventory(stock map[string]int) *Inventory {
	s := make(map[string]int, len(stock))
	for k, v := range stock {
		s[k] = v
	}
	return &Inventory{stock: s}
}

// Reserve takes the items of an order out of stock, all or none.
func (inv *Inventory) Reserve(items []Item) error {
	inv.mu.Lock()
	defer inv.mu.Unlock()
	for _, it := range items {
		if inv.stock[it.SKU] < it.Qty {
			return fmt.Errorf("%s: %d wanted, %d in stock", it.SKU, it.Qty, inv.stock[it.SKU])
		}
	}
	for _, it := range items {
		inv.stock[it.SKU] -= it.Qty
	}
	return nil
}

// Stock returns what is left of sku.
func (inv *Inventory) Stock(sku string) int {
	inv.mu.Lock()
	defer inv.mu.Unlock()
	return inv.stock[sku]
}

// Flow is the order → inventory → notification flow: for each OrderCreated event the
// inventory reserves the items, then the customer is told whether the order is confirmed.
// Delivery is at least once (a restart of sluice or of the consumer may repeat events), so
// Flow remembers the event ids it handled and skips repeats: consumers of an outbox are
// idempotent by event id.
type Flow struct {
	Inventory *Inventory
	Notify    func(customer, text string)

	mu   sync.Mutex
	seen map[string]bool
}

// Handle reacts to one event; repeats of an event id are ignored.
func (f *Flow) Handle(e Event) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.seen == nil {
		f.seen = map[string]bool{}
	}
	if f.seen[e.ID] {
		return nil
	}
	switch e.Type {
	case "OrderCreated":
		var o Order
		if err := json.Unmarshal(e.Payload, &o); err != nil {
			return fmt.Errorf("event %s: payload: %w", e.ID, err)
		}
		if err := f.Inventory.Reserve(o.Items); err != nil {
			f.Notify(o.Customer, fmt.Sprintf("order %d rejected: %v", o.ID, err))
		} else {
			f.Notify(o.Customer, fmt.Sprintf("order %d confirmed: %s", o.ID, describe(o.Items)))
		}
	default:
		// Other event types of the order aggregate are someone else's business.
	}
	f.seen[e.ID] = true
	return nil
}

func describe(items []Item) string {
	parts := make([]string, 0, len(items))
	for _, it := range items {
		parts = append(parts, fmt.Sprintf("%d x %s", it.Qty, it.SKU))
	}
	sort.Strings(parts)
	return strings.Join(parts, ", ")
}
