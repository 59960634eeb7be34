"""bench.py: the shared machinery of the benchmark suites (stdlib only).

Runs each workload against estafette and a peer alternately (A B A B ...), so a noisy
machine slows both alike; reports per system the median and spread (min..max) and the
ratio estafette/peer of the medians, appends them to build/bench/results.json and draws
build/bench/ratios.svg. Peers come from Debian's packages and run as instances of their
own in a temporary directory on loopback ports. Trusts: the local machine; every network
read has a timeout and every loop a bound.
"""

import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time

TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
QUICK = os.environ.get("BENCH_QUICK") == "1"
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "3" if QUICK else "5"))
# workloads of one process or more per message (SMTP, sendmail, relay, logins) take
# minutes per round at default sizes: three rounds keep `make bench` within 30 minutes
SLOW_ROUNDS = int(os.environ.get("BENCH_ROUNDS", "3"))
OUT_DIR = os.path.join(TOP, "build", "bench")
TIMEOUT = 60.0
USER, PASSWORD = "bench@example.test", "bench-password-1"


def build_dir():
    b = os.environ.get("BUILD", "build")
    return b if os.path.isabs(b) else os.path.join(TOP, b)


def say(msg):
    print(msg, flush=True)


SETUP = {}  # what -> [seconds]: the set-up time of the suite, outside the timed runs


def setup_time(what, seconds):
    SETUP.setdefault(what, []).append(seconds)


class timed:
    """with timed("postfix start"): ... adds the block's wall time to SETUP."""

    def __init__(self, what):
        self.what = what

    def __enter__(self):
        self.t0 = time.perf_counter()
        return self

    def __exit__(self, *exc):
        setup_time(self.what, time.perf_counter() - self.t0)
        return False


def say_setup():
    """One line per suite: where its time went outside the measured runs."""
    if SETUP:
        parts = [f"{w} {sum(v):.1f} s" + (f" ({len(v)}x)" if len(v) > 1 else "")
                 for w, v in SETUP.items()]
        say("   set-up: " + ", ".join(parts))


# -- measuring ----------------------------------------------------------------

def alternate(name, systems, rounds=ROUNDS, setup=None):
    """systems: [(label, fn)]; fn() runs the workload once and returns seconds (or None
    to have it timed here). Runs A B A B ... rounds times; returns {label: [seconds]}."""
    times = {label: [] for label, _ in systems}
    for r in range(rounds):
        for label, fn in systems:
            if setup:
                with timed("between rounds"):
                    setup(label)
            t0 = time.perf_counter()
            got = fn()
            times[label].append(got if got is not None else time.perf_counter() - t0)
    return times


