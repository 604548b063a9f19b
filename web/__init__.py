"""The retention queue page: access control, rendering and requests, as plain functions.

The worker's Faust views (``agents.queue_page``) read Redis and call these; nothing here
does I/O, so the page is tested without a broker or Redis.
"""
