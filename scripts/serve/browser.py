#!/usr/bin/env python3
"""The page at `/` in headless Chromium (Debian's `chromium` package), driven over the DevTools
protocol (`websocket-client` from PyPI): load the page, submit each served panel (similarity,
classification, a streamed chat answer), read the streamed answer from the DOM once it is done,
and save a screenshot. Exits non-zero if the answer never arrives.

    cargo run --release --example serve -- --embeddings minilm --classifier runs/text_classification --generator smollm2 &
    ~/.cache/tinderbox-compare/venv/bin/python scripts/serve/browser.py --url http://127.0.0.1:8080 --out docs/serving/page.png
"""
import argparse
import base64
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request

import websocket


class Tab:
    """One page over the DevTools protocol."""

    def __init__(self, ws_url):
        self.ws = websocket.create_connection(ws_url, timeout=60)
        self.next_id = 0

    def call(self, method, **params):
        self.next_id += 1
        self.ws.send(json.dumps({"id": self.next_id, "method": method, "params": params}))
        while True:
            reply = json.loads(self.ws.recv())
            if reply.get("id") == self.next_id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply["result"]

    def eval(self, expression):
        result = self.call("Runtime.evaluate", expression=expression, returnByValue=True)
        return result["result"].get("value")

    def wait(self, expression, seconds):
        deadline = time.time() + seconds
        while time.time() < deadline:
            if self.eval(expression):
                return True
            time.sleep(0.2)
        return False


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--url", default="http://127.0.0.1:8080")
    p.add_argument("--out", default="runs/serve-browser/page.png")
    p.add_argument("--seconds", type=float, default=120)
    a = p.parse_args()
    chromium = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
    if not chromium:
        sys.exit("no chromium: apt-get install chromium")
    profile = tempfile.mkdtemp()
    port = 9333
    browser = subprocess.Popen(
        [chromium, "--headless=new", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
         f"--remote-debugging-port={port}", f"--remote-allow-origins=http://127.0.0.1:{port}",
         f"--user-data-dir={profile}", "--window-size=900,1000",
         "about:blank"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    try:
        for _ in range(100):
            try:
                targets = json.load(urllib.request.urlopen(f"http://127.0.0.1:{port}/json"))
                page = next(t for t in targets if t["type"] == "page")
                break
            except (OSError, StopIteration):
                time.sleep(0.1)
        else:
            sys.exit("chromium did not start")
        tab = Tab(page["webSocketDebuggerUrl"])
        tab.call("Page.enable")
        tab.call("Page.navigate", url=a.url + "/")
        if not tab.wait("document.body && document.body.dataset.ready === 'yes'", 30):
            sys.exit("the page did not load")
        print(tab.eval("document.getElementById('models').textContent"))
        started = time.time()
        for button, output in [("similarity-button", "similarity"),
                               ("classify-button", "classification")]:
            if not tab.eval(f"document.getElementById('{button}').disabled"):
                tab.eval(f"document.getElementById('{button}').click()")
                tab.wait(f"!document.getElementById('{output}').textContent.startsWith('…') && "
                         f"document.getElementById('{output}').textContent.length > 0", 30)
                print(f"{output}: {tab.eval(f'document.getElementById({output!r}).textContent')}")
        ok = True
        if not tab.eval("document.getElementById('chat-button').disabled"):
            tab.eval("document.getElementById('chat-button').click()")
            ok = tab.wait("document.body.dataset.chat === 'done'", a.seconds)
            answer = tab.eval("document.getElementById('answer').textContent")
            status = tab.eval("document.getElementById('chat-status').textContent")
            print(f"answer: {answer!r}\nstatus: {status} ({time.time() - started:.1f} s)")
            ok = ok and bool(answer.strip())
        shot = tab.call("Page.captureScreenshot", format="png")
        os.makedirs(os.path.dirname(os.path.abspath(a.out)), exist_ok=True)
        with open(a.out, "wb") as f:
            f.write(base64.b64decode(shot["data"]))
        print(f"screenshot: {a.out}")
        sys.exit(0 if ok else 1)
    finally:
        browser.terminate()
        browser.wait(timeout=10)
        shutil.rmtree(profile, ignore_errors=True)


if __name__ == "__main__":
    main()
