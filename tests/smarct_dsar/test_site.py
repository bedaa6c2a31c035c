"""Health check, the demo outbox, and settings that must fail loudly."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from cryptography.fernet import Fernet
from django.core import mail

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.django_db
def test_healthz_reports_database_and_broker(client: Any) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {
        "status": "ok",
        "database": "ok",
        "broker": "ok",
        "stalled_requests": [],
    }


@pytest.mark.django_db
def test_demo_outbox_lists_and_opens_messages(
    client: Any, settings: Any, tmp_path: Path, submit: Any
) -> None:
    settings.EMAIL_BACKEND = "smarct_dsar.mail.OutboxBackend"
    settings.DSAR_OUTBOX_DIR = tmp_path
    submit(name="Olga Outbox", email="olga@example.com")
    listing = client.get("/demo/outbox/").content.decode()
    assert "olga@example.com" in listing
    assert "Confirm your privacy request" in listing
    (eml,) = tmp_path.glob("*.eml")
    page = client.get(f"/demo/outbox/{eml.name}/").content.decode()
    assert '<a href="http://' in page
    assert "/verify/" in page
    html = client.get(f"/demo/outbox/{eml.name}/html/")
    assert "sandbox" in html["Content-Security-Policy"]
    assert client.get("/demo/outbox/../../etc/passwd/").status_code == 404
    assert mail.outbox == []


def _run(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    base = {
        k: v
        for k, v in os.environ.items()
        # the deployment check must see production's environment, not the test run's
        if k not in {"DATABASE_URL", "CELERY_BROKER_URL", "CACHE_URL", "DJANGO_ALLOW_ASYNC_UNSAFE"}
    }
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env={**base, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def _production(tmp_path: Path) -> dict[str, str]:
    return {
        "DEBUG": "false",
        "VAR_DIR": str(tmp_path),
        "SECRET_KEY": "k" * 10 + Fernet.generate_key().decode(),
        "DATABASE_URL": "postgres://dsar@db.internal:5432/dsar",
        "CELERY_BROKER_URL": "redis://redis:6379/0",
        "CACHE_URL": "redis://redis:6379/1",
        "ALLOWED_HOSTS": "dsar.smarct.example",
        "SITE_URL": "https://dsar.smarct.example",
        "DSAR_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
        "EMAIL_HOST": "smtp.smarct.example",
        "DSAR_DATA_MAP": str(ROOT / "demo" / "data-map.yaml"),
        "DSAR_SIGNING_KEY": _ed25519_pem(),
    }


def _ed25519_pem() -> str:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    return (
        Ed25519PrivateKey.generate()
        .private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        .decode()
    )


@pytest.mark.parametrize(
    ("missing", "fix"),
    [
        ("SECRET_KEY", "SECRET_KEY_FILE"),
        ("DATABASE_URL", "postgres://"),
        ("CELERY_BROKER_URL", "redis://"),
        ("SITE_URL", "https://"),
        ("DSAR_ENCRYPTION_KEYS", "Fernet"),
        ("EMAIL_HOST", "EMAIL_PORT"),
        ("ALLOWED_HOSTS", "host names"),
        ("DSAR_DATA_MAP", "docs/data-map.md"),
        ("DSAR_SIGNING_KEY", "openssl genpkey"),
    ],
)
def test_production_settings_fail_naming_the_variable_and_fix(
    tmp_path: Path, missing: str, fix: str
) -> None:
    env = _production(tmp_path)
    del env[missing]
    result = _run(env, "check")
    assert result.returncode != 0
    assert f"{missing}" in result.stderr
    assert fix in result.stderr
    assert "Traceback" not in result.stderr.splitlines()[-1]


@pytest.mark.parametrize(
    ("name", "value", "words"),
    [
        ("DEBUG", "maybe", "not a boolean"),
        ("DSAR_RATE_LIMIT_PER_IP", "lots", "not a whole number"),
        ("DATABASE_URL", "mysql+nonsense://", "DATABASE_URL"),
        ("CACHE_URL", "memcached://x", "CACHE_URL"),
        ("SECRET_KEY_FILE", "/nonexistent/secret", "SECRET_KEY_FILE"),
        ("DSAR_TRUSTED_PROXIES", "the-proxy", "not an address or network"),
        # a proxy count the app cannot hold the deployment to
        ("DSAR_TRUSTED_PROXY_COUNT", "1", "DSAR_TRUSTED_PROXIES is not"),
        # a webhook nobody could tell from a forged one, or not a web address at all
        ("DSAR_WEBHOOK_URL", "https://hooks.example.com/dsar", "DSAR_WEBHOOK_SECRET is missing"),
        ("DSAR_WEBHOOK_URL", "file:///etc/passwd", "not an http(s) URL"),
        ("DSAR_NOTIFY_UNASSIGNED", "everyone", "DSAR_NOTIFY_UNASSIGNED='everyone' is not known"),
    ],
)
def test_malformed_values_fail_with_the_variable(
    tmp_path: Path, name: str, value: str, words: str
) -> None:
    env = {**_production(tmp_path), name: value}
    result = _run(env, "check")
    assert result.returncode != 0
    assert words in result.stderr


def test_check_deploy_is_clean_with_production_settings(tmp_path: Path) -> None:
    result = _run(_production(tmp_path), "check", "--deploy", "--fail-level", "WARNING")
    assert result.returncode == 0, result.stderr + result.stdout
    assert "no issues" in result.stdout


def test_production_can_keep_files_in_s3_compatible_storage(tmp_path: Path) -> None:
    # Workers on several machines must see the same files: the storage API, never a local path.
    env = {
        **_production(tmp_path),
        "DSAR_STORAGE": "s3",
        "AWS_STORAGE_BUCKET_NAME": "dsar-files",
        "AWS_S3_ENDPOINT_URL": "https://objects.example",
    }
    result = _run(
        env,
        "shell",
        "-c",
        "from django.core.files.storage import storages; s = storages['default']; "
        "print(type(s).__name__, s.bucket_name, s.endpoint_url, s.default_acl, s.file_overwrite)",
    )
    assert result.stdout.split()[-5:] == [
        "S3Storage",
        "dsar-files",
        "https://objects.example",
        "None",
        "False",
    ], result.stdout + result.stderr
    assert _run(env, "check", "--deploy", "--fail-level", "WARNING").returncode == 0
    del env["AWS_STORAGE_BUCKET_NAME"]
    missing = _run(env, "check")
    assert missing.returncode != 0
    assert "AWS_STORAGE_BUCKET_NAME" in missing.stderr


def test_production_sends_hsts_secure_cookies_and_a_content_security_policy(
    tmp_path: Path,
) -> None:
    script = (
        "from django.conf import settings as s; from django.test import Client; "
        "r = Client().get('/healthz', secure=True, HTTP_HOST='dsar.smarct.example'); "
        "print(r.status_code, s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SECURE, s.SECURE_SSL_REDIRECT); "
        "print(r.headers['Strict-Transport-Security']); print(r.headers['Content-Security-Policy'])"
    )
    result = _run(_production(tmp_path), "shell", "-c", script)
    lines = result.stdout.strip().splitlines()[-3:]
    # /healthz answers 503 here (no database on this address); the headers are what we check
    assert lines[0] in {"200 True True True", "503 True True True"}, result.stdout + result.stderr
    assert lines[1].startswith("max-age=31536000; includeSubDomains")
    assert "default-src 'self'" in lines[2]
    assert "frame-ancestors 'none'" in lines[2]


FERNET = Fernet.generate_key().decode()


@pytest.mark.parametrize(
    ("name", "value", "shown", "expected"),
    [
        ("SECRET_KEY", "s" * 60, "settings.SECRET_KEY", "s" * 60),
        ("DSAR_ENCRYPTION_KEYS", FERNET, "settings.DSAR_ENCRYPTION_KEYS[0]", FERNET),
        ("DSAR_AUDIT_KEY", "a" * 60, "settings.DSAR_AUDIT_KEY", "a" * 60),
        ("DSAR_PSEUDONYM_KEY", "p" * 60, "settings.DSAR_PSEUDONYM_KEY", "p" * 60),
        ("DSAR_SIGNING_KEY", _ed25519_pem(), "settings.DSAR_SIGNING_KEY[:27]", "BEGIN PRIVATE KEY"),
        (
            "DATABASE_URL",
            "postgres://u:pw@db.secret:5432/x",
            "settings.DATABASES['default']['HOST']",
            "db.secret",
        ),
        (
            "CELERY_BROKER_URL",
            "redis://:pw@broker.secret:6379/0",
            "settings.CELERY_BROKER_URL",
            "broker.secret",
        ),
        (
            "CACHE_URL",
            "redis://:pw@cache.secret:6379/1",
            "settings.CACHES['default']['LOCATION']",
            "cache.secret",
        ),
        ("EMAIL_HOST_PASSWORD", "mail-secret", "settings.EMAIL_HOST_PASSWORD", "mail-secret"),
    ],
)
def test_every_secret_can_come_from_a_file(
    tmp_path: Path, name: str, value: str, shown: str, expected: str
) -> None:
    # DSAR_ENCRYPTION_KEYS_FILE was documented but ignored: each secret is read the same way
    secret = tmp_path / f"{name.lower()}.secret"
    secret.write_text(value + "\n")
    env = {**_production(tmp_path), f"{name}_FILE": str(secret)}
    env.pop(name, None)
    result = _run(env, "shell", "-c", f"from django.conf import settings; print({shown})")
    assert result.returncode == 0, result.stderr
    assert expected in result.stdout


@pytest.mark.parametrize(
    ("extra", "mounted"), [({}, "False"), ({"DSAR_ADMIN_ENABLED": "true"}, "True")]
)
def test_production_mounts_the_admin_only_when_asked(
    tmp_path: Path, extra: dict[str, str], mounted: str
) -> None:
    script = (
        "from django.conf import settings; from django.urls import resolve, Resolver404\n"
        "try:\n    resolve('/admin/'); found = True\nexcept Resolver404:\n    found = False\n"
        "print(settings.DSAR_ADMIN_ENABLED, found)"
    )
    result = _run({**_production(tmp_path), **extra}, "shell", "-c", script)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split()[-2:] == [mounted, mounted]
