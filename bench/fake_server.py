"""The fake Bot API in its own process, so that the bot's CPU can be measured alone.

Started by bench/common.py as `fake_server.py SCALE [ROUND_TRIP_MS]`. Prints one JSON line
{"base_url", "token"} and then answers JSON commands read from stdin, one per line, with one
JSON line each:

    {"op": "start_users", "first": 10001, "count": 10000}
    {"op": "fail_next", "endpoint": "sendMessage", "status": 429, "retry_after": 30}
    {"op": "push_callback", "user_id": 10001, "data": "at1:5"}
    {"op": "push_command", "user_id": 10001, "name": "overdue"}
    {"op": "stats", "scale": 4.0}
    {"op": "quit"}
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.fakes import updates
from tests.fakes.bot_api import FakeTelegram, FloodLimits, Network
from tests.fakes.http_server import FakeBotApiServer, _Handler

# The handler writes a response's headers and body in two writes; with Nagle's algorithm on, the
# body then waits for the client's delayed ACK (~40 ms on Linux) - a stall real Telegram does not
# have, which would inflate latency and in-flight connections. Send at once, as servers do.
_Handler.disable_nagle_algorithm = True


def main() -> None:
    scale = float(sys.argv[1]) if len(sys.argv) > 1 else 1.0
    rtt = float(sys.argv[2]) / 1000 if len(sys.argv) > 2 else 0.0
    core = FakeTelegram(limits=FloodLimits(scale=scale), network=Network(round_trip=rtt))
    server = FakeBotApiServer(core, long_poll_cap=0.5).start()
    pushed: dict[str, float] = {}  # callback query id -> when it was made available
    commands: list[tuple[int, float]] = []  # (user id, when the command was made available)
    print(json.dumps({"base_url": server.base_url, "token": core.token}), flush=True)
    for line in sys.stdin:
        cmd = json.loads(line)
        op = cmd.pop("op")
        answer: object = True
        if op == "start_users":
            for uid in range(cmd["first"], cmd["first"] + cmd["count"]):
                core.started(uid)
        elif op == "fail_next":
            description = cmd.get("description", "Too Many Requests")
            core.fail_next(
                cmd["endpoint"], cmd["status"], description, retry_after=cmd.get("retry_after")
            )
        elif op == "push_callback":
            shown = core.last_message(cmd["user_id"]) or {}
            update = updates.callback_query(
                cmd["data"],
                user_id=cmd["user_id"],
                message_id=shown.get("message_id", 1),
                message_text=shown.get("text", "…"),
                reply_markup=shown.get("reply_markup"),
            )
            stored = core.push_update(update)
            pushed[stored["callback_query"]["id"]] = time.monotonic()
        elif op == "push_command":
            commands.append((cmd["user_id"], time.monotonic()))
            core.push_update(updates.command(cmd["name"], user_id=cmd["user_id"]))
        elif op == "stats":
            answer = stats(core, pushed, float(cmd.get("scale", scale)))
            answer["command_latencies"] = command_latencies(core, commands)
        elif op == "quit":
            break
        print(json.dumps(answer), flush=True)
    server.stop()


def command_latencies(core: FakeTelegram, commands: list[tuple[int, float]]) -> list[float]:
    """Seconds from each command to the bot's first message to its sender after it."""
    out = []
    for user, at in commands:
        replies = [
            c.t
            for c in core.calls
            if c.endpoint in ("sendMessage", "sendPhoto")
            and c.status == 200
            and c.params.get("chat_id") == user
            and c.t >= at
        ]
        if replies:
            out.append(min(replies) - at)
    return out


def stats(core: FakeTelegram, pushed: dict[str, float], scale: float) -> dict[str, object]:
    sends = [c for c in core.calls if c.endpoint == "sendMessage" and c.status == 200]
    answers = {
        str(c.params.get("callback_query_id")): c.t
        for c in core.calls
        if c.endpoint == "answerCallbackQuery" and c.status == 200
    }
    latencies = sorted(answers[q] - t for q, t in pushed.items() if q in answers)
    return {
        "server_cpu_s": time.process_time(),
        "sent": len(sends),
        "first": sends[0].t if sends else None,
        "last": sends[-1].t if sends else None,
        "http_429": core.count("sendMessage", status=429),
        "chats": len({c.params.get("chat_id") for c in sends}),
        # Telegram's limits scaled like the fake's: 1 per chat per 1/scale s, and
        # 20 per group per 60/scale s
        "max_private_per_window": core.max_per_window("private", 1.0 / scale),
        "max_group_per_window": core.max_per_window("group", 60.0 / scale),
        "callbacks_pushed": len(pushed),
        "callbacks_answered": len(latencies),
        "latencies": latencies,
    }


if __name__ == "__main__":
    main()
