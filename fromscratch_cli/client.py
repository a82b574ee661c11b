"""The API over HTTP (standard library only), and where the login is kept."""

import json
import os
import urllib.error
import urllib.request
from pathlib import Path


class ApiError(Exception):
    def __init__(self, status: int, detail: str):
        super().__init__(detail)
        self.status, self.detail = status, detail


def config_path() -> Path:
    base = os.environ.get("XDG_CONFIG_HOME") or os.path.join(os.path.expanduser("~"), ".config")
    return Path(base) / "fromscratch" / "config.json"


def load_login() -> dict:
    """URL and token: the environment (FROMSCRATCH_URL, FROMSCRATCH_TOKEN) over the saved login."""
    saved = {}
    path = config_path()
    if path.exists():
        saved = json.loads(path.read_text())
    url = os.environ.get("FROMSCRATCH_URL") or saved.get("url")
    token = os.environ.get("FROMSCRATCH_TOKEN") or saved.get("token")
    if not url or not token:
        raise ApiError(0, "not logged in: run `fromscratch login --url https://… --token fs_…`")
    return {"url": url.rstrip("/"), "token": token}


def save_login(url: str, token: str) -> Path:
    path = config_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"url": url.rstrip("/"), "token": token}))
    path.chmod(0o600)  # the token acts as you
    return path


class Client:
    def __init__(self, url: str, token: str, timeout: float = 30):
        self.url, self.token, self.timeout = url.rstrip("/"), token, timeout

    def call(self, method: str, path: str, body: dict | None = None) -> tuple[int, dict]:
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(
            f"{self.url}/api/v1{path}",
            data=data,
            method=method,
            headers={"Authorization": f"Bearer {self.token}", "Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                return response.status, json.loads(response.read() or b"{}")
        except urllib.error.HTTPError as exc:
            try:
                detail = json.loads(exc.read()).get("detail") or exc.reason
            except ValueError:
                detail = exc.reason
            raise ApiError(exc.code, str(detail)) from None
        except urllib.error.URLError as exc:
            raise ApiError(0, f"cannot reach {self.url}: {exc.reason}") from None

    def get(self, path: str) -> dict:
        return self.call("GET", path)[1]

    def post(self, path: str, body: dict) -> dict:
        return self.call("POST", path, body)[1]
