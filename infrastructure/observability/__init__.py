"""Observability: structured logs, Prometheus metrics, Sentry and request logging.

Nothing here changes what a request does; it only reports on it. Every module is
safe to import before Django is set up (logging configuration imports them).
"""
