"""Fetching a course dataset from the internet, as a worker may: over https only, from public
addresses only, and no more bytes than the course declared.

A course's `url` is written by an author, and workers fetch it from inside the platform's
network. So the URL is an attack surface (server-side request forgery): `http://`, a host that
resolves to 127.0.0.1, 10.x, 169.254.169.254 (the cloud metadata service) or any other private,
loopback, link-local or reserved address, and a redirect to one are all refused. The address
that was checked is the one connected to (the connection is pinned to it, so a second DNS answer
cannot swap it), and every redirect is checked again. Proxies from the environment are ignored
on purpose: a proxy would make the address check meaningless.
"""

import http.client
import ipaddress
import socket
import ssl
import urllib.parse

TIMEOUT_SECONDS = 30
MAX_REDIRECTS = 5
CHUNK = 1 << 20


class FetchRefused(Exception):
    """The URL, an address it resolves to, a redirect or the response broke the rules. The text
    is for instructors (it names the URL and the reason); learners never see it."""


def address_problem(text: str) -> str | None:
    """Why a worker must not connect to this IP address, or None for a public one."""
    try:
        ip = ipaddress.ip_address(text.split("%", 1)[0])
    except ValueError:
        return f"{text} is not an IP address"
    if ip.version == 6 and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    for test, what in (
        ("is_loopback", "a loopback address"),
        ("is_link_local", "a link-local address"),
        ("is_unspecified", "an unspecified address"),
        ("is_multicast", "a multicast address"),
        ("is_private", "a private address"),
        ("is_reserved", "a reserved address"),
    ):
        if getattr(ip, test):
            return f"{ip} is {what}"
    if not ip.is_global:
        return f"{ip} is not a public address"
    return None


def url_problem(url: str, allow=address_problem) -> str | None:
    """What is wrong with a dataset URL before any lookup (also run by `course validate`)."""
    try:
        parts = urllib.parse.urlsplit(url)
        port = parts.port
    except ValueError as exc:
        return f"{url!r} is not a valid URL ({exc})"
    if parts.scheme != "https":
        shown = f"{parts.scheme}://" if parts.scheme else "a URL without a scheme"
        return f"only https:// URLs are fetched, not {shown}"
    if not parts.hostname:
        return "the URL has no host"
    if parts.username or parts.password:
        return "the URL must not carry a user name or password"
    if port == 0:
        return "the URL's port must not be 0"
    try:
        ipaddress.ip_address(parts.hostname)
    except ValueError:
        return None  # a name: checked once resolved
    problem = allow(parts.hostname)
    return f"{problem}; datasets are fetched only from public addresses" if problem else None


def resolve(host: str, port: int) -> list[str]:
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError as exc:
        raise FetchRefused(f"{host} does not resolve ({exc.strerror or exc})") from None
    return list(dict.fromkeys(info[4][0] for info in infos))


class _PinnedHTTPSConnection(http.client.HTTPSConnection):
    """HTTPS to one checked address, with the host name kept for SNI and certificate checks."""

    def __init__(self, host, port, address, **kwargs):
        super().__init__(host, port, **kwargs)
        self._address = address

    def connect(self):
        sock = socket.create_connection((self._address, self.port), self.timeout)
        self.sock = self._context.wrap_socket(sock, server_hostname=self.host)


def fetch(
    url: str, out, *, max_bytes: int, timeout: float = TIMEOUT_SECONDS, context=None, allow=address_problem
) -> int:
    """Write the body at `url` to the binary file `out`; return the byte count. `allow` decides
    which addresses may be connected to (None = allowed); tests narrow it, nothing widens it."""
    context = context or ssl.create_default_context()
    for _hop in range(MAX_REDIRECTS + 1):
        problem = url_problem(url, allow)
        if problem:
            raise FetchRefused(f"{url}: {problem}")
        parts = urllib.parse.urlsplit(url)
        try:
            addresses = resolve(parts.hostname, parts.port or 443)
        except FetchRefused as exc:
            raise FetchRefused(f"{url}: {exc}") from None
        for address in addresses:
            bad = allow(address)
            if bad:
                raise FetchRefused(
                    f"{url}: {parts.hostname} resolves to {address}, and {bad}; "
                    "datasets are fetched only from public addresses"
                )
        conn = _PinnedHTTPSConnection(parts.hostname, parts.port or 443, addresses[0], timeout=timeout, context=context)
        try:
            target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
            conn.request("GET", target, headers={"User-Agent": "fromscratch-datasets/1", "Accept-Encoding": "identity"})
            response = conn.getresponse()
            if response.status in (301, 302, 303, 307, 308):
                location = response.getheader("Location")
                if not location:
                    raise FetchRefused(f"{url}: HTTP {response.status} redirect without a Location")
                url = urllib.parse.urljoin(url, location)
                continue
            if response.status != 200:
                raise FetchRefused(f"{url}: HTTP {response.status} {response.reason}")
            declared = response.getheader("Content-Length")
            if declared and declared.isdigit() and int(declared) > max_bytes:
                raise FetchRefused(f"{url}: the server sends {declared} bytes, more than the declared {max_bytes}")
            written = 0
            while chunk := response.read(CHUNK):
                written += len(chunk)
                if written > max_bytes:
                    raise FetchRefused(f"{url}: the server sent more than the declared {max_bytes} bytes")
                out.write(chunk)
            return written
        except (OSError, http.client.HTTPException) as exc:
            raise FetchRefused(f"{url}: {exc}") from None
        finally:
            conn.close()
    raise FetchRefused(f"{url}: more than {MAX_REDIRECTS} redirects")
