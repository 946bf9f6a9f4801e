"""Locust scenarios for the authentication hot path and the runner that reports on them."""
