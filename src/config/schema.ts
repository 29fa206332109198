// One typed schema of every configuration key Runnel understands, with Apache Kafka's names,
// types and defaults. Broker keys that default a topic-level key name it in `topicKey` (Kafka's
// broker → topic mapping, e.g. log.segment.bytes → segment.bytes). Units are in the key names,
// as in Kafka (…ms, …bytes).

/** Kafka's Long.MAX_VALUE. Longs are held as JS numbers; this value (and anything above 2^53)
 * stands for "never" and is shown as Kafka shows it. */
export const LONG_MAX = Number.MAX_SAFE_INTEGER;
export const LONG_MAX_STRING = "9223372036854775807";
export const INT_MAX = 2147483647;

export type ConfigKind = "int" | "long" | "double" | "boolean" | "string" | "list";

export interface ConfigDef<T> {
  readonly kind: ConfigKind;
  readonly default: T;
  readonly doc: string;
  readonly min?: number;
  readonly max?: number;
  readonly oneOf?: readonly string[];
  /** The topic-level key this broker key defaults. */
  readonly topicKey?: string;
  /** Nullable keys may be unset (Kafka's `null` default). */
  readonly nullable?: boolean;
}

type Range = { min?: number; max?: number };

const int = (value: number, doc: string, range: Range = {}, topicKey?: string): ConfigDef<number> => ({
  kind: "int", default: value, doc, ...range, topicKey,
});
const long = (value: number, doc: string, range: Range = {}, topicKey?: string): ConfigDef<number> => ({
  kind: "long", default: value, doc, ...range, topicKey,
});
const nullableLong = (doc: string, range: Range = {}): ConfigDef<number | null> => ({
  kind: "long", default: null, doc, ...range, nullable: true,
});
const double = (value: number, doc: string, range: Range = {}, topicKey?: string): ConfigDef<number> => ({
  kind: "double", default: value, doc, ...range, topicKey,
});
const bool = (value: boolean, doc: string, topicKey?: string): ConfigDef<boolean> => ({
  kind: "boolean", default: value, doc, topicKey,
});
const str = (value: string, doc: string, oneOf?: readonly string[], topicKey?: string): ConfigDef<string> => ({
  kind: "string", default: value, doc, oneOf, topicKey,
});
const nullableStr = (doc: string): ConfigDef<string | null> => ({ kind: "string", default: null, doc, nullable: true });
const list = (value: string[], doc: string, oneOf?: readonly string[], topicKey?: string): ConfigDef<string[]> => ({
  kind: "list", default: value, doc, oneOf, topicKey,
});

const COMPRESSION = ["uncompressed", "zstd", "lz4", "snappy", "gzip", "producer"] as const;
const TIMESTAMP_TYPES = ["CreateTime", "LogAppendTime"] as const;
const CLEANUP = ["delete", "compact"] as const;
const DAY_MS = 24 * 60 * 60 * 1000;

