"""A local OpenAI-compatible HTTP endpoint (POST /v1/chat/completions, streaming or not) for
tests and for replaying recorded tutor replies through the real `openai` client.

`responder(request_json)` returns the reply text, or one of the failure modes:
  Hang(seconds)   accept the request and say nothing
  Garbage()       answer 200 with bytes that are not an OpenAI response
  Status(code)    answer with that HTTP error
"""

import json
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Hang:
    seconds: float = 30.0


@dataclass
class Garbage:
    body: bytes = b"<html>upstream proxy error</html>"


@dataclass
class Status:
    code: int = 503


class FakeOpenAI:
    def __init__(self, responder):
        self.responder = responder
        self.requests = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(length) or b"{}")
                server.requests.append(body)
                if not self.path.endswith("/chat/completions"):
                    return self._send(404, b'{"error": {"message": "not found"}}')
                reply = server.responder(body)
                if isinstance(reply, Hang):
                    time.sleep(reply.seconds)
                    return self._send(504, b"{}")
                if isinstance(reply, Garbage):
                    return self._send(200, reply.body, "application/json")
                if isinstance(reply, Status):
                    return self._send(
                        reply.code, json.dumps({"error": {"message": "fake failure", "type": "server_error"}}).encode()
                    )
                tokens_in = sum(len(m.get("content", "")) for m in body.get("messages", [])) // 4
                if not body.get("stream"):
                    payload = {
                        "id": "chatcmpl-fake",
                        "object": "chat.completion",
                        "created": int(time.time()),
                        "model": body.get("model"),
                        "choices": [
                            {"index": 0, "message": {"role": "assistant", "content": reply}, "finish_reason": "stop"}
                        ],
                        "usage": {
                            "prompt_tokens": tokens_in,
                            "completion_tokens": len(reply) // 4,
                            "total_tokens": tokens_in + len(reply) // 4,
                        },
                    }
                    return self._send(200, json.dumps(payload).encode(), "application/json")
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.send_header("Cache-Control", "no-cache")
                self.send_header("Connection", "close")
                self.end_headers()
                for i in range(0, len(reply), 8):
                    self._event(
                        {"choices": [{"index": 0, "delta": {"content": reply[i : i + 8]}, "finish_reason": None}]}, body
                    )
                self._event({"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]}, body)
                self._event(
                    {
                        "choices": [],
                        "usage": {
                            "prompt_tokens": tokens_in,
                            "completion_tokens": len(reply) // 4,
                            "total_tokens": tokens_in + len(reply) // 4,
                        },
                    },
                    body,
                )
                self.wfile.write(b"data: [DONE]\n\n")
                self.wfile.flush()
                self.close_connection = True

            def _event(self, data, body):
                data = {
                    "id": "chatcmpl-fake",
                    "object": "chat.completion.chunk",
                    "created": int(time.time()),
                    "model": body.get("model"),
                    **data,
                }
                self.wfile.write(b"data: " + json.dumps(data).encode() + b"\n\n")
                self.wfile.flush()

            def _send(self, code, payload, ctype="application/json"):
                self.send_response(code)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.httpd.shutdown()
        self.httpd.server_close()
