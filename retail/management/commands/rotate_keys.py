"""``manage.py rotate_keys``: a new tenant-identity HMAC key, without dropping requests."""

from __future__ import annotations

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from retail import signing_keys


class Command(BaseCommand):
    help = (
        "Rotate the HMAC key that signs tenant identities (zava_private.rls_signing_key). "
        "The new key signs every new request as soon as each process re-reads it "
        "(ZAVA_SIGNING_KEY_REFRESH_SECONDS); the old key stays valid for an overlap "
        "(--overlap, default ZAVA_SIGNING_KEY_OVERLAP_SECONDS) and proves nothing after "
        "it. Expired keys are deleted by the next rotation, or at once with --finish. "
        "Bearer tokens and Django's SECRET_KEY are not affected."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--overlap",
            type=float,
            default=settings.ZAVA_SIGNING_KEY_OVERLAP_SECONDS,
            help="Seconds the old key stays valid (default: %(default)s). Must be longer "
            "than ZAVA_SIGNING_KEY_REFRESH_SECONDS.",
        )
        parser.add_argument(
            "--finish",
            action="store_true",
            help="Do not rotate: end the overlap now and delete the retired keys. Refused "
            "until every process has had time to read the current key.",
        )
        parser.add_argument(
            "--list", dest="list_keys", action="store_true", help="Only list the keys (no secret)."
        )

    def handle(self, *args, overlap: float, finish: bool, list_keys: bool, **options) -> None:
        refresh = settings.ZAVA_SIGNING_KEY_REFRESH_SECONDS
        if list_keys:
            self._list()
        elif finish:
            age = signing_keys.seconds_since_last_rotation()
            if age < refresh:
                raise CommandError(
                    f"The current key is {age:.0f} s old; processes re-read it every "
                    f"{refresh:g} s. Wait {refresh - age:.0f} s so that none still signs "
                    "with a retired key."
                )
            removed = signing_keys.remove_retired()
            self.stdout.write(f"Removed {removed} retired key(s); only the current key is valid.")
        else:
            if overlap <= refresh:
                raise CommandError(
                    f"--overlap ({overlap:g} s) must be longer than "
                    f"ZAVA_SIGNING_KEY_REFRESH_SECONDS ({refresh:g} s), or requests signed "
                    "with the old key by a process that has not re-read it would see nothing."
                )
            rotation = signing_keys.rotate(overlap)
            for key in rotation.retired:
                assert key.expires_at is not None  # a retired key always has its expiry
                self.stdout.write(
                    f"Key {key.id} retired: valid for transactions begun before "
                    f"{key.expires_at.isoformat()}."
                )
            if rotation.removed:
                self.stdout.write(f"Removed {rotation.removed} expired key(s).")
            self.stdout.write(
                self.style.SUCCESS(f"Key {rotation.new_key.id} is the current signing key.")
            )

    def _list(self) -> None:
        for key in signing_keys.list_keys():
            state = (
                f"retired, expires {key.expires_at.isoformat()}" if key.expires_at else "current"
            )
            self.stdout.write(f"{key.id}\tcreated {key.created_at.isoformat()}\t{state}")