/** Topic-level keys (what CreateTopics / AlterConfigs set and DescribeConfigs shows). */
export const topicSchema = {
  "cleanup.policy": list(["delete"], "delete old segments, compact by key, or both", CLEANUP),
  "compression.type": str("producer", "final compression of the topic's batches", COMPRESSION),
  "delete.retention.ms": long(DAY_MS, "how long tombstones are kept after compaction", { min: 0 }),
  "file.delete.delay.ms": long(60000, "delay before a deleted segment file is removed", { min: 0 }),
  "flush.messages": long(LONG_MAX, "fdatasync after this many records", { min: 1 }),
  "flush.ms": long(LONG_MAX, "fdatasync at least this often", { min: 0 }),
  "index.interval.bytes": int(4096, "bytes between sparse offset-index entries", { min: 0 }),
  "max.compaction.lag.ms": long(LONG_MAX, "a record is compacted at the latest after this", { min: 1 }),
  "max.message.bytes": int(1048588, "largest record batch accepted", { min: 0 }),
  "message.downconversion.enable": bool(true, "serve Fetch v0-3 (message formats v0/v1) by down-converting; false: UNSUPPORTED_VERSION"),
  "message.timestamp.type": str("CreateTime", "CreateTime or LogAppendTime", TIMESTAMP_TYPES),
  "message.timestamp.before.max.ms": long(LONG_MAX, "how far in the past a timestamp may be", { min: 0 }),
  "message.timestamp.after.max.ms": long(LONG_MAX, "how far in the future a timestamp may be", { min: 0 }),
  "min.cleanable.dirty.ratio": double(0.5, "dirty ratio that makes a log cleanable", { min: 0, max: 1 }),
  "min.compaction.lag.ms": long(0, "a record stays uncompacted at least this long", { min: 0 }),
  "min.insync.replicas": int(1, "replicas that must acknowledge acks=all", { min: 1 }),
  "preallocate": bool(false, "preallocate whole segment files"),
  "retention.bytes": long(-1, "partition size above which old segments are deleted (-1: none)"),
  "retention.ms": long(7 * DAY_MS, "age after which old segments are deleted (-1: none)", { min: -1 }),
  "segment.bytes": int(1073741824, "segment file size at which the log rolls", { min: 14 }),
  "segment.index.bytes": int(10485760, "maximum size of a segment's offset index", { min: 4 }),
  "segment.jitter.ms": long(0, "random jitter subtracted from segment.ms", { min: 0 }),
  "segment.ms": long(7 * DAY_MS, "age at which the active segment rolls", { min: 1 }),
  "unclean.leader.election.enable": bool(false, "allow out-of-sync replicas to lead"),
} as const satisfies Record<string, ConfigDef<unknown>>;