def report(suite, workload, times, unit_count=None, unit="msg", note=None, notes=None):
    """Print median/spread per system and ratios estafette/peer; record them as JSON.
    Ratio > 1 means estafette takes longer (time ratio); rates are given beside."""
    notes = notes or {}
    rows = {}
    for label, ts in times.items():
        med = statistics.median(ts)
        rows[label] = {"median_s": med, "min_s": min(ts), "max_s": max(ts), "runs": ts}
        if unit_count:
            rows[label]["rate_per_s"] = unit_count / med if med > 0 else None
    say(f"-- {workload}" + (f" ({note})" if note else ""))
    for label, row in rows.items():
        rate = f"  {row['rate_per_s']:9.1f} {unit}/s" if unit_count else ""
        extra = f"  [{notes[label]}]" if label in notes else ""
        say(f"   {label:<10} median {row['median_s']:8.3f} s  spread {row['min_s']:.3f}.."
            f"{row['max_s']:.3f}{rate}{extra}")
    ratios = {}
    if "estafette" in rows:
        for label, row in rows.items():
            if label != "estafette" and row["median_s"] > 0:
                ratios[label] = rows["estafette"]["median_s"] / row["median_s"]
                say(f"   ratio time estafette/{label} = {ratios[label]:.2f}"
                    f"  ({'faster' if ratios[label] < 1 else 'slower'} by "
                    f"{max(ratios[label], 1 / ratios[label]):.2f}x)")
    record({"suite": suite, "workload": workload, "note": note, "notes": notes,
            "count": unit_count, "unit": unit, "systems": rows, "ratio_time": ratios,
            "quick": QUICK, "rounds": len(next(iter(times.values()))),
            "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "nproc": os.cpu_count(), "loadavg": os.getloadavg()})


def report_values(suite, workload, values, unit, note=None, notes=None):
    """Like report(), for a measured quantity (memory, counts): median and spread per
    system and the ratio estafette/peer of the medians (below 1: estafette uses less)."""
    notes = notes or {}
    rows = {}
    for label, vs in values.items():
        rows[label] = {"median": statistics.median(vs), "min": min(vs), "max": max(vs),
                       "runs": vs}
    say(f"-- {workload}" + (f" ({note})" if note else ""))
    for label, row in rows.items():
        extra = f"  [{notes[label]}]" if label in notes else ""
        say(f"   {label:<10} median {row['median']:10.1f} {unit}  spread {row['min']:.1f}.."
            f"{row['max']:.1f}{extra}")
    ratios = {}
    if "estafette" in rows:
        for label, row in rows.items():
            if label != "estafette" and row["median"] > 0:
                ratios[label] = rows["estafette"]["median"] / row["median"]
                say(f"   ratio {unit} estafette/{label} = {ratios[label]:.2f}")
    record({"suite": suite, "workload": workload, "note": note, "notes": notes,
            "unit": unit, "systems": rows, "ratio_value": ratios, "quick": QUICK,
            "rounds": len(next(iter(values.values()))),
            "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "nproc": os.cpu_count(), "loadavg": os.getloadavg()})


def record(entry):
    os.makedirs(OUT_DIR, exist_ok=True)
    path = os.path.join(OUT_DIR, "results.json")
    try:
        with open(path) as f:
            data = json.load(f)
    except (FileNotFoundError, ValueError):
        data = []
    data = [d for d in data if (d["suite"], d["workload"]) != (entry["suite"], entry["workload"])]
    data.append(entry)
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        json.dump(data, f, indent=1)
    os.rename(tmp, path)
    write_svg(data, os.path.join(OUT_DIR, "ratios.svg"))


def record_wall(suite, seconds, load0, load1, status="0"):
    """bench/run's entry per suite: its wall time and the load average around it."""
    record({"suite": suite, "workload": "wall time", "wall_s": int(seconds),
            "loadavg_start": [float(x) for x in load0.split()],
            "loadavg_end": [float(x) for x in load1.split()], "exit": int(status),
            "quick": QUICK, "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "nproc": os.cpu_count()})


def write_svg(data, path):
    """A horizontal bar per (workload, peer): time ratio estafette/peer on a log-free
    linear scale, with a line at 1 (equal); shorter than 1 = estafette faster."""
    bars = [(f"{d['suite']}: {d['workload']} vs {p}", r)
            for d in data for key in ("ratio_time", "ratio_value")
            for p, r in sorted(d.get(key, {}).items())]
    width, left, h = 1000, 470, 22
    # a scale long enough for the usual ratios; longer bars are cut (their number shows)
    top = min(max([r for _, r in bars] + [2.0]), 8.0)
    scale = (width - left - 60) / top
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" '
           f'height="{40 + h * len(bars)}" font-family="sans-serif" font-size="12">',
           '<text x="10" y="18">ratio estafette/peer of time, memory or count '
           '(below 1: estafette faster or smaller)</text>']
    for i, (label, r) in enumerate(bars):
        y = 30 + i * h
        color = "#3a7" if r <= 1 else "#c54"
        esc = label.replace("&", "&amp;").replace("<", "&lt;")
        out.append(f'<text x="10" y="{y + 14}">{esc}</text>')
        w = min(r, top) * scale
        out.append(f'<rect x="{left}" y="{y + 3}" width="{w:.1f}" height="{h - 6}" '
                   f'fill="{color}"/>')
        out.append(f'<text x="{left + w + 4:.1f}" y="{y + 14}">'
                   f'{r:.2f}{" (cut)" if r > top else ""}</text>')
    x1 = left + scale
    out.append(f'<line x1="{x1:.1f}" y1="26" x2="{x1:.1f}" y2="{30 + h * len(bars)}" '
               'stroke="#000" stroke-dasharray="3,3"/>')
    out.append("</svg>")
    with open(path, "w") as f:
        f.write("\n".join(out) + "\n")


# -- peers from Debian ----------------------------------------------------------

def ensure_packages(pkgs):
    """Install the Debian packages missing; returns the ones that could not be."""
    missing = [p for p in pkgs if subprocess.run(
        ["dpkg-query", "-W", "-f=${Status}", p], capture_output=True,
        text=True).stdout.strip() != "install ok installed"]
    if not missing:
        return []
    say(f"bench: installing {' '.join(missing)} from Debian")
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    r = subprocess.run(["apt-get", "install", "-y"] + missing, env=env,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    if r.returncode != 0:
        subprocess.run(["apt-get", "update"], env=env, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL)
        subprocess.run(["apt-get", "install", "-y"] + missing, env=env,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    # the packages may start system instances: they are not ours to measure
    for svc in ("postfix", "dovecot"):
        subprocess.run(["service", svc, "stop"], stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL)
    return [p for p in missing if subprocess.run(
        ["dpkg-query", "-W", "-f=${Status}", p], capture_output=True,
        text=True).stdout.strip() != "install ok installed"]


def wait_port(port, what, timeout=20.0):
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.1)
    raise SystemExit(f"bench: {what} did not listen on {port} within {timeout:.0f} s")


def free_base_port():
    """A base port B with B+25, B+110, B+143 free (estafette adds standard ports)."""
    for _ in range(50):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            base = s.getsockname()[1] // 1000 * 1000 - 2000
        if base < 10000 or base > 60000:
            continue
        ok = True
        for off in (25, 110, 143, 465, 587, 993, 995, 200, 201, 202):
            with socket.socket() as s:
                try:
                    s.bind(("127.0.0.1", base + off))
                except OSError:
                    ok = False
        if ok:
            return base
    raise SystemExit("bench: no free base port")


class Tmp:
    def __init__(self, tag):
        self.path = tempfile.mkdtemp(prefix=f"bench-{tag}-")
        os.chmod(self.path, 0o755)  # peers' unprivileged users walk through it

    def cleanup(self):
        shutil.rmtree(self.path, ignore_errors=True)


class Estafette:
    """An estafette instance through scripts/sandbox (foreground, its own root)."""

    def __init__(self, tmp, base, etc=None):
        """etc: {file name: text} written into etc/estafette before the instance starts
        (remote.routes, remote.conf, ...: read by the daemons at their start)."""
        self.root = os.path.join(tmp, "estafette")
        self.base = base
        self.smtp, self.pop3, self.imap = base + 25, base + 110, base + 143
        self.submission = base + 587
        self.courierd = None  # a courierd started here (start_courierd)
        self.courierd_log = os.path.join(tmp, "courierd.out")
        if etc:
            d = os.path.join(self.root, "etc", "estafette")
            os.makedirs(d, exist_ok=True)
            for name, text in etc.items():
                with open(os.path.join(d, name), "w") as f:
                    f.write(text)
                os.chmod(os.path.join(d, name), 0o644)
        t0 = time.perf_counter()
        env = dict(os.environ, ESTAFETTE_BUILD=build_dir())
        self.log = open(os.path.join(tmp, "sandbox.out"), "wb")
        self.proc = subprocess.Popen(
            [os.path.join(TOP, "scripts", "sandbox"), "--root", self.root, "--base-port",
             str(base), "--foreground", "--no-build", "--build-dir", build_dir(),
             "--user", f"{USER}:{PASSWORD}"], env=env, stdout=self.log,
            stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        try:
            for port, what in ((self.smtp, "estafette smtpd"), (self.pop3, "estafette pop3"),
                               (self.imap, "estafette imap")):
                wait_port(port, what, 60)
        except SystemExit:
            self.stop()
            raise
        local, domain = USER.split("@")
        self.maildir = os.path.join(self.root, "mail", domain, local, "Maildir")
        st = os.stat(self.maildir)
        self.uid, self.gid = st.st_uid, st.st_gid
        setup_time("estafette start", time.perf_counter() - t0)

    def password_hash(self, address=USER):
        """The account's hash from etc/estafette/userdb (the userdb(8) source file)."""
        with open(os.path.join(self.root, "etc", "estafette", "userdb")) as f:
            for line in f:
                name, _, fields = line.rstrip("\n").partition("\t")
                if name == address:
                    for field in fields.split("|"):
                        if field.startswith("systempw="):
                            return field[len("systempw="):]
        raise SystemExit(f"bench: no password hash for {address} in estafette's userdb")

    def set_password_hash(self, pwhash, address=USER):
        """Store a ready-made crypt(3) hash as the account's systempw and compile;
        authd picks it up at its next lookup."""
        userdb = os.path.join(self.root, "sbin", "userdb")
        for argv, data in (([userdb, address, "set", f"systempw={pwhash}"], None),
                           ([userdb, "compile"], None)):
            r = subprocess.run(argv, input=data, text=True, env=self.env(),
                               capture_output=True, timeout=TIMEOUT)
            if r.returncode != 0:
                raise SystemExit(f"bench: {' '.join(argv[1:])}: {r.stderr.strip()}")

    def env(self):
        return dict(os.environ, ESTAFETTE_ROOT=self.root, ESTAFETTE_LOG="stderr",
                    ESTAFETTE_BASE_PORT=str(self.base))

    def pids(self):
        """Every process of the instance (the sandbox and its descendants, and a
        courierd started here with its modules)."""
        got = descendants(self.proc.pid)
        if self.courierd and self.courierd.poll() is None:
            got |= descendants(self.courierd.pid)
        return got

    def courierd_pid(self):
        path = os.path.join(self.root, "libexec", "estafette", "courierd")
        for pid in self.pids():
            if exe_of(pid) == path:
                return pid
        return None

    def stop_courierd(self):
        """Stop the queue runner (the sandbox's or ours): what is queued stays queued."""
        if self.courierd and self.courierd.poll() is None:
            stop_proc(self.courierd)
            self.courierd = None
            return
        pid = self.courierd_pid()
        if pid:
            os.kill(pid, signal.SIGTERM)
            wait_gone(pid, "estafette courierd")
        # its modules end when it closes their sockets
        for _ in range(100):
            if not any(exe_of(p).endswith(("/deliver-spawn", "/remote"))
                       for p in self.pids()):
                break
            time.sleep(0.1)

    def start_courierd(self):
        """Start courierd as the sandbox does (it drops privileges itself)."""
        log = open(self.courierd_log, "ab")
        self.courierd = subprocess.Popen(
            [os.path.join(self.root, "libexec", "estafette", "courierd")], env=self.env(),
            stdout=log, stderr=log, stdin=subprocess.DEVNULL)
        log.close()
        return self.courierd

    def queue_dir(self):
        return os.path.join(self.root, "var", "spool", "estafette")

    def queue_count(self):
        return count_files(os.path.join(self.queue_dir(), "ctl"))

    def clear_queue(self):
        """Empty the queue (only while courierd is stopped)."""
        for sub in ("ctl", "msg", "tmp"):
            remove_files(os.path.join(self.queue_dir(), sub))

    def sendmail(self, recipients, data, extra=()):
        r = subprocess.run([os.path.join(self.root, "sbin", "sendmail"), "-i", *extra, "--",
                            *recipients], input=data, env=self.env(),
                           capture_output=True, timeout=TIMEOUT)
        if r.returncode != 0:
            raise SystemExit(f"bench: estafette sendmail failed: {r.stderr.decode()[-300:]}")

    def stop(self):
        t0 = time.perf_counter()
        if self.courierd and self.courierd.poll() is None:
            stop_proc(self.courierd)
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        setup_time("estafette stop", time.perf_counter() - t0)


class Dovecot:
    """Dovecot from Debian, its own config/base_dir in TMP, passwd-file userdb, loopback
    ports. The master runs as root (it must, to switch to the mail user); the mail
    processes run as nobody."""

    def __init__(self, tmp, base, pwhash=None):
        """pwhash: a crypt(3) hash for the passdb ({CRYPT}), e.g. estafette's own,
        so that both verify the same password scheme; default {PLAIN}."""
        self.dir = os.path.join(tmp, "dovecot")
        os.makedirs(self.dir)
        self.pop3, self.imap = base + 200, base + 201
        import pwd
        nobody = pwd.getpwnam("nobody")
        self.uid, self.gid = nobody.pw_uid, nobody.pw_gid
        self.home = os.path.join(self.dir, "home")
        self.maildir = os.path.join(self.home, "Maildir")
        for sub in ("cur", "new", "tmp"):
            os.makedirs(os.path.join(self.maildir, sub))
        chown_tree(self.home, self.uid, self.gid)
        with open(os.path.join(self.dir, "passwd"), "w") as f:
            pw = f"{{CRYPT}}{pwhash}" if pwhash else f"{{PLAIN}}{PASSWORD}"
            f.write(f"{USER}:{pw}:{self.uid}:{self.gid}::{self.home}::\n")
        self.conf = os.path.join(self.dir, "dovecot.conf")
        d = self.dir
        with open(self.conf, "w") as f:
            f.write(f"""base_dir = {d}/run
state_dir = {d}/state
log_path = {d}/dovecot.log
protocols = imap pop3
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain
first_valid_uid = 1
last_valid_uid = 0
passdb {{
  driver = passwd-file
  args = {d}/passwd
}}
userdb {{
  driver = passwd-file
  args = {d}/passwd
}}
mail_location = maildir:~/Maildir
pop3_uidl_format = %08Xu%08Xv
# the default 10 per user and address would refuse the memory workload's connections
mail_max_userip_connections = 1000
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {self.imap}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
service pop3-login {{
  inet_listener pop3 {{
    address = 127.0.0.1
    port = {self.pop3}
  }}
  inet_listener pop3s {{
    port = 0
  }}
}}
""")
        t0 = time.perf_counter()
        daemon_start(["dovecot", "-c", self.conf], "dovecot", self.dir)
        try:
            wait_port(self.pop3, "dovecot pop3")
            wait_port(self.imap, "dovecot imap")
        except SystemExit:
            self.stop()
            raise
        setup_time("dovecot start", time.perf_counter() - t0)

    def pids(self):
        return descendants(read_pid(os.path.join(self.dir, "run", "master.pid")))

    def stop(self):
        """SIGTERM to the master, as `dovecot stop` sends, but waited for by polling
        every 20 ms (`dovecot stop` took 2.3 s here)."""
        t0 = time.perf_counter()
        stop_master(os.path.join(self.dir, "run", "master.pid"), "dovecot",
                    ["dovecot", "-c", self.conf, "stop"])
        setup_time("dovecot stop", time.perf_counter() - t0)


class Postfix:
    """Postfix from Debian: config_directory and queue_directory in TMP, smtpd on a
    loopback port, delivery by virtual(8) into a Maildir owned by nobody."""

    def __init__(self, tmp, base, extra="", tag="postfix"):
        """extra: more main.cf lines (e.g. to hold mail in the queue, or a relayhost)."""
        import pwd
        self.dir = os.path.join(tmp, tag)
        self.conf = os.path.join(self.dir, "etc")
        os.makedirs(self.conf)
        os.makedirs(os.path.join(self.dir, "queue"))
        os.makedirs(os.path.join(self.dir, "data"))
        pf = pwd.getpwnam("postfix")
        os.chown(os.path.join(self.dir, "data"), pf.pw_uid, pf.pw_gid)
        self.smtp = base + 202
        nobody = pwd.getpwnam("nobody")
        self.uid, self.gid = nobody.pw_uid, nobody.pw_gid
        self.vbase = os.path.join(self.dir, "vmail")
        self.maildir = os.path.join(self.vbase, "bench", "Maildir")
        for sub in ("cur", "new", "tmp"):
            os.makedirs(os.path.join(self.maildir, sub))
        chown_tree(self.vbase, self.uid, self.gid)
        d = self.dir
        with open(os.path.join(self.conf, "main.cf"), "w") as f:
            f.write(f"""compatibility_level = 3.6
queue_directory = {d}/queue
data_directory = {d}/data
mail_owner = postfix
setgid_group = postdrop
myhostname = bench.example.net
mydestination =
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
maillog_file = {d}/maillog
maillog_file_prefixes = {d}
smtpd_banner = $myhostname ESMTP
virtual_mailbox_domains = example.test
virtual_mailbox_base = {self.vbase}
virtual_mailbox_maps = inline:{{ {USER}=bench/Maildir/ }}
virtual_uid_maps = static:{self.uid}
virtual_gid_maps = static:{self.gid}
virtual_minimum_uid = 1
smtpd_forbid_bare_newline = yes
""" + extra)
        with open("/etc/postfix/master.cf") as f:
            lines = f.read().splitlines()
        out = [f"127.0.0.1:{self.smtp} inet n - n - - smtpd"]
        for line in lines:
            fields = line.split()
            if not fields or line[0] in "# \t" or fields[1] == "inet":
                continue
            if len(fields) >= 8 and fields[1] in ("unix", "unix-dgram", "fifo", "pass"):
                fields[4] = "n"  # no chroot: the queue is in TMP
                out.append(" ".join(fields))
        with open(os.path.join(self.conf, "master.cf"), "w") as f:
            f.write("\n".join(out) + "\n")
        t0 = time.perf_counter()
        daemon_start(["postfix", "-c", self.conf, "start"], "postfix", self.dir)
        try:
            wait_port(self.smtp, "postfix smtpd")
        except SystemExit:
            self.stop()
            raise
        setup_time("postfix start", time.perf_counter() - t0)

    def pids(self):
        return descendants(read_pid(os.path.join(self.dir, "queue", "pid", "master.pid")))

    def queue_count(self):
        q = os.path.join(self.dir, "queue")
        return sum(count_files(os.path.join(q, d))
                   for d in ("maildrop", "incoming", "active", "deferred", "hold"))

    def clear_queue(self):
        """Empty the queue files (only while nothing picks them up: qmgr disabled)."""
        for d in ("maildrop", "incoming", "active", "deferred", "hold", "defer", "bounce"):
            remove_files(os.path.join(self.dir, "queue", d))

    def sendmail(self, recipients, data, extra=()):
        r = subprocess.run(["/usr/sbin/sendmail", "-C", self.conf, "-i", *extra, "--",
                            *recipients], input=data, capture_output=True, timeout=TIMEOUT)
        if r.returncode != 0:
            raise SystemExit(f"bench: postfix sendmail failed: {r.stderr.decode()[-300:]}")

    def stop(self):
        """SIGTERM to the master, as `postfix stop` sends (it then polls once a second;
        master.pid stays behind, so waiting for it to go cost a fixed 10 s a stop)."""
        t0 = time.perf_counter()
        stop_master(os.path.join(self.dir, "queue", "pid", "master.pid"), "postfix",
                    ["postfix", "-c", self.conf, "stop"])
        setup_time("postfix stop", time.perf_counter() - t0)


def stop_master(pidfile, what, fallback):
    """Stop a daemon's master by SIGTERM and wait until it is gone (it stops its
    children); without a live master run fallback (its own stop command)."""
    pid = read_pid(pidfile)
    try:
        if pid is None:
            raise ProcessLookupError
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        subprocess.run(fallback, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        return
    wait_gone(pid, what, timeout=30)


def daemon_start(argv, what, logdir):
    """Start a daemon that forks away: its output into a file (a pipe would stay open)."""
    with open(os.path.join(logdir, "start.out"), "w+") as out:
        r = subprocess.run(argv, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                           timeout=TIMEOUT)
        out.seek(0)
        if r.returncode != 0:
            raise SystemExit(f"bench: {what} did not start: {out.read().strip()}")


def chown_tree(top, uid, gid):
    for dirpath, dirs, files in os.walk(top):
        os.chown(dirpath, uid, gid)
        for name in files:
            os.chown(os.path.join(dirpath, name), uid, gid)


# -- processes and memory ---------------------------------------------------------

def read_pid(path):
    try:
        with open(path) as f:
            return int(f.read().split()[0])
    except (OSError, ValueError, IndexError):
        return None


def descendants(top):
    """top and every process below it (from /proc, one pass)."""
    if not top:
        return set()
    children = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat") as f:
                ppid = int(f.read().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        children.setdefault(ppid, []).append(int(name))
    out, todo = set(), [top]
    while todo:
        pid = todo.pop()
        if pid not in out:
            out.add(pid)
            todo.extend(children.get(pid, []))
    return out


def exe_of(pid):
    try:
        return os.readlink(f"/proc/{pid}/exe")
    except OSError:
        return ""


def pss_kib(pids):
    """Sum of the proportional set sizes of pids (shared pages split among sharers)."""
    total = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/smaps_rollup") as f:
                for line in f:
                    if line.startswith("Pss:"):
                        total += int(line.split()[1])
                        break
        except OSError:
            pass
    return total


def status_kib(pid, field):
    """VmRSS, VmHWM, ... of pid in KiB (None if gone)."""
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def wait_gone(pid, what, timeout=20.0):
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            with open(f"/proc/{pid}/stat") as f:
                if f.read().rsplit(")", 1)[1].split()[0] == "Z":
                    return
        except OSError:
            return
        time.sleep(0.05)
    raise SystemExit(f"bench: {what} (pid {pid}) did not stop within {timeout:.0f} s")


def stop_proc(p):
    if p.poll() is None:
        p.terminate()
        try:
            p.wait(timeout=20)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()


def count_files(top):
    n = 0
    for _, _, files in os.walk(top):
        n += len(files)
    return n


def remove_files(top):
    for dirpath, _, files in os.walk(top):
        for name in files:
            try:
                os.unlink(os.path.join(dirpath, name))
            except FileNotFoundError:
                pass


def wait_for(cond, what, timeout=600.0, step=0.01):
    """Poll cond() until true; a bounded wait that names what it waited for."""
    deadline = time.time() + timeout
    while not cond():
        if time.time() > deadline:
            raise SystemExit(f"bench: timed out ({timeout:.0f} s) waiting for {what}")
        time.sleep(step)


def smtp_source(port, count, sessions, size, to=None):
    """Postfix's smtp-source: count messages of size bytes over sessions concurrent
    sessions, each kept open for its share of the messages (-d)."""
    argv = ["smtp-source", "-d", "-s", str(sessions), "-m", str(count), "-l", str(size),
            "-f", "sender@example.org", "-t", to or USER, "-M", "client.example.org",
            f"127.0.0.1:{port}"]
    r = subprocess.run(argv, capture_output=True, timeout=TIMEOUT * 20)
    if r.returncode != 0 or r.stderr.strip():
        raise SystemExit(f"bench: smtp-source to {port} failed: {r.stderr.decode()[-300:]}")


# -- corpus ---------------------------------------------------------------------

def message(i, size=1024):
    """Message i of the deterministic corpus, CRLF-free (LF) as stored in a Maildir."""
    head = (f"From: Sender {i % 97} <sender{i % 97}@example.org>\n"
            f"To: Bench <{USER}>\nSubject: message {i} of the corpus\n"
            f"Date: Sun, 22 Nov 2026 03:{i % 60:02d}:00 +0000\n"
            f"Message-ID: <{i}.bench@example.org>\nMIME-Version: 1.0\n"
            "Content-Type: text/plain; charset=us-ascii\n\n")
    body = []
    n = len(head)
    j = 0
    while n < size:
        line = f"line {j} of message {i}: the quick brown fox jumps over the lazy dog\n"
        body.append(line)
        n += len(line)
        j += 1
    return (head + "".join(body))[:size - 1] + "\n"


def fill_maildir(maildir, n, uid, gid, size=1024):
    """n messages in cur/ (seen by neither server before), owned by uid:gid."""
    t0 = time.perf_counter()
    cur = os.path.join(maildir, "cur")
    for i in range(n):
        data = message(i, size).encode()
        name = os.path.join(cur, f"{1700000000 + i}.M{i}P1.bench,S={len(data)}:2,")
        with open(name, "wb") as f:
            f.write(data)
        os.chown(name, uid, gid)
    setup_time("corpus written", time.perf_counter() - t0)


def clear_maildir(maildir):
    for sub in ("cur", "new", "tmp"):
        d = os.path.join(maildir, sub)
        for name in os.listdir(d):
            os.unlink(os.path.join(d, name))


def count_new(maildir):
    return len(os.listdir(os.path.join(maildir, "new")))


# -- a small line client ------------------------------------------------------------

class Conn:
    def __init__(self, port):
        self.s = socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT)
        self.s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.f = self.s.makefile("rb")

    def send(self, data):
        self.s.sendall(data.encode() if isinstance(data, str) else data)

    def line(self):
        ln = self.f.readline(1 << 20)
        if not ln:
            raise SystemExit("bench: connection closed by the server")
        return ln

    def close(self):
        try:
            self.f.close()
            self.s.close()
        except OSError:
            pass


def main_guard(fn):
    # a SIGTERM (timeout, make) still runs the suites' finally: every instance stopped
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(143))
    try:
        fn()
    except KeyboardInterrupt:
        sys.exit(130)
    finally:
        say_setup()
