"""Messages put on the real RabbitMQ for the observability tests."""

from kombu import Connection, Exchange, Queue

from tests.support.celery import RABBITMQ_URL


def publish(queue: str, count: int) -> None:
    exchange = Exchange("", type="direct")
    with Connection(RABBITMQ_URL, transport_options={"confirm_publish": True}) as connection:
        declared = Queue(queue, exchange, routing_key=queue, durable=False)
        declared.bind(connection.channel()).declare()
        producer = connection.Producer()
        for n in range(count):
            producer.publish({"n": n}, exchange=exchange, routing_key=queue)
