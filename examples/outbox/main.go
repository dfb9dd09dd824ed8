// Command outbox runs the two sides of the outbox example: "orders" places orders (an order
// row and its OrderCreated event in the outbox, in one transaction) and "consume" follows
// outbox.event.order, reserving stock and notifying customers. sluice, configured with
// sluice-postgres.properties or sluice-mysql.properties, carries the events between them.
// See README.md.
package main

import (
	"context"
	"database/sql"
	"flag"
	"fmt"
	"log"
	"os"
	"os/signal"
	"strings"

	_ "github.com/go-sql-driver/mysql"
	_ "github.com/jackc/pgx/v5/stdlib"

	"github.com/sluicecdc/sluice/examples/outbox/shop"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: outbox orders|consume [flags]")
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	var err error
	switch os.Args[1] {
	case "orders":
		err = orders(ctx, os.Args[2:])
	case "consume":
		err = consume(ctx, os.Args[2:])
	default:
		err = fmt.Errorf("unknown command %q: want orders or consume", os.Args[1])
	}
	if err != nil {
		log.Fatal(err)
	}
}

func orders(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("orders", flag.ExitOnError)
	driver := fs.String("driver", "postgres", "postgres or mysql")
	dsn := fs.String("dsn", "", "database of the orders service (postgres://… or user:pw@tcp(host:port)/shop)")
	first := fs.Int64("first-id", 1, "id of the first order")
	n := fs.Int("n", 3, "orders to place")
	fs.Parse(args)
	name := map[string]string{"postgres": "pgx", "mysql": "mysql"}[*driver]
	db, err := sql.Open(name, *dsn)
	if err != nil {
		return err
	}
	defer db.Close()
	for i := range *n {
		o := shop.Order{ID: *first + int64(i), Customer: fmt.Sprintf("customer%d@example.com", i),
			Items: []shop.Item{{SKU: "book", Qty: 1 + i%2}, {SKU: "mug", Qty: 1}}}
		id, err := shop.PlaceOrder(ctx, db, *driver, o)
		if err != nil {
			return err
		}
		fmt.Printf("order %d placed, event %s\n", o.ID, id)
	}
	return nil
}

func consume(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("consume", flag.ExitOnError)
	brokers := fs.String("brokers", "127.0.0.1:9092", "Kafka brokers")
	topic := fs.String("topic", "outbox.event.order", "the order events' topic")
	group := fs.String("group", "shop", "consumer group")
	fs.Parse(args)
	flow := &shop.Flow{
		Inventory: shop.NewInventory(map[string]int{"book": 10, "mug": 5}),
		Notify:    func(customer, text string) { fmt.Printf("notify %s: %s\n", customer, text) },
	}
	return shop.Consume(ctx, strings.Split(*brokers, ","), *topic, *group, flow)
}