/** Broker keys. */
export const brokerSchema = {
  "node.id": int(1, "this broker's id", { min: 0 }),
  "broker.id": int(-1, "alias of node.id (Kafka ZooKeeper-mode name); -1: use node.id", { min: -1 }),
  "cluster.id": nullableStr("cluster id; generated at first start and kept in meta.properties"),
  "listeners": list(["PLAINTEXT://127.0.0.1:9092", "HTTP://127.0.0.1:8080"],
    "NAME://host:port entries to bind: PLAINTEXT is the Kafka listener, HTTP the HTTP API, CONTROLLER the inter-node listener (default: this node's controller.quorum.voters entry)"),
  "advertised.listeners": list([], "NAME://host:port entries given to clients; default: listeners"),
  "log.dirs": list(["./data"], "data directory (one supported)"),
  "log.dir": nullableStr("alias of log.dirs with one entry"),
  "num.partitions": int(1, "partitions of an auto-created topic", { min: 1 }),
  "default.replication.factor": int(1, "replication factor of auto-created topics", { min: 1 }),
  "auto.create.topics.enable": bool(true, "create unknown topics on Metadata/Produce"),
  "delete.topic.enable": bool(true, "allow DeleteTopics"),
  "message.max.bytes": int(1048588, "largest record batch accepted", { min: 0 }, "max.message.bytes"),
  "compression.type": str("producer", "final compression of topics", COMPRESSION, "compression.type"),
  "log.cleanup.policy": list(["delete"], "default cleanup.policy", CLEANUP, "cleanup.policy"),
  "log.segment.bytes": int(1073741824, "default segment.bytes", { min: 14 }, "segment.bytes"),
  "log.roll.ms": nullableLong("default segment.ms (wins over log.roll.hours)", { min: 1 }),
  "log.roll.hours": int(168, "default segment.ms in hours", { min: 1 }),
  "log.roll.jitter.ms": long(0, "default segment.jitter.ms", { min: 0 }, "segment.jitter.ms"),
  "log.retention.ms": nullableLong("default retention.ms (wins over minutes and hours)", { min: -1 }),
  "log.retention.minutes": nullableLong("default retention.ms in minutes", { min: -1 }),
  "log.retention.hours": int(168, "default retention.ms in hours", { min: -1 }),
  "log.retention.bytes": long(-1, "default retention.bytes", {}, "retention.bytes"),
  "log.retention.check.interval.ms": long(300000, "how often retention runs", { min: 1 }),
  "log.flush.interval.messages": long(LONG_MAX, "default flush.messages", { min: 1 }, "flush.messages"),
  "log.flush.interval.ms": nullableLong("default flush.ms", { min: 0 }),
  "log.flush.scheduler.interval.ms": long(LONG_MAX, "how often flush.ms is checked", { min: 0 }),
  "log.flush.offset.checkpoint.interval.ms": int(60000, "how often recovery checkpoints are written", { min: 0 }),
  "log.index.interval.bytes": int(4096, "default index.interval.bytes", { min: 0 }, "index.interval.bytes"),
  "log.index.size.max.bytes": int(10485760, "default segment.index.bytes", { min: 4 }, "segment.index.bytes"),
  "log.message.downconversion.enable": bool(true, "default message.downconversion.enable", "message.downconversion.enable"),
  "log.message.timestamp.type": str("CreateTime", "default message.timestamp.type", TIMESTAMP_TYPES, "message.timestamp.type"),
  "log.message.timestamp.before.max.ms": long(LONG_MAX, "default message.timestamp.before.max.ms", { min: 0 }, "message.timestamp.before.max.ms"),
  "log.message.timestamp.after.max.ms": long(LONG_MAX, "default message.timestamp.after.max.ms", { min: 0 }, "message.timestamp.after.max.ms"),
  "log.preallocate": bool(false, "default preallocate", "preallocate"),
  "log.segment.delete.delay.ms": long(60000, "default file.delete.delay.ms", { min: 0 }, "file.delete.delay.ms"),
  "num.recovery.threads.per.data.dir": int(2, "partitions recovered at once at start (the node serves the ready ones meanwhile)", { min: 1 }),
  "log.cleaner.enable": bool(true, "run the log cleaner (compaction)"),
  "log.cleaner.backoff.ms": long(15000, "sleep between cleaner passes when nothing is cleanable", { min: 0 }),
  "log.cleaner.delete.retention.ms": long(DAY_MS, "default delete.retention.ms", { min: 0 }, "delete.retention.ms"),
  "log.cleaner.min.cleanable.ratio": double(0.5, "default min.cleanable.dirty.ratio", { min: 0, max: 1 }, "min.cleanable.dirty.ratio"),
  "log.cleaner.min.compaction.lag.ms": long(0, "default min.compaction.lag.ms", { min: 0 }, "min.compaction.lag.ms"),
  "log.cleaner.max.compaction.lag.ms": long(LONG_MAX, "default max.compaction.lag.ms", { min: 1 }, "max.compaction.lag.ms"),
  "min.insync.replicas": int(1, "default min.insync.replicas", { min: 1 }, "min.insync.replicas"),
  "unclean.leader.election.enable": bool(false, "default unclean.leader.election.enable", "unclean.leader.election.enable"),
  "socket.request.max.bytes": int(104857600, "largest request frame accepted", { min: 1 }),
  "queued.max.requests": int(500, "in-flight requests per connection before reads pause", { min: 1 }),
  "max.connections": int(INT_MAX, "connections accepted at once (also bounded by the file descriptor limit)", { min: 0 }),
  "max.connections.per.ip": int(INT_MAX, "connections accepted at once from one IP address", { min: 0 }),
  "max.connections.per.ip.overrides": str("", "per-IP exceptions to max.connections.per.ip: ip:count,ip:count"),
  "queued.max.request.bytes": long(268435456,
    "bytes of requests being received or handled across all connections before reads pause (-1: no limit, Kafka's default)", { min: -1 }),
  "connections.max.idle.ms": long(600000, "idle connections are closed after this", { min: 0 }),
  "fetch.max.bytes": int(57671680, "largest fetch response", { min: 1024 }),
  "max.incremental.fetch.session.cache.slots": int(1000, "fetch sessions kept", { min: 0 }),
  "group.initial.rebalance.delay.ms": int(3000, "delay of the first rebalance of an empty group", { min: 0 }),
  "group.min.session.timeout.ms": int(6000, "smallest session.timeout.ms a member may ask", { min: 0 }),
  "group.max.session.timeout.ms": int(1800000, "largest session.timeout.ms a member may ask", { min: 0 }),
  "group.max.size": int(INT_MAX, "members per group", { min: 1 }),
  "group.consumer.session.timeout.ms": int(45000, "session timeout of KIP-848 consumer group members", { min: 1 }),
  "group.consumer.heartbeat.interval.ms": int(5000, "heartbeat interval given to KIP-848 consumer group members", { min: 1 }),
  "offsets.topic.num.partitions": int(50, "partitions of __consumer_offsets", { min: 1 }),
  "offsets.topic.replication.factor": int(3, "replication factor of __consumer_offsets (capped at the live brokers when it is created)", { min: 1 }),
  "offsets.topic.segment.bytes": int(104857600, "segment.bytes of __consumer_offsets", { min: 1 }),
  "offsets.retention.minutes": int(10080, "committed offsets of empty groups expire after this", { min: 1 }),
  "offsets.retention.check.interval.ms": long(600000, "how often expired offsets are removed", { min: 1 }),
  "offset.metadata.max.bytes": int(4096, "largest offset commit metadata", { min: 0 }),
  "offsets.commit.timeout.ms": int(5000, "how long a commit waits for durability", { min: 1 }),
  // Partition replication (docs/replication.md §5): the replica fetcher and ISR changes, Kafka's names and defaults.
  "replica.lag.time.max.ms": long(30000, "an ISR member not caught up with the leader for this long is removed from the ISR", { min: 1 }),
  "replica.fetch.max.bytes": int(1048576, "bytes a replica fetch asks per partition (the first batch comes whole even when larger)", { min: 0 }),
  "replica.fetch.response.max.bytes": int(10485760, "bytes a replica fetch response may carry in all", { min: 0 }),
  "replica.fetch.wait.max.ms": int(500, "longest a replica fetch waits at the leader for data (below replica.lag.time.max.ms)", { min: 0 }),
  "replica.fetch.min.bytes": int(1, "bytes a replica fetch waits for at the leader before it is answered", { min: 1 }),
  "replica.fetch.backoff.ms": int(1000, "pause of a replica fetcher after a partition error", { min: 0 }),
  "replica.socket.timeout.ms": int(30000, "timeout of a replica fetch request (at least replica.fetch.wait.max.ms)", { min: 1 }),
  "controlled.shutdown.enable": bool(true, "on SIGTERM, move this broker's leaderships away before stopping"),
  "controlled.shutdown.timeout.ms": long(30000, "longest a controlled shutdown waits for its leaderships to move", { min: 0 }),
  "producer.id.expiration.ms": int(DAY_MS, "idle producer ids are forgotten after this", { min: 1 }),
  "transactional.id.expiration.ms": int(7 * DAY_MS, "idle transactional ids expire after this", { min: 1 }),
  // Security (docs/security.md): listeners' protocols, TLS from PEM, SASL, ACLs. Every TLS
  // listener (SSL, SASL_SSL) uses the same ssl.* keys.
  "listener.security.protocol.map": str("PLAINTEXT:PLAINTEXT,SSL:SSL,SASL_PLAINTEXT:SASL_PLAINTEXT,SASL_SSL:SASL_SSL",
    "listener name → security protocol (PLAINTEXT, SSL, SASL_PLAINTEXT, SASL_SSL), NAME:PROTOCOL,…"),
  "ssl.keystore.type": str("PEM", "format of the key store (PEM only)", ["PEM"]),
  "ssl.keystore.location": nullableStr("PEM file holding the private key and the certificate chain of the TLS listeners; re-read on SIGHUP"),
  "ssl.keystore.certificate.chain": nullableStr("PEM certificate chain, inline (instead of ssl.keystore.location)"),
  "ssl.keystore.key": nullableStr("PEM private key, inline (with ssl.keystore.certificate.chain)"),
  "ssl.key.password": nullableStr("password of an encrypted private key"),
  "ssl.truststore.type": str("PEM", "format of the trust store (PEM only)", ["PEM"]),
  "ssl.truststore.location": nullableStr("PEM file of the CA certificates that client certificates must chain to"),
  "ssl.truststore.certificates": nullableStr("PEM CA certificates, inline (instead of ssl.truststore.location)"),
  "ssl.client.auth": str("none", "client certificates on TLS listeners: required (mutual TLS), requested (used when given), none", ["required", "requested", "none"]),
  "ssl.principal.mapping.rules": str("DEFAULT", "how a client certificate's distinguished name becomes a user name: RULE:pattern/replacement/[LU],…,DEFAULT"),
  "sasl.enabled.mechanisms": list(["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"], "SASL mechanisms offered on SASL listeners (OAUTHBEARER: unsecured tokens, development only)", ["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512", "OAUTHBEARER"]),
  "connections.max.reauth.ms": long(0, "a SASL session expires after this and the client must re-authenticate (KIP-368); 0: never", { min: 0 }),
  "connection.failed.authentication.delay.ms": int(100, "the answer to a failed authentication is held this long before the connection closes", { min: 0 }),
  // The internal (CONTROLLER) listener carries every node-to-node request — Raft, registrations
  // and heartbeats, forwarded admin requests and replica fetches (security/inter-broker.ts).
  "controller.listener.names": str("CONTROLLER", "the internal listener's name (Raft, heartbeats, replica fetches); its protocol comes from listener.security.protocol.map", ["CONTROLLER"]),
  "inter.broker.listener.name": nullableStr("the listener brokers replicate over: Runnel's brokers use the internal listener, so only CONTROLLER (or unset) is accepted"),
  "security.inter.broker.protocol": { kind: "string", default: null, doc: "the internal listener's security protocol when listener.security.protocol.map has no CONTROLLER entry (PLAINTEXT when neither says)", nullable: true, oneOf: ["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"] } as ConfigDef<string | null>,
  "sasl.mechanism.inter.broker.protocol": str("SCRAM-SHA-512", "SASL mechanism this node uses on other nodes' SASL internal listeners", ["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"]),
  "sasl.mechanism.controller.protocol": { kind: "string", default: null, doc: "SASL mechanism for the internal listener, overriding sasl.mechanism.inter.broker.protocol (one listener carries both)", nullable: true, oneOf: ["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"] } as ConfigDef<string | null>,
  "sasl.jaas.config": nullableStr("this node's own SASL login on the internal listener: a ScramLoginModule or PlainLoginModule line with username=\"…\" password=\"…\";"),
  "bootstrap.scram.users": str("", "SCRAM credentials created at start when the user has none for that mechanism: SCRAM-SHA-256=[name=admin,password=secret];… (kafka-storage format --add-scram syntax)"),
  "authorizer.class.name": str("", "authorizer; empty: on when any listener authenticates (SASL or ssl.client.auth), else off",
    ["", "org.apache.kafka.metadata.authorizer.StandardAuthorizer", "kafka.security.authorizer.AclAuthorizer"]),
  "super.users": str("", "principals allowed everything, separated by semicolons: User:admin;User:CN=broker"),
  "allow.everyone.if.no.acl.found": { kind: "boolean", default: null, nullable: true,
    doc: "a resource without any ACL is open to everyone; unset: false when the authorizer is on" } as ConfigDef<boolean | null>,
  "quota.window.num": int(11, "samples a client's byte rate is measured over (quotas)", { min: 1 }),
  "quota.window.size.seconds": int(1, "length of one quota sample", { min: 1 }),
  "http.authentication.methods": list([], "HTTP authentication: basic (SCRAM users' passwords), bearer (http.bearer.tokens.location); empty: none", ["basic", "bearer"]),
  "http.bearer.tokens.location": nullableStr("file of bearer tokens, one 'TOKEN PRINCIPAL' per line (User:alice); a token may be given as sha256:HEX"),
  "http.authentication.open.paths": list(["/healthz", "/readyz", "/health", "/metrics"], "HTTP paths served without authentication"),
  "transaction.max.timeout.ms": int(900000, "largest transaction.timeout.ms a producer may ask for (else INVALID_TRANSACTION_TIMEOUT)", { min: 1 }),
  "transaction.abort.timed.out.transaction.cleanup.interval.ms": int(10000, "how often the coordinator aborts transactions past their timeout", { min: 1 }),
  "transaction.remove.expired.transaction.cleanup.interval.ms": int(3600000, "how often expired transactional ids are removed", { min: 1 }),
  "transaction.state.log.num.partitions": int(50, "partitions of __transaction_state", { min: 1 }),
  "transaction.state.log.replication.factor": int(3, "replication factor of __transaction_state (capped at the live brokers when it is created)", { min: 1 }),
  "transaction.state.log.segment.bytes": int(104857600, "segment.bytes of __transaction_state", { min: 1 }),
  "transaction.state.log.min.isr": int(2, "min.insync.replicas of __transaction_state (capped at its replication factor)", { min: 1 }),
  // The metadata quorum and the cluster (docs/replication.md §3, §4, §7).
  "controller.quorum.voters": list([], "id@host:port of every metadata quorum voter; empty: a one-node cluster"),
  "controller.quorum.bootstrap.servers": list([], "host:port of some quorum voters' CONTROLLER listeners (KIP-853): a node that is not a voter learns the voters from them and follows the metadata log as an observer"),
  // Elastic cluster (docs/elastic.md): leader and replica balancing on the active controller.
  "auto.leader.rebalance.enable": bool(true, "move leaderships back to each partition's preferred replica when a broker's share of them is off by more than leader.imbalance.per.broker.percentage"),
  "leader.imbalance.check.interval.seconds": long(300, "how often the controller checks the leader balance", { min: 1 }),
  "leader.imbalance.per.broker.percentage": int(10, "percentage of a broker's preferred leaderships held elsewhere that triggers a preferred-leader election", { min: 0, max: 100 }),
  "auto.replica.rebalance.enable": bool(true, "move replicas to brokers that joined (and off brokers being decommissioned or gone past broker.failure.rereplication.grace.ms) so every broker holds a fair share"),
  "replica.rebalance.check.interval.ms": int(2000, "how often the controller plans replica moves", { min: 10 }),
  "replica.rebalance.max.partition.moves": int(8, "most partitions reassigned at once by the balancer (the next ones start when those complete)", { min: 1 }),
  "broker.failure.rereplication.grace.ms": long(600_000, "a broker fenced for this long has its replicas re-created on other brokers (-1: never; a decommission drains at once)", { min: -1 }),
  "leader.replication.throttled.rate": long(LONG_MAX, "bytes/s this broker, as leader, serves to replicas being added by a reassignment (the balancer's moves); other replication is never throttled", { min: 1 }),
  "follower.replication.throttled.rate": long(LONG_MAX, "bytes/s this broker fetches for its replicas being added by a reassignment", { min: 1 }),
  "broker.rack": nullableStr("this broker's rack: replicas of a partition are spread over racks when every broker names one"),
  "controller.quorum.fetch.timeout.ms": int(1000, "a follower that heard nothing from the quorum leader for this long starts an election; a leader not fetched from by a majority for this long resigns", { min: 10 }),
  "controller.quorum.election.timeout.ms": int(500, "elections start after a random wait between this and twice this", { min: 10 }),
  "controller.quorum.election.backoff.max.ms": int(500, "largest random wait before retrying a lost election", { min: 1 }),
  "controller.quorum.retry.backoff.ms": int(50, "wait before resending an unanswered quorum request", { min: 1 }),
  "controller.quorum.request.timeout.ms": int(2000, "a quorum request with no answer for this long is abandoned and its connection closed", { min: 10 }),
  "broker.heartbeat.interval.ms": int(250, "how often a broker heartbeats to the active controller", { min: 10 }),
  "broker.session.timeout.ms": int(1500, "a broker with no heartbeat for this long is fenced", { min: 10 }),
  "reconnect.backoff.ms": long(50, "first wait before reconnecting to another node", { min: 0 }),
  "reconnect.backoff.max.ms": long(1000, "longest wait between reconnections to another node (the wait doubles up to it)", { min: 0 }),
  "metadata.log.max.record.bytes.between.snapshots": long(20971520, "bytes of metadata log after the newest snapshot that trigger a new one (the log before it is then deleted)", { min: 1 }),
  "metadata.log.max.snapshot.interval.ms": long(3600000, "longest time between metadata snapshots when the log has grown (0: only by bytes)", { min: 0 }),
  // The HTTP API (src/http/): TLS, limits and timeouts of the HTTP listener.
  "http.ssl.certificate.location": nullableStr("PEM certificate (chain) of the HTTP listener; with the key, HTTPS with ALPN h2 instead of cleartext"),
  "http.ssl.key.location": nullableStr("PEM private key of the HTTP listener's certificate"),
  "http.request.max.bytes": int(8 * 1024 * 1024, "largest body of a one-shot HTTP request (one record, admin calls); larger: 413", { min: 1024 }),
  "http.stream.request.max.bytes": long(1024 ** 4, "largest body of a streaming produce request (NDJSON / CBOR sequence); one record within it is still capped by http.request.max.bytes", { min: 1024 }),
  "http.idle.timeout.ms": int(120000, "an HTTP connection with nothing sent or received for this long is closed (Bun caps it at 255 s)", { min: 1000, max: 255000 }),
  "http.long.poll.max.ms": int(30000, "longest timeout_ms a read may wait for records (kept below http.idle.timeout.ms)", { min: 0 }),
  "http.stream.keepalive.ms": int(15000, "a live stream with nothing to send writes a keep-alive comment this often", { min: 100 }),
  "http.stream.buffer.bytes": int(256 * 1024, "bytes a live stream reads ahead of its client; a client that stops reading stops the reads", { min: 1024 }),
  "http.streams.max": int(10000, "live streams open at once; more: 503", { min: 1 }),
  "http.consumer.instance.timeout.ms": int(300000, "an HTTP consumer instance not used for this long is closed (leaves its group)", { min: 1000 }),
  "http.consumer.instances.max": int(1000, "HTTP consumer instances open at once; more: 503", { min: 1 }),
  "http.auto.create.topics.enable": bool(false, "create an unknown topic on HTTP produce (num.partitions) instead of answering 404"),
  "http.console.enable": bool(true, "serve the web console at /ui (and redirect / there); off: both answer 404"),
  "http.producer.acks": str("all", "acks of an HTTP produce without ?acks= (0, 1, -1 or all), as a Kafka producer's acks", ["0", "1", "-1", "all"]),
} as const satisfies Record<string, ConfigDef<unknown>>;

type ValueOf<D> = D extends ConfigDef<infer T> ? T : never;
export type TopicConfigKey = keyof typeof topicSchema;
export type BrokerConfigKey = keyof typeof brokerSchema;
export type TopicConfig = { -readonly [K in TopicConfigKey]: ValueOf<(typeof topicSchema)[K]> };
export type BrokerConfig = { -readonly [K in BrokerConfigKey]: ValueOf<(typeof brokerSchema)[K]> };

/** Kafka's DescribeConfigs source codes. */
export const ConfigSource = {
  DYNAMIC_TOPIC_CONFIG: 1,
  DYNAMIC_BROKER_CONFIG: 2,
  DYNAMIC_DEFAULT_BROKER_CONFIG: 3,
  STATIC_BROKER_CONFIG: 4,
  DEFAULT_CONFIG: 5,
} as const;
export type ConfigSourceValue = (typeof ConfigSource)[keyof typeof ConfigSource];
