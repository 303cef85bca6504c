"""`OKRLINK_SECRET_KEY`: required outside development, several keys, HKDF-derived signing keys."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest
from cryptography.fernet import Fernet, InvalidToken

from sync.keys import (
    CSRF_LABEL,
    DEV_KEY_FILE,
    DEV_TOKEN_LABEL,
    OAUTH_STATE_LABEL,
    SecretKeyError,
    load_keys,
)

OLD = Fernet.generate_key().decode()
NEW = Fernet.generate_key().decode()


def test_without_a_key_outside_development_it_refuses_naming_the_setting(tmp_path: Path) -> None:
    with pytest.raises(SecretKeyError, match="OKRLINK_SECRET_KEY is not set"):
        load_keys("", data_dir=tmp_path, dev=False)
    with pytest.raises(SecretKeyError, match="OKRLINK_SECRET_KEY"):
        load_keys(" , ", data_dir=tmp_path, dev=False)
    assert not (tmp_path / DEV_KEY_FILE).exists()  # no key file beside the data


def test_a_malformed_key_is_refused_without_repeating_it(tmp_path: Path) -> None:
    with pytest.raises(SecretKeyError) as refused:
        load_keys(f"{NEW},replace-with-a-fernet-key", data_dir=tmp_path, dev=False)
    assert "key 2 of 2 is not a Fernet key" in str(refused.value)
    assert "replace-with" not in str(refused.value)


def test_in_development_a_missing_key_is_generated_once_mode_0600(tmp_path: Path) -> None:
    first = load_keys("", data_dir=tmp_path, dev=True)
    path = tmp_path / DEV_KEY_FILE
    assert path.stat().st_mode & 0o777 == 0o600
    second = load_keys("", data_dir=tmp_path, dev=True)
    assert second.decrypt(first.encrypt("secret")) == "secret"


def test_the_first_key_encrypts_and_every_key_decrypts(tmp_path: Path) -> None:
    old_only = load_keys(OLD, data_dir=tmp_path, dev=False)
    both = load_keys(f"{NEW}, {OLD}", data_dir=tmp_path, dev=False)
    new_only = load_keys(NEW, data_dir=tmp_path, dev=False)
    written_before = old_only.encrypt("shared-secret")
    written_now = both.encrypt("api-token")
    assert both.decrypt(written_before) == "shared-secret"
    assert new_only.decrypt(written_now) == "api-token"  # the first key wrote it
    with pytest.raises(InvalidToken):
        old_only.decrypt(written_now)
    assert both.count == 2


def test_rotated_rewrites_only_what_the_first_key_did_not_write(tmp_path: Path) -> None:
    old_only = load_keys(OLD, data_dir=tmp_path, dev=False)
    both = load_keys(f"{NEW},{OLD}", data_dir=tmp_path, dev=False)
    fresh = both.rotated(old_only.encrypt("x"))
    assert fresh is not None
    assert load_keys(NEW, data_dir=tmp_path, dev=False).decrypt(fresh) == "x"
    assert both.rotated(fresh) is None
    with pytest.raises(InvalidToken):
        load_keys(NEW, data_dir=tmp_path, dev=False).rotated(old_only.encrypt("y"))


def test_derived_keys_differ_per_label_and_follow_the_first_key(tmp_path: Path) -> None:
    keys = load_keys(f"{NEW},{OLD}", data_dir=tmp_path, dev=False)
    derived = {label: keys.derive(label) for label in (CSRF_LABEL, OAUTH_STATE_LABEL)}
    derived[DEV_TOKEN_LABEL] = keys.derive(DEV_TOKEN_LABEL)
    assert len(set(derived.values())) == 3
    assert all(len(key) == 32 for key in derived.values())
    assert keys.derive(CSRF_LABEL) == derived[CSRF_LABEL]  # stable: any worker checks tokens
    assert load_keys(NEW, data_dir=tmp_path, dev=False).derive(CSRF_LABEL) == derived[CSRF_LABEL]
    assert load_keys(OLD, data_dir=tmp_path, dev=False).derive(CSRF_LABEL) != derived[CSRF_LABEL]
    raw_key = base64.urlsafe_b64decode(NEW)
    assert raw_key not in derived.values()  # never the encryption key itself
