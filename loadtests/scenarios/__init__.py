"""Locust user classes, one module per group of flows (see ``loadtests.locustfile``)."""
