"""Admin logins are throttled (django-axes): a username is locked from an IP after repeated
failed passwords, for a cool-off."""

from datetime import timedelta

import pytest
import time_machine
from django.conf import settings
from django.contrib.auth.models import User
from django.test import Client as HttpClient
from django.utils import timezone

pytestmark = pytest.mark.django_db

LOGIN = "/admin/login/?next=/admin/"
ATTACKER = "203.0.113.7"


@pytest.fixture
def staff() -> User:
    return User.objects.create_user("olga", password="right-password-1", is_staff=True)


def log_in(password: str, ip: str = ATTACKER, **headers: str) -> int:
    response = HttpClient(REMOTE_ADDR=ip).post(
        LOGIN, {"username": "olga", "password": password}, **headers
    )
    return response.status_code


def fail_until_locked() -> list[int]:
    return [log_in("wrong") for _ in range(settings.AXES_FAILURE_LIMIT)]


def test_after_repeated_failures_even_the_right_password_is_refused(staff):
    # given as many wrong passwords as the limit allows, from one IP
    failures = fail_until_locked()

    # when the right password comes from that IP
    status = log_in("right-password-1")

    # then the login page answered each failure, and now the account is locked
    assert failures[:-1] == [200] * (settings.AXES_FAILURE_LIMIT - 1)
    assert failures[-1] == 429
    assert status == 429


def test_the_lock_is_per_ip_so_the_owner_elsewhere_still_logs_in(staff):
    # given the username locked from an attacker's IP
    fail_until_locked()

    # when its owner logs in from another IP
    status = log_in("right-password-1", ip="198.51.100.20")

    # then she is let in
    assert status == 302


def test_a_forged_forwarded_for_header_does_not_escape_the_lock(staff):
    # given the username locked from an attacker's IP
    fail_until_locked()

    # when the attacker claims another address in X-Forwarded-For
    status = log_in("right-password-1", HTTP_X_FORWARDED_FOR="198.51.100.20")

    # then the lock still holds (the IP is the connection's, set by the trusted proxy)
    assert status == 429


def test_the_lock_lifts_after_the_cool_off(staff):
    # given a locked username
    fail_until_locked()

    # when the cool-off has passed
    later = timezone.now() + settings.AXES_COOLOFF_TIME + timedelta(seconds=1)
    with time_machine.travel(later, tick=False):
        status = log_in("right-password-1")

    # then the right password works again
    assert status == 302
