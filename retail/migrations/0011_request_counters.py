"""The rate limits' counters: one row per bucket and one-minute window (retail.rate_limits)."""

from django.db import migrations

CREATE = """
CREATE UNLOGGED TABLE zava_request_counters (
    bucket text NOT NULL,
    window_start bigint NOT NULL,
    hits integer NOT NULL,
    PRIMARY KEY (bucket, window_start)
);
-- Who called how often is the owner's business only.
REVOKE ALL ON zava_request_counters FROM PUBLIC;
"""


class Migration(migrations.Migration):
    dependencies = [("retail", "0010_partition_audit_by_month")]

    operations = [
        migrations.RunSQL(CREATE, reverse_sql="DROP TABLE zava_request_counters"),
    ]
