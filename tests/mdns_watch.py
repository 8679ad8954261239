"""
Watch _chatproto._tcp services and print what happens, one line each,
flushed: ``add NAME PEOPLE``, ``update NAME PEOPLE``, ``remove NAME``.  For
the tests, which run it in a network namespace; it stops when its stdin
closes, or after a minute.
"""

from __future__ import annotations

import sys
import threading

from zeroconf import ServiceBrowser, ServiceListener, Zeroconf

from chatproto.discovery import SERVICE_TYPE, configured_interfaces


def people(zc: Zeroconf, name: str) -> str:
    info = zc.get_service_info(SERVICE_TYPE, name, timeout=1000)
    if info is None:
        return "?"
    return (info.properties.get(b"people") or b"?").decode()


class Printer(ServiceListener):
    def __init__(self) -> None:
        self.lock = threading.Lock()

    def say(self, text: str) -> None:
        with self.lock:
            print(text, flush=True)

    def add_service(self, zc: Zeroconf, type_: str, name: str) -> None:
        self.say(f"add {name} {people(zc, name)}")

    def update_service(self, zc: Zeroconf, type_: str, name: str) -> None:
        self.say(f"update {name} {people(zc, name)}")

    def remove_service(self, zc: Zeroconf, type_: str, name: str) -> None:
        self.say(f"remove {name}")


def main() -> None:
    zc = Zeroconf(interfaces=configured_interfaces() or ["127.0.0.1"])
    ServiceBrowser(zc, SERVICE_TYPE, Printer())
    print("watching", flush=True)
    stop = threading.Event()
    threading.Thread(target=lambda: (sys.stdin.read(), stop.set()), daemon=True).start()
    stop.wait(60)
    zc.close()


if __name__ == "__main__":
    main()
