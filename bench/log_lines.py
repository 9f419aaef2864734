"""What a log line costs (bot.logs): records per second through setup_logging's handler.

The server writes one aiohttp access line per request and a few lines per message, so at the
issue's 1,000 messages/s the handler runs a few thousand times a second. This formats typical
lines (an access line, a line with a customer's number, one with an exception) in JSON and in
text, masking included, into a stream that discards them, and prints records/s and µs/record.

    .venv/bin/python bench/log_lines.py [--records 20000]
"""

from __future__ import annotations

import argparse
import io
import logging
import time

from bot.logs import LogFormat, correlation, log_handler

ACCESS = ('%s [%s] "%s" %d %d "-" "%s"', (
    "127.0.0.1", "28/Nov/2026:03:18:59 +0000", "POST /webhook HTTP/1.1", 200, 16,
    "facebookexternalua"))
WITH_NUMBER = ("outbox row %s (%s) failed (%s, attempt %d), retry in %.1f s: %s", (
    1042, "whatsapp", "flaky", 1, 0.5, "(#131000) could not reach 15550002222 just now"))


class _Discard(io.TextIOBase):
    def write(self, text: str) -> int:
        return len(text)


def measure(log_format: LogFormat, records: int) -> dict[str, float]:
    logger = logging.getLogger(f"bench.{log_format}")
    logger.propagate = False
    logger.setLevel(logging.INFO)
    handler = log_handler(log_format, _Discard())  # type: ignore[arg-type]
    handler.redactor.add_secrets(["EAAGm0PX4ZCpsBAKZAB0TgZDZD", "test_app_secret"])
    logger.addHandler(handler)
    try:
        error = RuntimeError("the kitchen printer is on fire")
        results: dict[str, float] = {}
        for name, (message, args) in (("access line", ACCESS), ("with a number", WITH_NUMBER)):
            started = time.perf_counter()
            with correlation("5eeafd7d22e5"):
                for _ in range(records):
                    logger.info(message, *args)
            results[name] = records / (time.perf_counter() - started)
        started = time.perf_counter()
        for _ in range(records // 10):
            logger.error("delivery failed", exc_info=error)
        results["with an exception"] = (records // 10) / (time.perf_counter() - started)
        return results
    finally:
        logger.removeHandler(handler)


def main() -> None:
    options = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    options.add_argument("--records", type=int, default=20000)
    records = options.parse_args().records
    print(f"{'format':<6} {'line':<18} {'records/s':>10} {'µs/record':>10}")
    for log_format in ("json", "text"):
        for name, rate in measure(log_format, records).items():
            print(f"{log_format:<6} {name:<18} {rate:>10,.0f} {1e6 / rate:>10.1f}")


if __name__ == "__main__":
    main()
