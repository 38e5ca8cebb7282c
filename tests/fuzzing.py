"""
Hypothesis settings for the property tests: reproducible by default, and
wider and random with EMAIL_HOSTS_FUZZ_EXAMPLES set (for a long run).
"""

import os

from hypothesis import settings


def fuzz(examples=300, **options):
    """Return the settings of a property test that tries ``examples`` inputs."""
    return settings(
        max_examples=int(os.environ.get("EMAIL_HOSTS_FUZZ_EXAMPLES", examples)),
        deadline=None,
        database=None,
        derandomize="EMAIL_HOSTS_FUZZ_EXAMPLES" not in os.environ,
        **options,
    )
