"""A scriptable SMTP server for tests of the SMTP client (remote(8)): threads on a
loopback address, EHLO keywords chosen per test, STARTTLS with a given certificate,
AUTH PLAIN/LOGIN against one account, BDAT, and per-recipient replies. It records every
connection and every transaction it accepted.

    peer = SmtpPeer("127.0.0.1", port, rcpt_reply={"bad@x.test": "550 5.1.1 no"})
    peer.start() ... peer.messages -> [{"from", "rcpts", "data", "conn", "params"}]
"""

import base64
import socket
import ssl
import threading


class SmtpPeer:
    def __init__(self, host, port, name="mx.test", pipelining=True, eightbit=True,
                 chunking=False, size=0, dsn=True, smtputf8=False, tls_cert=None,
                 tls_key=None, tls_broken=False, auth=None, rcpt_reply=None, data_reply="250 2.0.0 queued",
                 greeting="220 {name} ESMTP test"):
        self.host, self.port, self.name = host, port, name
        self.pipelining, self.eightbit, self.chunking = pipelining, eightbit, chunking
        self.size, self.dsn, self.smtputf8 = size, dsn, smtputf8
        self.tls = None
        if tls_cert:
            self.tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            self.tls.load_cert_chain(tls_cert, tls_key)
            if tls_broken:  # offers STARTTLS, then shares no cipher with any client
                self.tls.maximum_version = ssl.TLSVersion.TLSv1_2
                self.tls.set_ciphers("eNULL:@SECLEVEL=0")
        self.auth = auth  # (user, password)
        self.rcpt_reply = rcpt_reply or {}
        self.data_reply = data_reply
        self.greeting = greeting.format(name=name)
        self.messages = []
        self.connections = 0
        self.transcripts = []
        self.lock = threading.Lock()
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        self.sock = socket.socket(family, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind((host, port))
        self.sock.listen(16)
        self.sock.settimeout(0.2)
        self.stopping = False
        self.thread = threading.Thread(target=self._accept, daemon=True)

    def start(self):
        self.thread.start()
        return self

    def stop(self):
        self.stopping = True
        self.thread.join(timeout=5)
        self.sock.close()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    def _accept(self):
        while not self.stopping:
            try:
                conn, _ = self.sock.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            with self.lock:
                self.connections += 1
                n = self.connections
            threading.Thread(target=self._serve, args=(conn, n), daemon=True).start()

    def _ehlo(self, tls_active):
        kw = []
        if self.pipelining:
            kw.append("PIPELINING")
        if self.size:
            kw.append(f"SIZE {self.size}")
        if self.eightbit:
            kw.append("8BITMIME")
        if self.dsn:
            kw.append("DSN")
        if self.chunking:
            kw.append("CHUNKING")
        if self.smtputf8:
            kw.append("SMTPUTF8")
        if self.tls and not tls_active:
            kw.append("STARTTLS")
        if self.auth:
            kw.append("AUTH PLAIN LOGIN")
        lines = [self.name] + kw
        return "".join(f"250{'-' if i < len(lines) - 1 else ' '}{l}\r\n"
                       for i, l in enumerate(lines))

    def _serve(self, conn, n):
        conn.settimeout(10)
        f = conn.makefile("rb")
        log = []
        self.transcripts.append(log)
        state = {"tls": False, "from": None, "rcpts": [], "params": ""}

        def send(text):
            conn.sendall(text.encode())

        def line():
            data = f.readline(10000)
            if not data:
                raise EOFError
            log.append(data.decode("utf-8", "replace").rstrip("\r\n"))
            return data.rstrip(b"\r\n").decode("utf-8", "surrogateescape")

        try:
            send(self.greeting + "\r\n")
            while True:
                cmd = line()
                verb = cmd.split(" ", 1)[0].upper()
                if verb == "EHLO":
                    send(self._ehlo(state["tls"]))
                elif verb == "HELO":
                    send(f"250 {self.name}\r\n")
                elif verb == "STARTTLS" and self.tls and not state["tls"]:
                    send("220 2.0.0 go ahead\r\n")
                    conn = self.tls.wrap_socket(conn, server_side=True)
                    f = conn.makefile("rb")
                    state["tls"] = True
                elif verb == "AUTH" and self.auth:
                    self._auth(cmd, send, line)
                elif verb == "MAIL":
                    state.update({"from": cmd[10:].split(">", 1)[0].lstrip("<"),
                                  "params": cmd.split(">", 1)[1].strip(), "rcpts": []})
                    send("250 2.1.0 ok\r\n")
                elif verb == "RCPT":
                    addr = cmd[8:].split(">", 1)[0].lstrip("<")
                    reply = self.rcpt_reply.get(addr, "250 2.1.5 ok")
                    if reply.startswith("2"):
                        state["rcpts"].append(addr)
                    send(reply + "\r\n")
                elif verb == "DATA":
                    if not state["rcpts"]:
                        send("554 5.5.1 no valid recipients\r\n")
                        continue
                    send("354 go ahead\r\n")
                    body = b""
                    while True:
                        d = f.readline(100000)
                        if not d:
                            raise EOFError
                        if d == b".\r\n":
                            break
                        body += d[1:] if d.startswith(b"..") else d
                    self._accept_msg(state, body, n)
                    send(self.data_reply + "\r\n")
                elif verb == "BDAT":
                    parts = cmd.split()
                    data = f.read(int(parts[1]))
                    state.setdefault("bdat", b"")
                    state["bdat"] += data
                    if len(parts) > 2:
                        self._accept_msg(state, state.pop("bdat"), n)
                        send(self.data_reply + "\r\n")
                    else:
                        send("250 2.0.0 chunk ok\r\n")
                elif verb == "RSET":
                    state.update({"from": None, "rcpts": []})
                    send("250 ok\r\n")
                elif verb == "QUIT":
                    send("221 bye\r\n")
                    break
                else:
                    send("502 5.5.2 unknown command\r\n")
        except (EOFError, OSError, ssl.SSLError):
            pass
        finally:
            conn.close()

    def _auth(self, cmd, send, line):
        parts = cmd.split()
        user, password = self.auth
        ok = False
        if parts[1].upper() == "PLAIN" and len(parts) == 3:
            ok = base64.b64decode(parts[2]) == b"\0" + user.encode() + b"\0" + password.encode()
        elif parts[1].upper() == "LOGIN":
            send("334 VXNlcm5hbWU6\r\n")
            u = base64.b64decode(line())
            send("334 UGFzc3dvcmQ6\r\n")
            p = base64.b64decode(line())
            ok = u == user.encode() and p == password.encode()
        send("235 2.7.0 ok\r\n" if ok else "535 5.7.8 bad credentials\r\n")

    def _accept_msg(self, state, body, n):
        with self.lock:
            self.messages.append({"from": state["from"], "rcpts": list(state["rcpts"]),
                                  "data": body, "conn": n, "params": state["params"],
                                  "tls": state["tls"]})
        state.update({"from": None, "rcpts": []})
