// Package integration holds end-to-end tests (build tag integration) of the sluice binary and
// the capture packages against the servers of scripts/servers.sh. kfakebroker is the Kafka
// broker those scripts start.
package integration
