"""Settings of the replica tests' server: the project's, plus the test-only probe tool."""

from zava.settings import *  # noqa: F403
from zava.settings import INSTALLED_APPS

INSTALLED_APPS = [*INSTALLED_APPS, "tests.retail.replica_probe"]
