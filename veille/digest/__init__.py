"""The daily digest: select an issue's stories, render it, and send it to subscribers.

select.py (which stories), rank.py (their order), render.py + templates/ (email and archive
pages), compose.py (MIME messages), transport.py (SMTP or outbox), send.py (deliveries, once
per subscriber), subscribers.py and tokens.py (double opt-in, one-click unsubscribe),
issue.py (what the CLI and the scheduler call).
"""
