"""Factories for Bot API ``Update`` JSON dicts, shaped like what Telegram really sends."""

from __future__ import annotations

import datetime as dt
import itertools
from typing import Any

from tests.fakes.clock import system_seconds

BOT_ID = 4242
BOT_USERNAME = "branchbot_test"
BOT_FIRST_NAME = "BranchBot"

_update_ids = itertools.count(500_000_001)
_message_ids = itertools.count(1)
_callback_ids = itertools.count(1)

DateLike = int | float | dt.datetime | None


def _date(value: DateLike) -> int:
    """Return Unix seconds for ``value`` (``None`` means now)."""
    if value is None:
        return int(system_seconds())
    if isinstance(value, dt.datetime):
        if value.tzinfo is None:
            raise ValueError("naive datetime given as an update date")
        return int(value.timestamp())
    return int(value)


def next_update_id() -> int:
    """Return a fresh update_id (``FakeTelegram.push_update`` renumbers anyway)."""
    return next(_update_ids)


def user(
    user_id: int = 1001,
    *,
    first_name: str | None = None,
    last_name: str | None = None,
    username: str | None = None,
    language_code: str | None = "en",
    is_bot: bool = False,
) -> dict[str, Any]:
    """Build a ``User`` dict."""
    data: dict[str, Any] = {
        "id": user_id,
        "is_bot": is_bot,
        "first_name": first_name or f"User{user_id}",
    }
    if last_name:
        data["last_name"] = last_name
    if username:
        data["username"] = username
    if language_code:
        data["language_code"] = language_code
    return data


def bot_user(
    bot_id: int = BOT_ID, username: str = BOT_USERNAME, first_name: str = BOT_FIRST_NAME
) -> dict[str, Any]:
    """Build the ``User`` dict of the bot itself."""
    return {"id": bot_id, "is_bot": True, "first_name": first_name, "username": username}


def private_chat(from_user: dict[str, Any]) -> dict[str, Any]:
    """Build the private ``Chat`` dict between the bot and ``from_user``."""
    chat: dict[str, Any] = {
        "id": from_user["id"],
        "type": "private",
        "first_name": from_user["first_name"],
    }
    for key in ("last_name", "username"):
        if key in from_user:
            chat[key] = from_user[key]
    return chat


def group_chat(
    chat_id: int = -1001234567890, *, title: str | None = None, chat_type: str = "supergroup"
) -> dict[str, Any]:
    """Build a group/supergroup ``Chat`` dict (ids are negative)."""
    if chat_id >= 0:
        raise ValueError(f"group chat ids are negative, got {chat_id}")
    return {"id": chat_id, "type": chat_type, "title": title or f"Group {chat_id}"}


def _chat_for(
    from_user: dict[str, Any], chat_id: int | None, chat_title: str | None
) -> dict[str, Any]:
    """Return the private chat when ``chat_id`` is None or the user's id, else a group chat."""
    if chat_id is None or chat_id == from_user["id"]:
        return private_chat(from_user)
    chat_type = "supergroup" if str(chat_id).startswith("-100") else "group"
    return group_chat(chat_id, title=chat_title, chat_type=chat_type)


def chat_instance(chat_id: int) -> str:
    """Return a stable opaque ``chat_instance`` for ``chat_id``."""
    return str(-(7_000_000_000_000_000_000 + abs(chat_id) * 7919 % 10**18))


