"""python manage.py consume_calls: run the calls that arrive on the RabbitMQ call queue."""

from typing import Any

from django.core.management.base import BaseCommand

from apps.gateway.mq import CallConsumer, mq_connection


class Command(BaseCommand):
    help = "Consume call messages from RabbitMQ and run each through the gateway pipeline."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--max-messages", type=int, default=None, help="Stop after N.")
        parser.add_argument(
            "--idle-timeout", type=float, default=None, help="Stop after N seconds without one."
        )

    def handle(
        self, *args: Any, max_messages: int | None, idle_timeout: float | None, **options: Any
    ) -> None:
        with mq_connection() as connection:
            handled = CallConsumer(connection).run(
                max_messages=max_messages, idle_timeout=idle_timeout
            )
        self.stdout.write(f"{handled} message(s) handled.")
