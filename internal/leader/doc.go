// Package leader elects which process of a connector captures, through Kafka: every process of
// the connector joins one consumer group (its id derived from the connector's name and topic
// prefix) on a one-partition coordination topic, and the member that holds partition 0 leads;
// the others wait as standbys. The broker's group coordinator is the only arbiter: this package
// keeps no state of its own beyond the lease below and writes nothing to the topic.
//
// A leader stops leading when the group takes partition 0 from it (revoked in a rebalance, the
// session lost or expired) and, without waiting for the client to notice, when no heartbeat
// round trip has succeeded for a session timeout (its lease: the broker expires the member at
// the earliest a session timeout after it received the last heartbeat, which is after that
// heartbeat was sent). Leadership alone cannot stop a paused process from writing once it
// resumes; that is the job of the fencing the writers do themselves (Kafka's transactional.id
// epoch with --exactly-once, the replication slot or server id on the source): see
// docs/kafka.md, "High availability".
//
// The package must not decide what a process does when it loses: it reports the loss (Lost,
// Err) and the caller stops.
package leader
