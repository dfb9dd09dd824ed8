// Command kfakebroker runs franz-go's kfake (an in-process Kafka-protocol broker) as a standalone
// process on 127.0.0.1, for integration tests and tools such as kcat. It prints "ready ADDR" once
// listening. Built and started by scripts/kafka.sh.
package main

import (
	"flag"
	"fmt"
	"net"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/twmb/franz-go/pkg/kfake"
)

func main() {
	port := flag.Int("port", 19092, "listen port (kfake binds 127.0.0.1)")
	dataDir := flag.String("data-dir", "", "persist the log under this directory (default: in memory)")
	autoCreate := flag.Bool("auto-create-topics", false, "allow auto topic creation on metadata/produce")
	partitions := flag.Int("default-partitions", 1, "partitions for auto-created topics")
	seed := flag.String("seed-topics", "", "comma-separated topics to create at start")
	advertise := flag.Int("advertise-port", 0, "port to advertise in metadata instead of -port (a proxy in front of the broker, as torture/ uses)")
	flag.Parse()
	opts := []kfake.Opt{kfake.NumBrokers(1), kfake.Ports(*port), kfake.DefaultNumPartitions(*partitions)}
	if *advertise != 0 {
		// kfake advertises its listener's address; report the proxy's so clients stay behind it.
		opts = append(opts, kfake.ListenFn(func(network, addr string) (net.Listener, error) {
			ln, err := net.Listen(network, addr)
			return advertised{ln, &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: *advertise}}, err
		}))
	}
	if *dataDir != "" {
		opts = append(opts, kfake.DataDir(*dataDir))
	}
	if *autoCreate {
		opts = append(opts, kfake.AllowAutoTopicCreation())
	}
	if *seed != "" {
		opts = append(opts, kfake.SeedTopics(int32(*partitions), strings.Split(*seed, ",")...))
	}
	c, err := kfake.NewCluster(opts...)
	if err != nil {
		fmt.Fprintln(os.Stderr, "kfakebroker:", err)
		os.Exit(1)
	}
	fmt.Println("ready", strings.Join(c.ListenAddrs(), ","))
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM)
	<-sig
	c.Close()
}

type advertised struct {
	net.Listener
	addr net.Addr
}

func (a advertised) Addr() net.Addr { return a.addr }
