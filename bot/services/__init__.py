"""Telegram-free use cases: plain ids, a database and `now` in, plain results out."""
