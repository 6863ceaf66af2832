"""What several test areas share: waiting for a condition, local servers, callers and
providers set up as ops would, admin form data, and fixtures registered by tests/conftest.py
(pytest_plugins). Tests import helpers from here, never from another test module."""
