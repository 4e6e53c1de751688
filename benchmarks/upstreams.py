#!/usr/bin/env python3
"""Gateway cost vs number of upstreams (BENCHMARKS.md, "Scaling").

usage: benchmarks/upstreams.py WARDEN_BINARY [N ...]        (default N: 1 10 20 40)

For each N, starts `warden serve` on its built-in default config (apikey auth, input
secrets/pii/injection, output secrets/injection, the tools guardrail) with N demo
upstreams (`warden demo-server`, 4 tools each: the default one plus N-1 `--upstream`s),
then measures: spawn -> "Warden listening" (every upstream started and listed, every
tool screened), tools/list and tools/call (demo__echo, 1 KiB) p50 over 200 sequential
requests on one session (a new TCP connection per request), VmRSS of the gateway and
of its upstream children. The first run warms the plugin cache and is not reported.
"""
import http.client, json, os, re, socket, statistics, subprocess, sys, tempfile, time

KEY = "wdn_scale_key_0123456789"
REQUESTS = 200
TMP = tempfile.mkdtemp(prefix="warden-upstreams-")


def rss_mib(pid):
    with open(f"/proc/{pid}/status") as f:
        return next(int(l.split()[1]) for l in f if l.startswith("VmRSS")) / 1024


def run(warden, n):
    args = [warden, "serve", "--listen", "127.0.0.1:0"]
    for i in range(2, n + 1):
        args += ["--upstream", f"d{i}=stdio:{warden} demo-server"]
    env = dict(os.environ, WARDEN_API_KEY=KEY, XDG_CACHE_HOME=f"{TMP}/cache",
               XDG_STATE_HOME=f"{TMP}/state-{n}-{time.time()}", RUST_LOG="warn,warden=info")
    env.pop("WARDEN_CONFIG", None)
    started = time.monotonic()
    gateway = subprocess.Popen(args, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, env=env, text=True)
    port = None
    for line in gateway.stderr:
        m = re.search(r"Warden listening on http://127.0.0.1:(\d+)/mcp", line)
        if m:
            port = int(m.group(1))
            break
    listening_ms = (time.monotonic() - started) * 1000
    headers = {"Content-Type": "application/json", "Accept": "application/json, text/event-stream",
               "Authorization": f"Bearer {KEY}"}

    def post(body, session=None):
        c = http.client.HTTPConnection("127.0.0.1", port)
        c.connect()
        c.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        h = dict(headers, **({"Mcp-Session-Id": session} if session else {}))
        c.request("POST", "/mcp", json.dumps(body).encode(), h)
        r = c.getresponse()
        data = r.read().decode()
        c.close()
        assert r.status in (200, 202), (r.status, data)
        return r, data

    init = {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "scale", "version": "0"}}
    r, _ = post({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": init})
    session = r.getheader("mcp-session-id")
    post({"jsonrpc": "2.0", "method": "notifications/initialized"}, session)

    def p50(body):
        times = []
        for _ in range(REQUESTS):
            t = time.perf_counter()
            _, data = post(body, session)
            times.append((time.perf_counter() - t) * 1000)
        return statistics.median(times), data

    list_ms, data = p50({"jsonrpc": "2.0", "id": 2, "method": "tools/list"})
    answer = next(l for l in reversed(data.splitlines()) if l.startswith("data:") and "result" in l)
    tools = len(json.loads(answer[5:])["result"]["tools"])
    echo = {"name": "demo__echo", "arguments": {"message": "lorem ipsum " * 85}}
    call_ms, _ = p50({"jsonrpc": "2.0", "id": 3, "method": "tools/call", "params": echo})
    with open(f"/proc/{gateway.pid}/task/{gateway.pid}/children") as f:
        children = [int(c) for c in f.read().split()]
    row = (n, tools, listening_ms, list_ms, call_ms, rss_mib(gateway.pid), sum(rss_mib(c) for c in children))
    gateway.kill()
    gateway.wait()
    return row


def main():
    warden = sys.argv[1]
    counts = [int(n) for n in sys.argv[2:]] or [1, 10, 20, 40]
    run(warden, 1)  # warms the plugin cache
    print("| upstreams | tools | spawn → listening (ms) | tools/list p50 (ms) | tools/call p50 (ms) "
          "| gateway RSS (MiB) | upstreams' RSS (MiB) |")
    print("|---:|---:|---:|---:|---:|---:|---:|")
    for n in counts:
        row = run(warden, n)
        print("| %d | %d | %.0f | %.2f | %.2f | %.1f | %.1f |" % row, flush=True)


if __name__ == "__main__":
    main()
