"""local_admin: how `make run` tells a new user to log in to the admin."""

from __future__ import annotations

from collections.abc import Iterator
from io import StringIO

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command
from django.test import override_settings


def run(**options) -> str:
    out = StringIO()
    call_command("local_admin", url="http://127.0.0.1:8000/admin/", stdout=out, **options)
    return out.getvalue()


@pytest.fixture
def var_dir(database, tmp_path) -> Iterator:
    assert not User.objects.filter(is_superuser=True).exists(), "a test left a superuser behind"
    with override_settings(VAR_DIR=tmp_path):
        yield tmp_path
    User.objects.filter(username="admin").delete()


def test_a_first_local_run_creates_an_admin_with_a_random_password_kept_in_var(var_dir):
    output = run()
    password = (var_dir / "local_admin_password").read_text().strip()
    assert len(password) >= 20
    assert f"user 'admin', password {password}" in output
    assert "http://127.0.0.1:8000/admin/" in output
    admin = User.objects.get(username="admin")
    assert admin.is_superuser and admin.is_staff and admin.check_password(password)
    assert (var_dir / "local_admin_password").stat().st_mode & 0o077 == 0


def test_two_first_runs_never_share_a_password(var_dir):
    run()
    first = (var_dir / "local_admin_password").read_text()
    User.objects.filter(username="admin").delete()
    run()
    assert (var_dir / "local_admin_password").read_text() != first


def test_later_runs_print_no_password_and_create_nothing(var_dir):
    run()
    password = (var_dir / "local_admin_password").read_text().strip()
    output = run()
    assert password not in output
    assert "log in with your superuser account" in output
    assert str(var_dir / "local_admin_password") in output
    assert User.objects.filter(is_superuser=True).count() == 1


def test_an_external_database_gets_the_createsuperuser_instruction(var_dir):
    with override_settings(ZAVA_EMBEDDED_DB=False):
        output = run()
    assert "manage.py createsuperuser" in output
    assert not User.objects.filter(username="admin").exists()
    assert not (var_dir / "local_admin_password").exists()


def test_no_create_only_prints_the_instruction(var_dir):
    assert "createsuperuser" in run(no_create=True)
    assert not User.objects.filter(username="admin").exists()
