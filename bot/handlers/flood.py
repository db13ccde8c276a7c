"""Group -2: a per-user and per-group-chat token bucket, before anything else runs.

One member tapping a button a thousand times, or a group chat flooded with commands, must not
slow down everyone else: every update costs a database read in the identify gate and usually a
Bot API call. Over budget, the update is dropped before any of that, and the sender is told
once, politely, until their bucket has filled up again. Dropped taps are not answered: each
answer would be one more Bot API call, which is what the gate saves (the client stops its
spinner by itself after a few seconds).

Buckets: each user may send FLOOD_BURST updates at once, refilled at FLOOD_PER_SECOND. A group
chat's messages share the same burst refilled at half the rate, about what the bot could answer
in a group anyway (Telegram allows it ~20 messages a minute). Button taps in a group do not
count against the chat (a whole branch may check in on a group reminder at the same moment);
the per-user bucket covers them.
"""

from __future__ import annotations

from dataclasses import dataclass

from telegram import Update
from telegram.constants import ChatType
from telegram.error import TelegramError
from telegram.ext import ApplicationHandlerStop

from bot.context import BranchContext
from bot.i18n import translator
from bot.settings import Settings
from scheduler.clock import Clock

MAX_BUCKETS = 10_000  # forget full buckets beyond this many (memory stays bounded)


@dataclass
class Bucket:
    """A token bucket; `warned` is set once the sender has been told, until it is full again."""

    capacity: float
    per_second: float
    tokens: float
    stamp: float
    warned: bool = False

    def take(self, now: float) -> bool:
        """Refill up to `now`; take one token if there is one."""
        refill = max(0.0, now - self.stamp) * self.per_second
        self.tokens = min(self.capacity, self.tokens + refill)
        self.stamp = now
        if self.tokens >= self.capacity:
            self.warned = False  # calmed down: a later flood is told again
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return True
        return False


class FloodGate:
    """The group -2 TypeHandler callback (bot/app.py registers its `check`)."""

    def __init__(self, clock: Clock, settings: Settings) -> None:
        self.clock = clock
        self.user = (float(settings.flood_burst), settings.flood_per_second)
        self.chat = (float(settings.flood_burst), settings.flood_per_second / 2)
        self.buckets: dict[tuple[str, int], Bucket] = {}
        self.dropped = 0

    async def check(self, update: Update, context: BranchContext) -> None:
        """Let the update through, or drop it (telling the sender once) when over budget."""
        now = self.clock.now().timestamp()
        user, chat = update.effective_user, update.effective_chat
        over: Bucket | None = None
        if user is not None:
            over = self._over(("u", user.id), self.user, now)
        in_group = chat is not None and chat.type != ChatType.PRIVATE
        if over is None and in_group and update.callback_query is None and chat is not None:
            over = self._over(("c", chat.id), self.chat, now)
        if over is None:
            return
        self.dropped += 1
        if not over.warned:
            over.warned = True
            await _tell(update, context)
        raise ApplicationHandlerStop

    def _over(
        self, key: tuple[str, int], limits: tuple[float, float], now: float
    ) -> Bucket | None:
        """The bucket for `key` if it is empty (the update must be dropped), else None."""
        bucket = self.buckets.get(key)
        if bucket is None:
            if len(self.buckets) >= MAX_BUCKETS:
                self._forget_full(now)
            bucket = self.buckets[key] = Bucket(limits[0], limits[1], limits[0], now)
        return None if bucket.take(now) else bucket

    def _forget_full(self, now: float) -> None:
        for key, bucket in list(self.buckets.items()):
            if bucket.tokens + (now - bucket.stamp) * bucket.per_second >= bucket.capacity:
                del self.buckets[key]


async def _tell(update: Update, context: BranchContext) -> None:
    """The one polite answer; the sender is not resolved yet, so Telegram's language is used."""
    settings = context.services.settings
    user = update.effective_user
    tr = translator(
        user.language_code if user else None,
        settings.default_timezone,
        default_locale=settings.default_locale,
    )
    text = tr.gettext("You are sending too much at once. Please wait a moment, then try again.")
    try:
        if update.callback_query is not None:
            await update.callback_query.answer(text, show_alert=True)
        elif update.effective_message is not None:
            await update.effective_message.reply_text(text)
    except TelegramError:
        pass  # telling them is a courtesy; the update is dropped either way