def message_dict(
    text: str | None = None,
    *,
    user_id: int = 1001,
    chat_id: int | None = None,
    chat_title: str | None = None,
    first_name: str | None = None,
    username: str | None = None,
    language_code: str | None = "en",
    message_id: int | None = None,
    date: DateLike = None,
    entities: list[dict[str, Any]] | None = None,
    from_user: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Build a ``Message`` dict sent by a user (private chat unless ``chat_id`` is a group)."""
    sender = from_user or user(
        user_id, first_name=first_name, username=username, language_code=language_code
    )
    data: dict[str, Any] = {
        "message_id": message_id if message_id is not None else next(_message_ids),
        "from": sender,
        "chat": _chat_for(sender, chat_id, chat_title),
        "date": _date(date),
    }
    if text is not None:
        data["text"] = text
    if entities:
        data["entities"] = entities
    return data


def message(
    text: str,
    *,
    user_id: int = 1001,
    chat_id: int | None = None,
    chat_title: str | None = None,
    first_name: str | None = None,
    username: str | None = None,
    language_code: str | None = "en",
    message_id: int | None = None,
    date: DateLike = None,
    entities: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """Build an ``Update`` carrying a text message from a user."""
    return {
        "update_id": next_update_id(),
        "message": message_dict(
            text,
            user_id=user_id,
            chat_id=chat_id,
            chat_title=chat_title,
            first_name=first_name,
            username=username,
            language_code=language_code,
            message_id=message_id,
            date=date,
            entities=entities,
        ),
    }


def command(
    name: str,
    *args: str,
    user_id: int = 1001,
    chat_id: int | None = None,
    chat_title: str | None = None,
    bot_username: str | None = None,
    first_name: str | None = None,
    username: str | None = None,
    language_code: str | None = "en",
    message_id: int | None = None,
    date: DateLike = None,
) -> dict[str, Any]:
    """Build an ``Update`` with ``/name[@bot] args...`` and its ``bot_command`` entity."""
    head = "/" + name.lstrip("/") + (f"@{bot_username}" if bot_username else "")
    text = " ".join([head, *args])
    entity = {"type": "bot_command", "offset": 0, "length": len(head)}
    return message(
        text,
        user_id=user_id,
        chat_id=chat_id,
        chat_title=chat_title,
        first_name=first_name,
        username=username,
        language_code=language_code,
        message_id=message_id,
        date=date,
        entities=[entity],
    )


def callback_query(
    data: str,
    *,
    user_id: int = 1001,
    chat_id: int | None = None,
    chat_title: str | None = None,
    message_id: int = 1,
    message_text: str = "…",
    reply_markup: dict[str, Any] | None = None,
    first_name: str | None = None,
    username: str | None = None,
    language_code: str | None = "en",
    query_id: str | None = None,
    date: DateLike = None,
    bot_id: int = BOT_ID,
    bot_username: str = BOT_USERNAME,
) -> dict[str, Any]:
    """Build an ``Update`` for a tap on an inline button of a message the bot sent."""
    presser = user(user_id, first_name=first_name, username=username, language_code=language_code)
    chat = _chat_for(presser, chat_id, chat_title)
    bot_message: dict[str, Any] = {
        "message_id": message_id,
        "from": bot_user(bot_id, bot_username),
        "chat": chat,
        "date": _date(date) - 60,
        "text": message_text,
    }
    if reply_markup is not None:
        bot_message["reply_markup"] = reply_markup
    return {
        "update_id": next_update_id(),
        "callback_query": {
            "id": query_id or f"{abs(user_id)}{next(_callback_ids):07d}",
            "from": presser,
            "message": bot_message,
            "chat_instance": chat_instance(chat["id"]),
            "data": data,
        },
    }


def chat_member(status: str, member: dict[str, Any]) -> dict[str, Any]:
    """Build a ``ChatMember`` dict with every field PTB requires for ``status``."""
    data: dict[str, Any] = {"status": status, "user": member}
    if status == "creator":
        data["is_anonymous"] = False
    elif status == "administrator":
        data |= {
            "can_be_edited": False,
            "is_anonymous": False,
            **{
                f"can_{right}": True
                for right in (
                    "manage_chat",
                    "delete_messages",
                    "manage_video_chats",
                    "restrict_members",
                    "promote_members",
                    "change_info",
                    "invite_users",
                    "post_stories",
                    "edit_stories",
                    "delete_stories",
                    "pin_messages",
                    "manage_topics",
                )
            },
        }
    elif status == "restricted":
        data |= {
            "is_member": True,
            "until_date": 0,
            **{
                f"can_{right}": False
                for right in (
                    "change_info",
                    "invite_users",
                    "pin_messages",
                    "send_messages",
                    "send_polls",
                    "send_other_messages",
                    "add_web_page_previews",
                    "manage_topics",
                    "send_audios",
                    "send_documents",
                    "send_photos",
                    "send_videos",
                    "send_video_notes",
                    "send_voice_notes",
                    "edit_tag",
                )
            },
        }
    elif status == "kicked":
        data["until_date"] = 0
    elif status not in ("member", "left"):
        raise ValueError(f"unknown chat member status {status!r}")
    return data


def my_chat_member(
    *,
    new_status: str,
    old_status: str = "member",
    user_id: int = 1001,
    chat_id: int | None = None,
    chat_title: str | None = None,
    first_name: str | None = None,
    username: str | None = None,
    language_code: str | None = "en",
    date: DateLike = None,
    bot_id: int = BOT_ID,
    bot_username: str = BOT_USERNAME,
) -> dict[str, Any]:
    """Build a ``my_chat_member`` ``Update``: the bot's status changed in a chat by ``user_id``.

    In a private chat ``new_status="kicked"`` means the user blocked the bot and
    ``"member"`` (from ``"kicked"``) means they unblocked/restarted it.
    """
    actor = user(user_id, first_name=first_name, username=username, language_code=language_code)
    me = bot_user(bot_id, bot_username)
    return {
        "update_id": next_update_id(),
        "my_chat_member": {
            "chat": _chat_for(actor, chat_id, chat_title),
            "from": actor,
            "date": _date(date),
            "old_chat_member": chat_member(old_status, me),
            "new_chat_member": chat_member(new_status, me),
        },
    }
