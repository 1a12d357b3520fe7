"""Process limits every bench process raises before it opens thousands of sockets."""

from __future__ import annotations

import resource


def raise_open_files_limit() -> int:
    """Lift the soft RLIMIT_NOFILE to the hard limit and return the new soft limit.

    A storm of 10,000 stations needs one descriptor per connection on each side.
    """
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY or soft < hard:
        target = hard if hard != resource.RLIM_INFINITY else max(soft, 1_048_576)
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
        except (ValueError, OSError):
            return soft
        return target
    return soft
