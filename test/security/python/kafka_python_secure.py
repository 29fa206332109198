"""kafka-python (2.0.2) over a secured listener: produce one record, read it back.
Usage: kafka_python_secure.py BOOTSTRAP TOPIC PROTOCOL CAFILE [MECHANISM USER PASSWORD]"""
import sys
from kafka import KafkaConsumer, KafkaProducer

bootstrap, topic, protocol, cafile = sys.argv[1:5]
settings = {"bootstrap_servers": bootstrap, "security_protocol": protocol}
if protocol.endswith("SSL"):
    settings.update(ssl_cafile=cafile, ssl_check_hostname=False)
if protocol.startswith("SASL"):
    mechanism, user, password = sys.argv[5:8]
    settings.update(sasl_mechanism=mechanism, sasl_plain_username=user, sasl_plain_password=password)
producer = KafkaProducer(**settings)
producer.send(topic, f"kafka-python over {protocol}".encode()).get(timeout=20)
producer.close()
consumer = KafkaConsumer(topic, auto_offset_reset="earliest", consumer_timeout_ms=3000, **settings)
print("\n".join(message.value.decode() for message in consumer))
consumer.close()
