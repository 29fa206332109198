"""confluent-kafka-python admin: create topics (with configs, validate_only, errors), list them,
delete them. Usage: confluent_admin.py BOOTSTRAP."""
import sys
from confluent_kafka import KafkaException
from confluent_kafka.admin import AdminClient, NewTopic

bootstrap = sys.argv[1]
admin = AdminClient({"bootstrap.servers": bootstrap})

futures = admin.create_topics([
    NewTopic("admin-a", num_partitions=4, replication_factor=1, config={"retention.ms": "3600000", "cleanup.policy": "delete"}),
    NewTopic("admin-b", num_partitions=1, replication_factor=1),
])
for name, future in futures.items():
    future.result(15)

def expect_error(future, code_name):
    try:
        future.result(15)
    except KafkaException as error:
        if error.args[0].name() != code_name:
            sys.exit(f"expected {code_name}, got {error.args[0].name()}")
        return
    sys.exit(f"expected {code_name}, got success")

expect_error(admin.create_topics([NewTopic("admin-a", num_partitions=1, replication_factor=1)])["admin-a"], "TOPIC_ALREADY_EXISTS")
expect_error(admin.create_topics([NewTopic("admin-rf", num_partitions=1, replication_factor=3)])["admin-rf"], "INVALID_REPLICATION_FACTOR")
expect_error(admin.create_topics([NewTopic("admin-cfg", num_partitions=1, replication_factor=1, config={"no.such.key": "1"})])["admin-cfg"], "INVALID_CONFIG")
admin.create_topics([NewTopic("admin-dry", num_partitions=2, replication_factor=1)], validate_only=True)["admin-dry"].result(15)

topics = admin.list_topics(timeout=10).topics
if "admin-dry" in topics:
    sys.exit("validate_only created the topic")
if len(topics["admin-a"].partitions) != 4 or "admin-b" not in topics:
    sys.exit(f"listing: {sorted(topics)}")

for name, future in admin.delete_topics(["admin-a", "admin-b"], operation_timeout=15).items():
    future.result(15)
expect_error(admin.delete_topics(["admin-a"], operation_timeout=15)["admin-a"], "UNKNOWN_TOPIC_OR_PART")
topics = admin.list_topics(timeout=10).topics
if "admin-a" in topics or "admin-b" in topics:
    sys.exit(f"still listed after delete: {sorted(topics)}")
print("OK")
