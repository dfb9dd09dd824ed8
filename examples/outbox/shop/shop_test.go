package shop

import (
	"slices"
	"testing"
)

// TestFlowOnceEach: a repeated event (at-least-once delivery) is handled once; an order the
// stock cannot cover is rejected and takes nothing.
func TestFlowOnceEach(t *testing.T) {
	var notes []string
	f := &Flow{Inventory: NewInventory(map[string]int{"mug": 2}), Notify: func(c, s string) { notes = append(notes, c+": "+s) }}
	ev := func(id, payload string) Event {
		e, err := DecodeEvent([]byte(`"1"`), []byte(payload), map[string]string{"id": id, "eventType": "OrderCreated"})
		if err != nil {
			t.Fatal(err)
		}
		return e
	}
	for _, e := range []Event{
		ev("e1", `{"id":1,"customer":"a","items":[{"sku":"mug","qty":2}]}`),
		ev("e1", `{"id":1,"customer":"a","items":[{"sku":"mug","qty":2}]}`),
		ev("e2", `{"id":2,"customer":"b","items":[{"sku":"mug","qty":1}]}`),
	} {
		if err := f.Handle(e); err != nil {
			t.Fatal(err)
		}
	}
	want := []string{"a: order 1 confirmed: 2 x mug", "b: order 2 rejected: mug: 1 wanted, 0 in stock"}
	if !slices.Equal(notes, want) || f.Inventory.Stock("mug") != 0 {
		t.Fatalf("notes %q, stock %d", notes, f.Inventory.Stock("mug"))
	}
	if _, err := DecodeEvent([]byte(`"1"`), nil, nil); err == nil {
		t.Error("event without id accepted")
	}
}
