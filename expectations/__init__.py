"""The quality gate: Great Expectations suites, one module per dataset of a submission."""

import os

# Great Expectations reads this when it is imported; p135 never sends analytics.
os.environ.setdefault("GX_ANALYTICS_ENABLED", "False")
