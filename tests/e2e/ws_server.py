"""A small WebSocket server (RFC 6455) over TLS, standing in for ChatGPT's ws.chatgpt.com socket.

It accepts the browser's upgrade, keeps every open socket, and sends text frames to all of them
(`broadcast`); what the page sends is read and discarded, a close frame ends the socket. Only
what the stand-in needs: no extensions, no fragmentation on send.
"""

from __future__ import annotations

import base64
import hashlib
import socket
import ssl
import struct
import threading

SOCKET_HOST = "ws.chatgpt.com"
_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"  # RFC 6455 §1.3


class SocketHub:
    def __init__(self, cert: str, key: str) -> None:
        self.context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.context.load_cert_chain(cert, key)
        self.clients: list[ssl.SSLSocket] = []
        self.lock = threading.Lock()
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port: int = self.listener.getsockname()[1]
        self.running = True

    def start(self) -> None:
        threading.Thread(target=self._accept, daemon=True).start()

    def stop(self) -> None:
        self.running = False
        self.listener.close()
        with self.lock:
            for c in self.clients:
                c.close()
            self.clients.clear()

    def _accept(self) -> None:
        while self.running:
            try:
                raw, _ = self.listener.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(raw,), daemon=True).start()

    def _serve(self, raw: socket.socket) -> None:
        try:
            conn = self.context.wrap_socket(raw, server_side=True)
            request = b""
            while b"\r\n\r\n" not in request:
                chunk = conn.recv(4096)
                if not chunk:
                    return
                request += chunk
            headers = dict(line.split(": ", 1) for line in request.decode("latin-1").split("\r\n")[1:] if ": " in line)
            key = {k.lower(): v for k, v in headers.items()}["sec-websocket-key"]
            accept = base64.b64encode(hashlib.sha1((key + _GUID).encode()).digest()).decode()
            conn.sendall(("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                          f"Sec-WebSocket-Accept: {accept}\r\n\r\n").encode())
            with self.lock:
                self.clients.append(conn)
            self._read(conn)
        except (OSError, KeyError, ValueError):
            return

    def _read(self, conn: ssl.SSLSocket) -> None:
        """Read and discard the page's frames (subscriptions); a close frame or EOF drops the socket."""
        def exact(n: int) -> bytes:
            out = b""
            while len(out) < n:
                chunk = conn.recv(n - len(out))
                if not chunk:
                    raise OSError("socket closed")
                out += chunk
            return out

        try:
            while True:
                b0, b1 = exact(2)
                length = b1 & 0x7F
                if length == 126:
                    length = struct.unpack("!H", exact(2))[0]
                elif length == 127:
                    length = struct.unpack("!Q", exact(8))[0]
                mask = exact(4) if b1 & 0x80 else b""
                exact(length)
                if b0 & 0x0F == 0x8:
                    break
                del mask
        except OSError:
            pass
        with self.lock:
            if conn in self.clients:
                self.clients.remove(conn)
        conn.close()

    def broadcast(self, text: str) -> int:
        """Send one text frame to every open socket; answer how many got it."""
        payload = text.encode()
        n = len(payload)
        if n < 126:
            header = struct.pack("!BB", 0x81, n)
        elif n < 65536:
            header = struct.pack("!BBH", 0x81, 126, n)
        else:
            header = struct.pack("!BBQ", 0x81, 127, n)
        sent = 0
        with self.lock:
            for c in list(self.clients):
                try:
                    c.sendall(header + payload)
                    sent += 1
                except OSError:
                    self.clients.remove(c)
        return sent
