"""A real Mosquitto broker on a free port, with a generated config (auth and ACL when asked)."""

from __future__ import annotations

import shutil
import socket
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from tests.support.waiting import wait_for


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _accepting(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.2):
            return True
    except OSError:
        return False


@dataclass
class Mosquitto:
    """A running broker; `url` is what clients use."""

    port: int
    folder: Path
    process: subprocess.Popen[bytes]
    users: dict[str, str] = field(default_factory=dict)

    @property
    def url(self) -> str:
        """mqtt:// URL."""
        return f"mqtt://127.0.0.1:{self.port}"

    def stop(self) -> None:
        """Terminate and reap."""
        self.process.terminate()
        try:
            self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=5)

    def log(self) -> str:
        """What the broker logged."""
        path = self.folder / "mosquitto.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def wait_disconnects(self, client_id: str, count: int, timeout: float = 10) -> bool:
        """Wait until the broker has logged `count` clean disconnects of `client_id`.

        Mosquitto reads one packet per socket per turn of its loop, so PUBACKs sent just
        before a DISCONNECT can still be unread when the next connection with the same
        client id takes the session over: that connection then gets those messages again.
        Its log line for the DISCONNECT means everything before it on that socket was read.
        """
        line = f"Client {client_id} disconnected."
        return wait_for(lambda: self.log().count(line) >= count, timeout)


def start_mosquitto(
    folder: Path,
    *,
    users: dict[str, str] | None = None,
    acl: str | None = None,
    extra: str = "",
    port: int | None = None,
    anonymous: bool = True,
    test_defaults: bool = True,
) -> Mosquitto:
    """Start `mosquitto -c` with a config written into `folder`.

    `test_defaults` adds the fast, memory-only settings most tests want; without them the
    caller's `extra` (e.g. the shipped `deploy/mosquitto/scgw.d/*.conf`) decides.
    """
    binary = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
    folder.mkdir(parents=True, exist_ok=True)
    port = port or free_port()
    lines = [
        f"listener {port} 127.0.0.1",
        f"log_dest file {folder / 'mosquitto.log'}",
        "log_type error",
        "log_type warning",
        "log_type notice",
        "user root",
    ]
    if test_defaults:
        lines += ["persistence false", "max_queued_messages 1000000",
                  "max_inflight_messages 0", "set_tcp_nodelay true"]
    if users:
        pwfile = folder / "passwd"
        pwfile.write_text("")
        for name, password in users.items():
            subprocess.run(
                ["mosquitto_passwd", "-b", str(pwfile), name, password],
                check=True, capture_output=True,
            )
        lines += ["allow_anonymous false", f"password_file {pwfile}"]
    else:
        lines.append(f"allow_anonymous {'true' if anonymous else 'false'}")
    if acl is not None:
        aclfile = folder / "acl"
        aclfile.write_text(acl)
        lines.append(f"acl_file {aclfile}")
    conf = folder / "mosquitto.conf"
    conf.write_text("\n".join(lines) + "\n" + extra)
    process = subprocess.Popen([binary, "-c", str(conf)], stderr=subprocess.PIPE)
    broker = Mosquitto(port, folder, process, dict(users or {}))
    if not wait_for(lambda: _accepting(port) or process.poll() is not None, timeout=10):
        broker.stop()
        raise RuntimeError("mosquitto did not start listening")
    if process.poll() is not None:
        err = process.stderr.read().decode() if process.stderr else ""
        raise RuntimeError(f"mosquitto exited: {err}\n{broker.log()}")
    return broker
