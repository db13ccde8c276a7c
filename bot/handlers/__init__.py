"""Telegram handlers: thin functions that parse an update, call one use case and reply."""
