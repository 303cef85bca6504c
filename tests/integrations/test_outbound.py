"""The outbound URL policy: private and local networks refused when a URL is saved and when it
is used, the checked address the one connected to, redirects never followed."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest
import trustme

from integrations.outbound import OutboundPolicy, category, parse_networks
from sync.errors import Invalid, Refused, Transient
from tests.support.base import LOCAL_RECEIVERS
from tests.support.chat import Answer, Receiver, receiver, trust

BODY = {"text": "PLAT · weekly OKR digest"}


class Dns:
    """A resolver the test scripts: each call takes the next answer (the last one repeats)."""

    def __init__(self, *answers: Sequence[str]) -> None:
        self.answers = list(answers)
        self.calls: list[str] = []

    def __call__(self, host: str, port: int) -> Sequence[str]:
        self.calls.append(host)
        if not self.answers:
            raise OSError("does not resolve")
        return self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]


@pytest.mark.parametrize(
    "address,expected",
    [
        ("127.0.0.1", "loopback"),
        ("127.9.9.9", "loopback"),
        ("::1", "loopback"),
        ("10.1.2.3", "private"),
        ("172.16.0.1", "private"),
        ("172.31.255.254", "private"),
        ("192.168.1.1", "private"),
        ("fc00::1", "private"),
        ("fd12:3456::1", "private"),
        ("169.254.169.254", "link-local"),
        ("fe80::1", "link-local"),
        ("100.64.0.1", "carrier-grade NAT"),
        ("100.127.255.254", "carrier-grade NAT"),
        ("224.0.0.1", "multicast"),
        ("ff02::1", "multicast"),
        ("0.0.0.0", "unspecified"),  # noqa: S104 (an address judged, not bound)
        ("::", "unspecified"),
        ("::ffff:127.0.0.1", "loopback"),
        ("::ffff:169.254.169.254", "link-local"),
        ("::ffff:10.0.0.1", "private"),
        ("64:ff9b::a9fe:a9fe", "link-local"),  # NAT64 form of 169.254.169.254
        ("2002:a00:1::1", "private"),  # 6to4 form of 10.0.0.1
        ("192.0.2.10", "reserved"),  # documentation
        ("255.255.255.255", "reserved"),
        ("8.8.8.8", None),
        ("172.32.0.1", None),
        ("100.128.0.1", None),
        ("2606:4700:4700::1111", None),
        ("::ffff:8.8.8.8", None),
    ],
)
def test_each_address_is_judged_by_its_network(address: str, expected: str | None) -> None:
    assert category(ipaddress.ip_address(address)) == expected


def test_allowed_networks_are_parsed_and_a_bad_one_names_the_setting() -> None:
    assert [str(n) for n in parse_networks(" 10.0.0.0/8, ,127.0.0.1/32,fd00::/8")] == [
        "10.0.0.0/8",
        "127.0.0.1/32",
        "fd00::/8",
    ]
    with pytest.raises(ValueError, match="OKRLINK_OUTBOUND_ALLOW_NETWORKS: intranet is not"):
        parse_networks("10.0.0.0/8,intranet")


@pytest.mark.parametrize(
    "url,code",
    [
        ("https://127.0.0.1/hook", "url_not_allowed"),
        ("https://localhost/hook", "url_not_allowed"),
        ("https://10.0.0.7/hook", "url_not_allowed"),
        ("https://[::1]:8443/hook", "url_not_allowed"),
        ("https://169.254.169.254/latest/meta-data/", "url_not_allowed"),
        ("https://[::ffff:a9fe:a9fe]/latest", "url_not_allowed"),
        ("https://internal.example/hook", "url_not_allowed"),  # resolves to 10.0.0.9
        ("https://split.example/hook", "url_not_allowed"),  # one public, one private address
        ("http://hooks.example/hook", "url_not_https"),
        ("ftp://hooks.example/hook", "url_not_https"),
        ("https://user:pw@hooks.example/hook", "url_invalid"),
        ("https://hooks.example/ho\nok", "url_invalid"),
        ("https://hooks.example", "url_invalid"),
        ("https://hooks.example:99999/hook", "url_invalid"),
        ("https://" + "a" * 2000 + ".example/x", "url_invalid"),
    ],
)
def test_a_url_is_refused_when_saved_with_a_code_and_the_url_field(url: str, code: str) -> None:
    names = {
        "localhost": ["127.0.0.1"],
        "internal.example": ["10.0.0.9"],
        "split.example": ["8.8.8.8", "10.0.0.9"],
        "hooks.example": ["8.8.4.4"],
    }
    policy = OutboundPolicy(resolve=lambda host, _port: names[host])
    with pytest.raises(Invalid) as caught:
        policy.check(url)
    assert (caught.value.field, caught.value.code) == ("url", code)
    assert "10.0.0.9" not in caught.value.message  # what a name resolves to is not told


def test_a_public_url_is_saved_stripped_and_an_unresolvable_one_is_left_to_the_send() -> None:
    policy = OutboundPolicy(resolve=Dns(["8.8.4.4"]))
    assert policy.check("  https://hooks.example/services/x?a=1 ") == (
        "https://hooks.example/services/x?a=1"
    )
    assert OutboundPolicy(resolve=Dns()).check("https://gone.example/x") == "https://gone.example/x"


def test_an_allowed_network_and_dev_loopback_open_what_they_say_and_no_more() -> None:
    internal = OutboundPolicy(allow_networks=parse_networks("10.0.0.0/8"))
    assert internal.check("https://10.2.3.4/hook") == "https://10.2.3.4/hook"
    with pytest.raises(Invalid):
        internal.check("https://192.168.0.1/hook")
    with pytest.raises(Invalid, match="only https"):
        internal.check("http://10.2.3.4/hook")
    dev = OutboundPolicy(dev=True, resolve=Dns(["127.0.0.1", "::1"]))
    assert (
        dev.check("http://localhost:8080/dev/chat/slack") == "http://localhost:8080/dev/chat/slack"
    )
    assert dev.check("https://[::1]/hook") == "https://[::1]/hook"
    for refused in ("http://8.8.8.8/hook", "https://10.0.0.1/hook", "http://0.0.0.0:8080/x"):
        with pytest.raises(Invalid):
            dev.check(refused)


# --- at send time --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture
def trusted(ca: trustme.CA, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", trust(ca, tmp_path))
    monkeypatch.delenv("SSL_CERT_FILE", raising=False)


@pytest.fixture
def hooks(ca: trustme.CA, trusted: None) -> Iterator[Receiver]:
    """A receiver whose certificate names `hooks.test` only (not its address)."""
    with receiver(tls=ca, names=("hooks.test",)) as found:
        yield found


def local_policy(dns: Dns) -> OutboundPolicy:
    return OutboundPolicy(allow_networks=parse_networks(LOCAL_RECEIVERS), resolve=dns)


def port_of(found: Receiver) -> int:
    return int(found.base_url.rsplit(":", 1)[1])


def test_a_post_goes_to_the_checked_address_with_the_host_name_for_tls(hooks: Receiver) -> None:
    dns = Dns(["127.0.0.1"], ["10.9.9.9"])  # a second lookup would rebind to a private address
    answer = local_policy(dns).post_json(f"https://hooks.test:{port_of(hooks)}/services/x", BODY)
    assert answer.status == 200 and answer.body == b"ok"
    assert dns.calls == ["hooks.test"]  # one lookup: the address checked is the one used
    (post,) = hooks.posts
    assert (post.path, post.body) == ("/services/x", BODY)
    assert post.headers["Host"] == f"hooks.test:{port_of(hooks)}"


def test_a_host_that_rebinds_to_a_private_address_at_send_time_reaches_nothing(
    hooks: Receiver,
) -> None:
    policy = OutboundPolicy(resolve=Dns(["8.8.8.8"], ["127.0.0.1"]))
    url = f"https://hooks.test:{port_of(hooks)}/hook"
    assert policy.check(url) == url  # public when saved
    with pytest.raises(Refused) as caught:
        policy.post_json(url, BODY)  # loopback when used
    assert "loopback address" in caught.value.message
    assert hooks.posts == []


def test_the_certificate_is_checked_against_the_host_name_not_the_address(
    ca: trustme.CA, trusted: None
) -> None:
    with receiver(tls=ca, names=("other.test",)) as other:
        url = f"https://hooks.test:{port_of(other)}/hook"
        with pytest.raises(Transient, match="SSL"):
            local_policy(Dns(["127.0.0.1"])).post_json(url, BODY)
    assert other.posts == []


def test_a_host_that_does_not_resolve_is_transient_at_send_time() -> None:
    with pytest.raises(Transient, match="does not resolve"):
        OutboundPolicy(resolve=Dns()).post_json("https://gone.example/hook", BODY)


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
def test_a_redirect_is_refused_and_never_followed(
    status: int, ca: trustme.CA, hooks: Receiver
) -> None:
    with receiver(tls=ca) as metadata:
        location = metadata.url("/latest/meta-data/iam")
        hooks.answer_next(Answer(status, "moved to the metadata service", {"Location": location}))
        with pytest.raises(Refused) as caught:
            local_policy(Dns(["127.0.0.1"])).post_json(
                f"https://hooks.test:{port_of(hooks)}/hook", BODY
            )
    assert caught.value.status == status
    assert "redirect" in caught.value.message
    assert "meta-data" not in caught.value.message and "metadata" not in caught.value.message
    assert len(hooks.posts) == 1 and metadata.posts == []
